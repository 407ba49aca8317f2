#include "live/kmsg_parser.hpp"

#include <algorithm>

#include "oom/text.hpp"

namespace oom {
namespace {

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

// "key=value" from the comma-separated oom-kill summary; "" when absent.
std::string summaryValue(std::string_view summary, std::string_view key) {
  std::size_t pos = 0;
  while (pos <= summary.size()) {
    const auto comma = summary.find(',', pos);
    const auto item = summary.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.size() > key.size() && startsWith(item, key) && item[key.size()] == '=')
      return std::string(item.substr(key.size() + 1));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return "";
}


}  // namespace

std::optional<KmsgRecord> parseKmsgRecord(std::string_view raw) {
  const auto semi = raw.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  const std::string_view prefix = raw.substr(0, semi);
  KmsgRecord r;
  std::size_t field = 0, pos = 0;
  while (pos <= prefix.size() && field < 3) {
    const auto comma = prefix.find(',', pos);
    const auto item = prefix.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (field == 0) r.priority = leadingNumber<int>(item).value_or(0);
    if (field == 1) r.seq = leadingNumber<std::uint64_t>(item).value_or(0);
    if (field == 2) {
      auto usec = leadingNumber<std::uint64_t>(item);
      if (!usec) return std::nullopt;
      r.t = static_cast<double>(*usec) / 1e6;
    }
    ++field;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (field < 3) return std::nullopt;
  std::string_view text = raw.substr(semi + 1);
  text = text.substr(0, text.find('\n'));  // dictionary lines (" KEY=value") follow
  r.text = unescapeKmsgText(text);
  return r;
}

std::string unescapeKmsgText(std::string_view text) {
  // /dev/kmsg writes every byte below ' ', from 127 up, and the backslash itself
  // as "\xNN" (the kernel's msg_add_ext_text), so a backslash always starts one.
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] == 'x' && hex(text[i + 2]) >= 0 &&
        hex(text[i + 3]) >= 0) {
      out += static_cast<char>(hex(text[i + 2]) * 16 + hex(text[i + 3]));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string unitFromCgroup(std::string_view cgroup) {
  std::string unit;
  std::size_t pos = 0;
  while (pos < cgroup.size()) {
    auto slash = cgroup.find('/', pos);
    if (slash == std::string_view::npos) slash = cgroup.size();
    const auto part = cgroup.substr(pos, slash - pos);
    auto endsWith = [&](std::string_view suffix) {
      return part.size() > suffix.size() && part.substr(part.size() - suffix.size()) == suffix;
    };
    if (endsWith(".service") || endsWith(".scope")) unit = std::string(part);
    pos = slash + 1;
  }
  return unit;
}

bool isOomRelated(std::string_view text) {
  return contains(text, " invoked oom-killer: ") || startsWith(text, "Tasks state (memory values in pages)") ||
         startsWith(text, "[  pid  ]") || startsWith(text, "oom-kill:") || contains(text, "Killed process ") ||
         (startsWith(text, "Tasks in ") && contains(text, "memory.oom.group")) || contains(text, "oom_reaper") ||
         startsWith(text, "memory: usage ") || startsWith(text, "swap: usage ") ||
         startsWith(text, "memory+swap: usage ") || contains(text, "Memory cgroup stats for ") ||
         contains(text, "Out of memory") || contains(text, "out of memory") || contains(text, "oom-kill") ||
         contains(text, "is already exiting. Skip") || parseTaskDumpRow(text).has_value();
}

KernelOomKill* OomKillParser::pendingKill(int pid) {
  for (auto& k : pending_)
    if (k.pid == pid) return &k;
  return nullptr;
}

KernelOomKill& OomKillParser::newKill(const KmsgRecord& record, std::string_view prefix) {
  const std::string_view text = record.text;
  const std::string_view after = text.substr(text.find("Killed process ") + 15);
  KernelOomKill k;
  k.t = record.t;
  k.pid = leadingNumber<int>(after).value_or(0);
  const auto open = after.find('(');
  auto close = after.find(") total-vm:");
  if (close == std::string_view::npos) close = after.rfind(')');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open)
    k.comm = std::string(after.substr(open + 1, close - open - 1));
  k.total_vm_kb = numberAfter<std::uint64_t>(after, "total-vm:").value_or(0);
  k.anon_rss_kb = numberAfter<std::uint64_t>(after, "anon-rss:").value_or(0);
  k.file_rss_kb = numberAfter<std::uint64_t>(after, "file-rss:").value_or(0);
  k.shmem_rss_kb = numberAfter<std::uint64_t>(after, "shmem-rss:").value_or(0);
  k.oom_score_adj = numberAfter<int>(after, "oom_score_adj:").value_or(0);
  k.constraint = report_.constraint;
  if (k.constraint.empty()) k.constraint = startsWith(prefix, "Memory cgroup") ? "CONSTRAINT_MEMCG" : "";
  k.oom_memcg = report_.oom_memcg;
  k.invoker_comm = report_.invoker_comm;
  k.invoker_pid = report_.invoker_pid;
  // The chosen victim is never a group member, even were its line to follow "Tasks in".
  k.group_kill = !report_.group_cgroup.empty() && k.pid != report_.chosen_pid;
  if (k.pid != report_.chosen_pid && !k.group_kill) {
    // Neither the report's victim nor a group member: the kernel printed no report
    // for this kill (oom_kill_process rate-limits dump_header to 10 in 5 s), and the
    // last report's cgroup, constraint and invoker are someone else's.
    k.constraint = startsWith(prefix, "Memory cgroup") ? "CONSTRAINT_MEMCG" : "";
    k.oom_memcg.clear();
    k.invoker_comm.clear();
    k.invoker_pid = 0;
    k.attribution = kAttributionUnknown;  // the observer may still know the pid's unit
    k.lines = {record.text};
    report_.killed.insert(k.pid);
    pending_.push_back(std::move(k));
    return pending_.back();
  }
  k.task_memcg = k.pid == report_.chosen_pid || report_.group_cgroup.empty() ? report_.task_memcg
                                                                             : report_.group_cgroup;
  k.unit = unitFromCgroup(k.task_memcg);
  k.lines = report_.lines;
  if (!k.group_kill) k.lines.insert(k.lines.end(), report_.task_table.begin(), report_.task_table.end());
  k.lines.push_back(record.text);
  report_.killed.insert(k.pid);
  pending_.push_back(std::move(k));
  return pending_.back();
}

OomKillParser::Fed OomKillParser::feed(const KmsgRecord& record) {
  Fed fed;
  const std::string_view text = record.text;

  if (const auto at = text.find(" invoked oom-killer: "); at != std::string_view::npos) {
    // A new OOM invocation: whatever the previous one killed is complete.
    fed.finished = flushAll();
    report_ = Report{};
    report_.active = true;
    report_.invoker_comm = std::string(text.substr(0, at));
    report_.lines.push_back(record.text);
    fed.oom_related = true;
    return fed;
  }
  if (report_.active && report_.invoker_pid == 0 && startsWith(text, "CPU: ") && contains(text, " PID: ")) {
    report_.invoker_pid = numberAfter<int>(text, " PID: ").value_or(0);
    fed.oom_related = true;
    return fed;
  }
  if (startsWith(text, "Tasks state (memory values in pages)")) {
    report_.in_task_table = true;
    report_.candidates.clear();  // a report has one table
    report_.task_table.push_back(record.text);
    fed.oom_related = true;
    return fed;
  }
  if (report_.in_task_table && startsWith(text, "[")) {
    auto row = parseTaskDumpRow(text);
    if (row || startsWith(text, "[  pid  ]")) {
      report_.task_table.push_back(record.text);
      if (row) report_.candidates.push_back(std::move(*row));
      fed.oom_related = true;
      return fed;
    }
  }
  if (startsWith(text, "oom-kill:")) {
    report_.in_task_table = false;
    const std::string_view summary = text.substr(9);
    report_.constraint = summaryValue(summary, "constraint");
    report_.oom_memcg = summaryValue(summary, "oom_memcg");
    report_.task_memcg = summaryValue(summary, "task_memcg");
    report_.chosen_pid = leadingNumber<int>(summaryValue(summary, "pid")).value_or(0);
    report_.lines.push_back(record.text);
    fed.oom_related = true;
    return fed;
  }
  if (const auto at = text.find("Killed process "); at != std::string_view::npos) {
    report_.in_task_table = false;
    fed.oom_related = true;
    const int pid = leadingNumber<int>(text.substr(at + 15)).value_or(0);
    if (report_.killed.count(pid)) {
      // The chosen victim again, listed among the group's members: one kill, not two.
      if (auto* k = pendingKill(pid)) k->lines.push_back(record.text);
      return fed;
    }
    std::string_view prefix = text.substr(0, at);
    if (prefix.size() >= 2 && prefix.substr(prefix.size() - 2) == ": ") prefix.remove_suffix(2);
    newKill(record, prefix);
    return fed;
  }
  if (startsWith(text, "Tasks in ") && contains(text, "memory.oom.group")) {
    // "Tasks in /system.slice/x.service are going to be killed due to memory.oom.group set"
    const std::string_view rest = text.substr(9);
    report_.group_cgroup = std::string(rest.substr(0, rest.find(' ')));
    if (auto* k = pendingKill(report_.chosen_pid)) k->lines.push_back(record.text);
    fed.oom_related = true;
    return fed;
  }
  if (startsWith(text, "oom_reaper: reaped process ")) {
    if (auto* k = pendingKill(leadingNumber<int>(text.substr(27)).value_or(0))) k->lines.push_back(record.text);
    fed.oom_related = true;
    return fed;
  }
  if (report_.active && (startsWith(text, "memory: usage ") || startsWith(text, "swap: usage ") ||
                         startsWith(text, "memory+swap: usage "))) {
    report_.lines.push_back(record.text);  // the memcg's usage and limit at the OOM
    fed.oom_related = true;
    return fed;
  }
  // Task rows outside a table and CPU lines outside a report are not evidence.
  if (!startsWith(text, "[") && isOomRelated(text)) fed.oom_related = true;
  return fed;
}

std::vector<KernelOomKill> OomKillParser::flush(double now, double max_age) {
  std::vector<KernelOomKill> out;
  auto old = [&](const KernelOomKill& k) { return now - k.t >= max_age; };
  for (auto& k : pending_)
    if (old(k)) out.push_back(std::move(k));
  pending_.erase(std::remove_if(pending_.begin(), pending_.end(), old), pending_.end());
  return out;
}

std::vector<KernelOomKill> OomKillParser::flushAll() {
  std::vector<KernelOomKill> out = std::move(pending_);
  pending_.clear();
  return out;
}

}  // namespace oom
