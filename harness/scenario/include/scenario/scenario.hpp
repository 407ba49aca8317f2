#pragma once
// The scenario model: what a scenario file says, validated and typed. Built by
// parseScenario() (parse.hpp); everything downstream (plan, checks, reports)
// reads this, never the JSON. Sizes are bytes, times are seconds.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/releases.hpp"
#include "oom/units.hpp"
#include "systemd/directives.hpp"
#include "scenario/unit_sources.hpp"

namespace oom {

// guest.swap_kind: a swap disk backed by a host file, or zram in the guest's memory.
inline constexpr const char* kSwapDisk = "disk";
inline constexpr const char* kSwapZram = "zram";

struct GuestSpec {
  std::string release = kDefaultRelease;
  std::uint64_t memory_bytes = 1024ull * 1024 * 1024;
  unsigned cpus = 2;
  std::uint64_t swap_bytes = 0;
  std::string swap_kind = kSwapDisk;  // kSwapDisk or kSwapZram
  std::optional<int> swappiness;  // vm.swappiness, 0-200; unset: the guest kernel's (60)
};

// One sudden allocation on top of the baseline: "200M@30s" (oom/units.hpp).
using Spike = SizeAt;

// The memory one service's stressor produces.
struct Load {
  std::uint64_t baseline_bytes = 0;   // held by the whole unit once ready (all processes)
  unsigned processes = 1;
  std::uint64_t rate_bytes_per_sec = 0;  // ramp rate to the baseline; 0: as fast as it can
  std::uint64_t leak_bytes_per_sec = 0;  // growth after the baseline; 0: none
  std::optional<Spike> spike;
  std::optional<double> hold_sec;     // release after holding this long; unset: hold forever
  double start_after_sec = 0;
  bool sawtooth = false;
  bool checkpoint = false;
  unsigned compress_ratio = 1;        // how much zram/zswap can shrink its pages (1: not at all)
};

struct ServiceSpec {
  std::string name;                     // unit name stem: "report-worker"
  std::string why;
  // systemd directives of the directive table as they take effect, values as strings:
  // the unit files' merged settings (if any), then the scenario's inline `unit`.
  std::vector<UnitProperty> unit;
  std::vector<UnitProperty> inline_unit;  // the scenario's own `unit`, in file order
  std::optional<ServiceFiles> files;      // set when the unit comes from real unit files
  Load load;

  // The directive's value as written, if set.
  std::optional<std::string> directive(const std::string& name) const;
  int oomScoreAdjust() const;           // 0 when unset, as systemd
  double restartSec() const;            // RestartSec= in seconds; kDefaultRestartSec when unset
};

// An exact count (min == max) or a range; either bound may be open.
struct CountRange {
  std::optional<std::uint64_t> min, max;
  bool contains(std::uint64_t n) const { return (!min || n >= *min) && (!max || n <= *max); }
  std::string str() const;              // "0", "at least 1", "1 to 5"
};

struct UnitExpectation {
  std::optional<CountRange> oom_kills;
  std::optional<std::string> Result;    // systemd's Result of each OOM-killed invocation
  std::optional<CountRange> restarts;   // NRestarts at the end
  std::optional<bool> clean_restart;
  std::optional<bool> active_at_end;
  std::optional<bool> half_alive;
  std::optional<std::string> constraint; // every kill's constraint: CONSTRAINT_NONE or CONSTRAINT_MEMCG
  // After each kill, the next invocation resumes from its checkpoint (oomstress
  // reports resumed_from > 0) instead of starting over.
  std::optional<bool> resumes_from_checkpoint;
  // Who killed the unit: "kernel" (every kill is the kernel's), "systemd-oomd" (every
  // kill is oomd's), "any"; at least one kill either way.
  std::optional<std::string> killed_by;
  // The longest the unit may be held at its MemoryHigh= (memory.events high rising,
  // its memory not growing) without being killed: the MemoryHigh-without-swap livelock.
  std::optional<double> throttled_not_killed_sec;

  bool namesAnExpectation() const {
    return oom_kills || Result || restarts || clean_restart || active_at_end || half_alive || constraint ||
           resumes_from_checkpoint || killed_by || throttled_not_killed_sec;
  }
};

struct Expectations {
  std::optional<std::string> first_killed;
  std::vector<std::string> kill_order;
  std::vector<std::string> never_killed;
  std::vector<std::pair<std::string, UnitExpectation>> units;  // in file order
  double restart_grace_sec = 10;        // clean_restart: active again within RestartSec + this
  double half_alive_grace_sec = 3;      // half_alive: how long a unit may run short of processes
  // A kernel OOM kill outside the scenario's units (journald, sshd, ...) fails the
  // `collateral` check unless the scenario allows it.
  bool allow_collateral = false;
  // The longest stretch the guest may be unusable (MemAvailable near zero, memory PSI
  // full at or above 10%, or the observer unable to sample), and the longest from the
  // start of that stretch to the first kill (the kernel's or systemd-oomd's).
  std::optional<double> max_stall_sec;
  std::optional<double> time_to_kill_sec;

  // True when the file names at least one expectation (a check that can fail);
  // the grace periods and allow_collateral only qualify expectations.
  bool namesAnExpectation() const {
    if (first_killed || !kill_order.empty() || !never_killed.empty() || max_stall_sec || time_to_kill_sec) return true;
    for (const auto& [name, u] : units)
      if (u.namesAnExpectation()) return true;
    return false;
  }

  const UnitExpectation* unit(const std::string& service) const;
};

// systemd-oomd in the guest: the scenario's "systemd_oomd" object, whose presence
// enables it. Unset values keep oomd's defaults (docs/kernel-and-systemd.md#systemd-oomd).
struct OomdSpec {
  std::optional<std::string> SwapUsedLimit;                     // "90%"
  std::optional<std::string> DefaultMemoryPressureLimit;        // "60%"
  std::optional<std::string> DefaultMemoryPressureDurationSec;  // "30s"
  // The oomd.conf drop-in the guest writes: "[OOM]\nSwapUsedLimit=...\n".
  std::string confText() const;
};

struct Scenario {
  std::string source;                   // file name as given, for messages
  std::string name;
  std::string description;
  GuestSpec guest;
  double time_limit_sec = 120;
  double settle_sec = 10;
  std::vector<ServiceSpec> services;
  std::optional<OomdSpec> oomd;         // systemd-oomd enabled in the guest when set
  Expectations expect;
  nlohmann::ordered_json document;      // the file as parsed (for result.json)

  const ServiceSpec* service(const std::string& name) const;
  // "report-worker.service" -> the service named "report-worker", or nullptr.
  const ServiceSpec* serviceForUnit(const std::string& unit) const;
};

constexpr const char* kUnitSuffix = ".service";
inline std::string unitName(const std::string& service) { return service + kUnitSuffix; }

}  // namespace oom
