#include "live/sysfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "oom/text.hpp"

namespace oom {

std::map<std::string, std::uint64_t> parseFlatKeyed(std::string_view text) {
  std::map<std::string, std::uint64_t> out;
  for (auto line : splitLines(text)) {
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    if (auto v = leadingNumber<std::uint64_t>(line.substr(sp + 1))) out[std::string(line.substr(0, sp))] = *v;
  }
  return out;
}

std::optional<double> parsePressureAvg10(std::string_view text, std::string_view kind) {
  // "some avg10=0.00 avg60=0.00 avg300=0.00 total=0"
  for (auto line : splitLines(text)) {
    if (line.substr(0, kind.size()) != kind) continue;
    const auto at = line.find("avg10=");
    if (at == std::string_view::npos) return std::nullopt;
    auto rest = line.substr(at + 6);
    rest = rest.substr(0, rest.find(' '));
    return leadingNumber<double>(rest);
  }
  return std::nullopt;
}

std::string parseOsReleaseValue(std::string_view text, std::string_view key) {
  for (auto line : splitLines(text)) {
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != '=')
      continue;
    auto value = trim(line.substr(key.size() + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return "";
}

std::vector<int> parsePidList(std::string_view text) {
  std::vector<int> out;
  for (auto line : splitLines(text))
    if (auto pid = leadingNumber<int>(line)) out.push_back(*pid);
  return out;
}

SysFs::SysFs(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string SysFs::path(std::string_view relative) const {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  std::string p = root_;
  if (p.empty() || p.back() != '/') p += '/';
  p += relative;
  return p;
}

std::string SysFs::cgroupFile(std::string_view control_group, std::string_view file) const {
  std::string rel = "sys/fs/cgroup";
  if (control_group.empty() || control_group.front() != '/') rel += '/';
  rel += control_group;
  if (rel.back() != '/') rel += '/';
  rel += file;
  return rel;
}

SysResult<std::string> SysFs::cgroupText(std::string_view control_group, std::string_view file) const {
  return readFile(cgroupFile(control_group, file)).map([](const std::string& text) { return std::string(trim(text)); });
}

SysResult<std::string> SysFs::readFile(std::string_view relative) const {
  // open/read rather than iostreams: no locale machinery, one small buffer, and the errno.
  const auto failed = [&](int errnum) { return tl::unexpected(SysError{std::string(relative), errnum}); };
  const int fd = ::open(path(relative).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failed(errno);
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int errnum = errno;  // ESRCH: the process exited between open and read
      ::close(fd);
      return failed(errnum);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

bool SysFs::writeFile(std::string_view relative, std::string_view content) const {
  const int fd = ::open(path(relative).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  return ::close(fd) == 0 && ok;
}

std::string SysFs::osReleasePrettyName() const {
  auto text = readFile("etc/os-release");
  if (!text) text = readFile("usr/lib/os-release");  // os-release(5): the fallback location
  return text ? parseOsReleaseValue(*text, "PRETTY_NAME") : "";
}

SysResult<std::map<std::string, std::uint64_t>> SysFs::meminfo() const {
  return readFile("proc/meminfo").map([](const std::string& text) { return parseMeminfo(text); });
}

void SysFs::appendChildProcs(const std::string& relative_dir, std::vector<int>& out, int depth) const {
  if (depth >= 16) return;  // cgroup trees under a unit are shallow; bound the walk anyway
  DIR* dir = ::opendir(path(relative_dir).c_str());
  if (!dir) return;  // removed since its parent was read
  std::vector<std::string> children;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type == DT_DIR) {
      children.emplace_back(e->d_name);
    } else if (e->d_type == DT_UNKNOWN) {  // some filesystems do not fill d_type
      struct stat st {};
      if (::stat(path(relative_dir + "/" + e->d_name).c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        children.emplace_back(e->d_name);
    }
  }
  ::closedir(dir);
  std::sort(children.begin(), children.end());
  for (const auto& child : children) {
    const std::string child_dir = relative_dir + "/" + child;
    // A child cgroup removed during the walk has no processes left to list.
    if (auto procs = readFile(child_dir + "/cgroup.procs"))
      for (int pid : parsePidList(*procs)) out.push_back(pid);
    appendChildProcs(child_dir, out, depth + 1);
  }
}

SysResult<std::vector<int>> SysFs::cgroupProcs(std::string_view control_group) const {
  if (control_group.empty()) return std::vector<int>{};
  std::string dir = cgroupFile(control_group, "");
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  auto procs = readFile(dir + "/cgroup.procs");
  if (!procs) return tl::unexpected(procs.error());
  std::vector<int> out = parsePidList(*procs);
  appendChildProcs(dir, out, 0);
  return out;
}

namespace {

// The text's value, or EINVAL for a file read but not in the expected form.
template <typename T>
SysResult<T> parsed(const SysResult<std::string>& text, std::string_view file, std::optional<T> value) {
  if (!text) return tl::unexpected(text.error());
  if (!value) return tl::unexpected(SysError{std::string(file), EINVAL});
  return *value;
}

}  // namespace

SysResult<std::uint64_t> SysFs::cgroupUint(std::string_view control_group, std::string_view file) const {
  const std::string rel = cgroupFile(control_group, file);
  const auto text = readFile(rel);
  return parsed(text, rel, text ? leadingNumber<std::uint64_t>(*text) : std::nullopt);
}

SysResult<std::map<std::string, std::uint64_t>> SysFs::memoryEvents(std::string_view control_group) const {
  return readFile(cgroupFile(control_group, kCgroupMemoryEvents)).map([](const std::string& text) {
    return parseFlatKeyed(text);
  });
}

SysResult<std::pair<double, double>> SysFs::pressureAvg10(std::string_view control_group) const {
  const std::string rel = cgroupFile(control_group, kCgroupMemoryPressure);
  const auto text = readFile(rel);
  std::optional<std::pair<double, double>> both;
  if (text)
    if (auto some = parsePressureAvg10(*text, "some"))
      if (auto full = parsePressureAvg10(*text, "full")) both = std::pair{*some, *full};
  return parsed(text, rel, both);
}

SysResult<int> SysFs::oomScoreAdj(int pid) const {
  const std::string rel = "proc/" + std::to_string(pid) + "/oom_score_adj";
  const auto text = readFile(rel);
  return parsed(text, rel, text ? leadingNumber<int>(*text) : std::nullopt);
}

std::string processTitleFrom(std::string_view bytes) {
  std::string title(bytes.substr(0, kProcessTitleMax));
  for (char& c : title)
    if (c == '\0') c = ' ';
  title.erase(title.find_last_not_of(' ') + 1);
  return printable(title);
}

SysResult<std::string> SysFs::processTitle(int pid) const {
  const std::string rel = "proc/" + std::to_string(pid) + "/cmdline";
  const int fd = ::open(path(rel).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(SysError{rel, errno});
  char buf[kProcessTitleMax];
  ssize_t n;
  do n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  const int errnum = errno;
  ::close(fd);
  if (n < 0) return tl::unexpected(SysError{rel, errnum});
  return processTitleFrom(std::string_view(buf, static_cast<std::size_t>(n)));
}

SysResult<ProcessSample> SysFs::process(int pid) const {
  const std::string dir = "proc/" + std::to_string(pid) + "/";
  const auto status = readFile(dir + "status");
  if (!status) return tl::unexpected(status.error());
  const auto comm = readFile(dir + "comm");
  if (!comm) return tl::unexpected(comm.error());
  const auto score_text = readFile(dir + "oom_score");
  const auto score = parsed(score_text, dir + "oom_score",
                            score_text ? leadingNumber<int>(*score_text) : std::nullopt);
  if (!score) return tl::unexpected(score.error());
  const auto adj = oomScoreAdj(pid);
  if (!adj) return tl::unexpected(adj.error());
  ProcessSample p;
  p.pid = pid;
  p.comm = std::string(trim(*comm));
  p.oom_score = *score;
  p.oom_score_adj = *adj;
  const auto fields = parseMeminfo(*status);
  if (auto it = fields.find("VmRSS"); it != fields.end()) p.rss_bytes = it->second;  // none: a kernel thread
  return p;
}

std::optional<MemorySample> SysFs::sample(const std::string& unit, std::string_view control_group, double t) const {
  const auto current = cgroupUint(control_group, kCgroupMemoryCurrent);
  if (!current && current.error().absent()) return std::nullopt;  // the cgroup is gone
  MemorySample s;
  s.t = t;
  s.unit = unit;
  // Each cgroup file's value, or its name and why in `unavailable` (never a 0).
  const auto note = [&s](const char* file, const SysError& e) { s.unavailable[file] = e.reason(); };
  if (current) s.memory_current = *current;
  else note(kCgroupMemoryCurrent, current.error());
  if (auto peak = cgroupUint(control_group, kCgroupMemoryPeak)) s.memory_peak = *peak;
  else note(kCgroupMemoryPeak, peak.error());
  if (auto swap = cgroupUint(control_group, kCgroupMemorySwapCurrent)) s.memory_swap_current = *swap;
  else note(kCgroupMemorySwapCurrent, swap.error());
  if (auto events = memoryEvents(control_group)) s.memory_events = std::move(*events);
  else note(kCgroupMemoryEvents, events.error());
  if (auto pressure = pressureAvg10(control_group))
    std::tie(s.pressure_some_avg10, s.pressure_full_avg10) = *pressure;
  else
    note(kCgroupMemoryPressure, pressure.error());
  auto pids = cgroupProcs(control_group);
  if (!pids) note(kCgroupProcs, pids.error());
  for (int pid : pids.value_or(std::vector<int>{})) {
    auto p = process(pid);
    if (p) s.processes.push_back(std::move(*p));
    else if (!p.error().absent()) s.unavailable[p.error().file] = p.error().reason();  // exited: skipped
  }
  return s;
}

bool SysError::absent() const { return errnum == ENOENT || errnum == ENOTDIR || errnum == ESRCH; }

std::string SysError::reason() const { return absent() ? "absent" : std::strerror(errnum); }

std::string SysError::str() const { return file + ": " + reason(); }

}  // namespace oom
