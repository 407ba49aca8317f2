#include "guest/sysfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <tuple>

#include "oom/text.hpp"

namespace oom {
namespace {

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

std::map<std::string, std::uint64_t> parseFlatKeyed(std::string_view text) {
  std::map<std::string, std::uint64_t> out;
  for (auto line : lines(text)) {
    const auto sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    if (auto v = leadingNumber<std::uint64_t>(line.substr(sp + 1))) out[std::string(line.substr(0, sp))] = *v;
  }
  return out;
}

std::optional<double> parsePressureAvg10(std::string_view text, std::string_view kind) {
  // "some avg10=0.00 avg60=0.00 avg300=0.00 total=0"
  for (auto line : lines(text)) {
    if (line.substr(0, kind.size()) != kind) continue;
    const auto at = line.find("avg10=");
    if (at == std::string_view::npos) return std::nullopt;
    auto rest = line.substr(at + 6);
    rest = rest.substr(0, rest.find(' '));
    return leadingNumber<double>(rest);
  }
  return std::nullopt;
}

std::map<std::string, std::uint64_t> parseMeminfo(std::string_view text) {
  // "MemTotal:        1007616 kB"
  std::map<std::string, std::uint64_t> out;
  for (auto line : lines(text)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto rest = trim(line.substr(colon + 1));
    const bool kb = rest.size() > 3 && rest.substr(rest.size() - 3) == " kB";
    if (kb) rest.remove_suffix(3);
    if (auto v = leadingNumber<std::uint64_t>(rest)) out[std::string(line.substr(0, colon))] = kb ? *v * 1024 : *v;
  }
  return out;
}

std::string parseOsReleaseValue(std::string_view text, std::string_view key) {
  for (auto line : lines(text)) {
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
  for (auto line : lines(text))
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

std::string SysFs::readFile(std::string_view relative) const {
  // open/read rather than iostreams: no locale machinery, one small buffer.
  const int fd = ::open(path(relative).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
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
  std::string text = readFile("etc/os-release");
  if (text.empty()) text = readFile("usr/lib/os-release");
  return parseOsReleaseValue(text, "PRETTY_NAME");
}

std::map<std::string, std::uint64_t> SysFs::meminfo() const { return parseMeminfo(readFile("proc/meminfo")); }

void SysFs::appendProcs(const std::string& relative_dir, std::vector<int>& out, int depth) const {
  for (int pid : parsePidList(readFile(relative_dir + "/cgroup.procs"))) out.push_back(pid);
  if (depth >= 16) return;  // cgroup trees under a unit are shallow; bound the walk anyway
  DIR* dir = ::opendir(path(relative_dir).c_str());
  if (!dir) return;
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
  for (const auto& child : children) appendProcs(relative_dir + "/" + child, out, depth + 1);
}

std::vector<int> SysFs::cgroupProcs(std::string_view control_group) const {
  if (control_group.empty()) return {};
  std::string dir = cgroupFile(control_group, "");
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  std::vector<int> out;
  appendProcs(dir, out, 0);
  return out;
}

std::optional<std::uint64_t> SysFs::cgroupUint(std::string_view control_group, std::string_view file) const {
  return leadingNumber<std::uint64_t>(readFile(cgroupFile(control_group, file)));
}

std::map<std::string, std::uint64_t> SysFs::memoryEvents(std::string_view control_group) const {
  return parseFlatKeyed(readFile(cgroupFile(control_group, "memory.events")));
}

std::pair<double, double> SysFs::pressureAvg10(std::string_view control_group) const {
  const std::string pressure = readFile(cgroupFile(control_group, "memory.pressure"));
  return {parsePressureAvg10(pressure, "some").value_or(0), parsePressureAvg10(pressure, "full").value_or(0)};
}

std::optional<int> SysFs::oomScoreAdj(int pid) const {
  return leadingNumber<int>(readFile("proc/" + std::to_string(pid) + "/oom_score_adj"));
}

std::optional<ProcessSample> SysFs::process(int pid) const {
  const std::string dir = "proc/" + std::to_string(pid) + "/";
  const std::string status = readFile(dir + "status");
  if (status.empty()) return std::nullopt;  // gone
  ProcessSample p;
  p.pid = pid;
  p.comm = std::string(trim(readFile(dir + "comm")));
  p.oom_score = leadingNumber<int>(readFile(dir + "oom_score")).value_or(0);
  p.oom_score_adj = leadingNumber<int>(readFile(dir + "oom_score_adj")).value_or(0);
  const auto fields = parseMeminfo(status);
  if (auto it = fields.find("VmRSS"); it != fields.end()) p.rss_bytes = it->second;
  return p;
}

std::optional<MemorySample> SysFs::sample(const std::string& unit, std::string_view control_group, double t) const {
  const auto current = cgroupUint(control_group, "memory.current");
  if (!current) return std::nullopt;
  MemorySample s;
  s.t = t;
  s.unit = unit;
  s.memory_current = *current;
  s.memory_peak = cgroupUint(control_group, "memory.peak").value_or(0);
  s.memory_events = memoryEvents(control_group);
  std::tie(s.pressure_some_avg10, s.pressure_full_avg10) = pressureAvg10(control_group);
  for (int pid : cgroupProcs(control_group))
    if (auto p = process(pid)) s.processes.push_back(std::move(*p));
  return s;
}

}  // namespace oom
