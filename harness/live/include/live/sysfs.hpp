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

#include "oom/expected.hpp"
#include "oom/text.hpp"  // parseMeminfo (proc/meminfo, proc/PID/status)
#include "timeline/timeline.hpp"

namespace oom {

// Why a file gave no value. errnum is open(2)'s or read(2)'s errno, kept as the
// kernel said it; a file that was read but does not hold what it should (no
// number, no "full" line) is EINVAL.
struct SysError {
  std::string file;  // relative to the SysFs root, as asked
  int errnum = 0;
  // ENOENT (or ENOTDIR, ESRCH): the file is not there: the kernel lacks it
  // (memory.peak on older kernels), or its process exited or its cgroup was
  // removed. Anything else (EACCES, EIO, EISDIR...) is a read that failed.
  bool absent() const;
  std::string reason() const;  // "absent", or strerror(errnum)
  std::string str() const;     // "sys/fs/cgroup/x/memory.peak: absent"
};
template <typename T>
using SysResult = tl::expected<T, SysError>;

// Nothing here throws or logs, and no reader turns a file it could not read into
// an empty text or a zero: each returns the value or the SysError, and the caller
// decides (a vanished process is skipped; a missing cgroup file is marked in the
// sample, see sample()).
// proc/PID/cmdline's bytes as one line: NULs between arguments become spaces,
// trailing NULs and spaces go, control bytes are escaped (printable), and it is
// cut at kProcessTitleMax bytes. A program that rewrites its argv ("nginx: worker
// process") has its own title here, unlike comm.
std::string processTitleFrom(std::string_view cmdline_bytes);

class SysFs {
 public:
  explicit SysFs(std::string root = "/");  // "/" in the guest, a fixture folder in tests

  // Whole small file.
  SysResult<std::string> readFile(std::string_view relative) const;

  std::string osReleasePrettyName() const;                 // etc/os-release PRETTY_NAME; "" if none
  SysResult<std::map<std::string, std::uint64_t>> meminfo() const;  // proc/meminfo, in bytes
  // "/system.slice/x.service": its cgroup.procs, then its child cgroups' (depth
  // first, children by name): a delegated unit keeps its processes in children.
  // The error is the unit's own cgroup.procs'; a child cgroup removed during the
  // walk is skipped. "" (no cgroup) has no processes.
  SysResult<std::vector<int>> cgroupProcs(std::string_view control_group) const;
  // A cgroup file's text, trimmed (memory.high: "3145728" or "max").
  SysResult<std::string> cgroupText(std::string_view control_group, std::string_view file) const;
  // A single-number cgroup file (memory.current, memory.peak).
  SysResult<std::uint64_t> cgroupUint(std::string_view control_group, std::string_view file) const;
  SysResult<std::map<std::string, std::uint64_t>> memoryEvents(std::string_view control_group) const;
  // memory.pressure avg10 of "some" and "full" (EINVAL when a line is missing).
  SysResult<std::pair<double, double>> pressureAvg10(std::string_view control_group) const;
  // From proc/PID: status (VmRSS), comm, oom_score, oom_score_adj; the first
  // file that fails decides the error (absent: the process exited).
  SysResult<ProcessSample> process(int pid) const;
  SysResult<int> oomScoreAdj(int pid) const;
  // The title a process gives itself (proc/PID/cmdline through processTitle()),
  // from one read of at most kProcessTitleMax bytes: the kernel copies it out of
  // the process's memory, so it is read once per pid and refreshed seldom
  // (Sampler), never for every sample.
  SysResult<std::string> processTitle(int pid) const;
  // One unit's cgroup files and processes. nullopt when the cgroup is gone (its
  // memory.current is absent: a stopped transient unit is removed). Any other
  // file that gives no value is not written as 0: it is named in the sample's
  // `unavailable` (file -> reason) and its fields are left out of the record
  // (timeline.hpp). Processes that exited while being read are skipped; one
  // whose files fail otherwise is skipped and named ("proc/PID/oom_score").
  std::optional<MemorySample> sample(const std::string& unit, std::string_view control_group, double t) const;
  // Small writes (/proc/self/oom_score_adj); false when the file cannot be written.
  bool writeFile(std::string_view relative, std::string_view content) const;
  // The real path of a file named relative to the root ("proc/meminfo").
  std::string path(std::string_view relative) const;

 private:
  std::string cgroupFile(std::string_view control_group, std::string_view file) const;
  void appendChildProcs(const std::string& relative_dir, std::vector<int>& out, int depth) const;
  std::string root_;
};

// Pure parsers, exposed for tests.
std::map<std::string, std::uint64_t> parseFlatKeyed(std::string_view text);    // memory.events
std::optional<double> parsePressureAvg10(std::string_view text, std::string_view kind);  // some|full
std::string parseOsReleaseValue(std::string_view text, std::string_view key);  // unquoted
std::vector<int> parsePidList(std::string_view text);

}  // namespace oom
