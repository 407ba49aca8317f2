#pragma once
// Every file the guest reads under /proc, /sys/fs/cgroup and /etc goes through
// SysFs, rooted at a configurable directory (as oomd's fs layer does), so the
// readers are tested against fixture trees that look like the real ones.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "timeline/timeline.hpp"

namespace oom {

// Nothing here throws or logs: a file that cannot be read (a process or cgroup
// that just vanished) reads as empty / nullopt / zero.
class SysFs {
 public:
  explicit SysFs(std::string root = "/");  // "/" in the guest, a fixture folder in tests

  // Whole small file, "" when it cannot be read (a process that just exited).
  std::string readFile(std::string_view relative) const;

  std::string osReleasePrettyName() const;                 // etc/os-release PRETTY_NAME
  std::map<std::string, std::uint64_t> meminfo() const;    // proc/meminfo, in bytes
  // "/system.slice/x.service": its cgroup.procs, then its child cgroups' (depth
  // first, children by name): a delegated unit keeps its processes in children.
  std::vector<int> cgroupProcs(std::string_view control_group) const;
  // A single-number cgroup file (memory.current, memory.peak); nullopt when absent.
  std::optional<std::uint64_t> cgroupUint(std::string_view control_group, std::string_view file) const;
  std::map<std::string, std::uint64_t> memoryEvents(std::string_view control_group) const;  // memory.events
  // memory.pressure avg10 of "some" and "full"; 0 where missing.
  std::pair<double, double> pressureAvg10(std::string_view control_group) const;
  std::optional<ProcessSample> process(int pid) const;
  std::optional<int> oomScoreAdj(int pid) const;
  // nullopt when the cgroup is gone (a stopped transient unit is removed).
  std::optional<MemorySample> sample(const std::string& unit, std::string_view control_group, double t) const;
  // Small writes (/proc/self/oom_score_adj); false when the file cannot be written.
  bool writeFile(std::string_view relative, std::string_view content) const;

 private:
  std::string path(std::string_view relative) const;
  std::string cgroupFile(std::string_view control_group, std::string_view file) const;
  void appendProcs(const std::string& relative_dir, std::vector<int>& out, int depth) const;
  std::string root_;
};

// Pure parsers, exposed for tests.
std::map<std::string, std::uint64_t> parseFlatKeyed(std::string_view text);    // memory.events
std::optional<double> parsePressureAvg10(std::string_view text, std::string_view kind);  // some|full
std::map<std::string, std::uint64_t> parseMeminfo(std::string_view text);      // kB -> bytes
std::string parseOsReleaseValue(std::string_view text, std::string_view key);  // unquoted
std::vector<int> parsePidList(std::string_view text);

}  // namespace oom
