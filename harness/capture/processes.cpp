// The kernel's view of every process: oom_score, oom_score_adj, rss and unit.
#include <algorithm>
#include <filesystem>
#include <tuple>

#include "capture/host_reader.hpp"
#include "live/kmsg_parser.hpp"
#include "oom/text.hpp"

namespace oom {

std::string cgroupV2Path(std::string_view proc_cgroup) {
  std::string legacy;
  for (auto line : splitLines(proc_cgroup)) {
    if (line.substr(0, 3) == "0::") return std::string(trim(line.substr(3)));
    // A host without the unified hierarchy: systemd's own named hierarchy has the same path.
    if (const auto at = line.find(":name=systemd:"); at != std::string_view::npos)
      legacy = std::string(trim(line.substr(at + 14)));
  }
  return legacy;
}

void rankVictims(std::vector<CapturedProcess>& processes) {
  // oom_badness() skips OOM_SCORE_ADJ_MIN; its oom_score then reads 0 like an
  // idle process's, so such processes sort after every possible victim.
  std::stable_sort(processes.begin(), processes.end(), [](const CapturedProcess& a, const CapturedProcess& b) {
    const bool a_never = a.oom_score_adj == -1000, b_never = b.oom_score_adj == -1000;
    return std::make_tuple(a_never, -a.oom_score, -static_cast<long double>(a.rss_bytes), a.pid) <
           std::make_tuple(b_never, -b.oom_score, -static_cast<long double>(b.rss_bytes), b.pid);
  });
}

std::vector<CapturedProcess> readProcesses(const SysFs& fs, std::vector<std::string>& notes) {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(fs.path("proc"), ec)) {
    const auto pid = parseNumber<int>(entry.path().filename().string());
    if (pid && *pid > 0) pids.push_back(*pid);
  }
  if (ec) notes.push_back(fs.path("proc") + ": " + ec.message());
  std::sort(pids.begin(), pids.end());
  std::vector<CapturedProcess> out;
  for (int pid : pids) {
    const std::string dir = "proc/" + std::to_string(pid) + "/";
    const auto status = fs.readFile(dir + "status");
    if (status && status->find("\nVmRSS:") == std::string::npos) continue;  // a kernel thread
    auto sample = fs.process(pid);
    if (!sample) {
      if (!sample.error().absent()) notes.push_back(sample.error().str());
      continue;  // exited while being read
    }
    CapturedProcess p;
    p.pid = pid;
    p.comm = sample->comm;
    p.oom_score = sample->oom_score;
    p.oom_score_adj = sample->oom_score_adj;
    p.rss_bytes = sample->rss_bytes;
    if (auto cgroup = fs.readFile(dir + "cgroup")) {
      p.cgroup = cgroupV2Path(*cgroup);
      p.unit = unitFromCgroup(p.cgroup);
    }
    out.push_back(std::move(p));
  }
  rankVictims(out);
  return out;
}

std::vector<CapturedKill> kernelKills(const std::vector<std::string>& kmsg_records) {
  OomKillParser parser;
  std::vector<KernelOomKill> kills;
  for (const auto& raw : kmsg_records) {
    const auto record = parseKmsgRecord(raw);
    if (!record) continue;
    auto fed = parser.feed(*record);
    kills.insert(kills.end(), fed.finished.begin(), fed.finished.end());
  }
  auto rest = parser.flushAll();
  kills.insert(kills.end(), rest.begin(), rest.end());
  std::vector<CapturedKill> out;
  for (const auto& k : kills) {
    CapturedKill c;
    c.source = "kernel";
    c.t = k.t;
    c.unit = k.unit;
    c.pid = k.pid;
    c.comm = k.comm;
    c.oom_score_adj = k.oom_score_adj;
    c.constraint = k.constraint;
    for (const auto& line : k.lines)
      if (line.find("Killed process") != std::string::npos) c.text = line;
    if (c.text.empty() && !k.lines.empty()) c.text = k.lines.back();
    if (k.group_kill) c.text += " (group kill, memory.oom.group)";
    out.push_back(std::move(c));
  }
  std::stable_sort(out.begin(), out.end(), [](const CapturedKill& a, const CapturedKill& b) { return a.t < b.t; });
  return out;
}

}  // namespace oom
