#pragma once
// Protecting the host: a guest is only started when its memory, qemu's own and
// the harness's, plus a margin, fit in the host's MemAvailable, and when its swap
// file fits on the disk that holds it. Pure functions of their inputs (the text
// of /proc/meminfo, statvfs figures), so they are unit-tested; bootGuest() calls
// them with the live values before it builds or boots anything.
// Figures behind the constants: docs/guest-vm.md#host-memory-and-disk.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "oom/expected.hpp"
#include "oom/units.hpp"

namespace oom {

// qemu's own memory beyond the guest's RAM, measured as qemu RSS minus the
// guest-RAM mapping's RSS for a 1 GiB, 2-vCPU TCG guest: 325 MiB after a short
// `vm run`, 360 MiB at the end of three-services (TCG translation cache 259 MiB,
// the rest 101 MiB). The translation cache is capped at kTcgTranslationCacheMiB
// (qemu's default is up to 1 GiB), which bounds this figure.
inline constexpr unsigned kTcgTranslationCacheMiB = 384;
inline constexpr std::uint64_t kQemuOverheadBytes = 512 * MiB;
// The harness itself: about 20 MiB, plus up to 12 times the records it holds
// when it writes result.json (measured: 64 MiB of records peaked at 780 MiB), so
// with the results channel capped at 16 MiB (channel.hpp) about 200 MiB.
inline constexpr std::uint64_t kHarnessOwnBytes = 256 * MiB;
// What is left to the rest of the host, on top of everything above.
inline constexpr std::uint64_t kHostMemoryMarginBytes = 256 * MiB;
// Free disk left beside a guest's swap file and payload disk.
inline constexpr std::uint64_t kSwapDiskMarginBytes = 256 * MiB;

struct HostNeeds {
  std::uint64_t guest_memory_bytes = 0;
  std::uint64_t swap_bytes = 0;
  bool swap_in_memory = false;  // the swap file's folder is a tmpfs: it costs RAM, not disk
};

// Another run's reservation on this host (vm/reservations.hpp). Its guest is
// faulted in lazily, so MemAvailable does not yet show what it will take: what
// it reserved but does not hold yet is still to come.
struct OtherReservation {
  std::string run;                   // its run folder, to name it
  int pid = 0;                       // its oomharness
  std::uint64_t reserved_bytes = 0;  // guest + qemu + harness + margin (+ swap on tmpfs)
  std::uint64_t held_bytes = 0;      // anonymous memory its oomharness and qemu hold now (RssAnon)
  std::uint64_t toCome() const { return reserved_bytes > held_bytes ? reserved_bytes - held_bytes : 0; }
};

struct HostFit {
  bool fits = false;
  std::uint64_t needed_bytes = 0;
  std::uint64_t available_bytes = 0;        // MemAvailable as read
  std::uint64_t reserved_by_others_bytes = 0;  // other runs' reservations not yet held, taken off it
  std::string explanation;  // "guest 1 GiB + qemu 512 MiB + ... = 2 GiB; MemAvailable 22 GiB"
};

// MemAvailable from the text of /proc/meminfo; a setup error when absent (kernels before 3.14).
Expected<std::uint64_t> memAvailableBytes(std::string_view meminfo);

// Guest memory + qemu overhead + the harness's own + margin (+ swap when it lives
// in memory) against MemAvailable less what other live runs reserved and do not
// hold yet (their toCome(), summed without wrapping). The explanation names each
// of those runs.
HostFit hostMemoryFits(std::string_view meminfo, const HostNeeds& needs,
                       const std::vector<OtherReservation>& others = {});

// The swap file (sparse, but the guest may fill it) + margin against the free
// space (statvfs f_bavail * f_frsize) where it is created. A swap of 0 always fits.
HostFit swapDiskFits(std::uint64_t free_disk_bytes, std::uint64_t swap_bytes);

}  // namespace oom
