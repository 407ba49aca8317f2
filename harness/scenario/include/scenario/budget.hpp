#pragma once
// The memory budget: the baselines must fit the guest before any pressure, or
// the OOM killer fires during setup and the run tests nothing (docs/guest-vm.md#guest-memory-overhead).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "oom/units.hpp"
#include "scenario/scenario.hpp"

namespace oom {

// Memory the guest uses with no scenario unit running: kernel, systemd, journald,
// dbus and the oomharness observer, counted against guest.memory (so it includes
// what the kernel reserves for itself). Measured: a 1 GiB bookworm guest reports
// MemAvailable 817 MiB in the "guest" record before any unit starts, i.e. 207 MiB
// gone (2026-11-29, three-services run); trixie (6.12, systemd 257): 213 MiB.
constexpr std::uint64_t kGuestOverheadBytes = 208 * MiB;
constexpr std::uint64_t kTrixieGuestOverheadBytes = 214 * MiB;
// Each supported release's measured overhead (oom/releases.hpp lists the releases;
// a test checks that every one is here).
struct ReleaseOverhead {
  std::string_view release;
  std::uint64_t bytes;
};
inline constexpr ReleaseOverhead kGuestOverheads[] = {{"bookworm", kGuestOverheadBytes},
                                                      {"trixie", kTrixieGuestOverheadBytes}};
// What a service in a container adds in its unit: `podman run` stays in the foreground
// and conmon beside it. Measured as the unit's memory.peak in
// recorded-container-limit-decides-*: at most 24.4 MiB on bookworm, 18.4 MiB on trixie.
constexpr std::uint64_t kContainerRuntimeBytes = 25 * MiB;
// Headroom kept free on top, so page cache for the binaries survives the baseline.
constexpr std::uint64_t kBudgetSafetyMarginBytes = 64 * MiB;

// The release's measured overhead; bookworm's (the default) for one not measured.
std::uint64_t guestOverheadBytes(const std::string& release);

// a + b, or UINT64_MAX when the sum does not fit in 64 bits: a sum that would
// wrap around must never look small enough to fit.
constexpr std::uint64_t saturatingAdd(std::uint64_t a, std::uint64_t b) {
  std::uint64_t sum = 0;
  return __builtin_add_overflow(a, b, &sum) ? UINT64_MAX : sum;
}

struct BudgetRow {
  std::string service;
  std::uint64_t baseline_bytes = 0;
  unsigned processes = 1;
  std::uint64_t leak_bytes_per_sec = 0;
  std::uint64_t spike_bytes = 0;
};

struct Budget {
  std::vector<BudgetRow> rows;
  std::uint64_t baselines_bytes = 0;
  std::uint64_t overhead_bytes = 0;
  std::uint64_t runtime_bytes = 0;  // kContainerRuntimeBytes for each service in a container
  std::uint64_t margin_bytes = 0;
  std::uint64_t guest_memory_bytes = 0;
  std::uint64_t swap_bytes = 0;
  bool zram = false;  // the swap is zram: what it stores stays in guest memory, compressed

  std::uint64_t neededBytes() const {
    return saturatingAdd(saturatingAdd(saturatingAdd(baselines_bytes, overhead_bytes), runtime_bytes), margin_bytes);
  }
  bool fits() const { return neededBytes() <= guest_memory_bytes; }
  // Memory left for pressure to consume once every baseline is held (0 if it does not fit).
  std::uint64_t headroomBytes() const {
    return fits() ? guest_memory_bytes - baselines_bytes - overhead_bytes - runtime_bytes : 0;
  }
  std::string explain() const;   // the arithmetic, one sentence
  std::string table() const;     // the per-service table for `oomharness plan`
};

Budget computeBudget(const Scenario& scenario);

}  // namespace oom
