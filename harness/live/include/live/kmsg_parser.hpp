#pragma once
// Turns the kernel log (/dev/kmsg records) into KernelOomKill records. One OOM
// invocation prints, in order: "<comm> invoked oom-killer", the CPU/Call Trace
// and Mem-Info (ignored), the "Tasks state" table of candidates, the
// "oom-kill:constraint=..." summary, "...: Killed process PID (comm) ...", and
// with memory.oom.group "Tasks in <cg> are going to be killed ..." followed by
// one "Killed process" line per member (the chosen victim again among them);
// "oom_reaper: reaped process ..." may follow. Formats of 6.1 and 6.12.
//
// A kill the kernel printed without its report (rate-limited: a "Killed process"
// line alone) has attribution "unknown" and no cgroup: the previous report's
// would misattribute it. Each kmsg record is one line here: a pr_cont fragment
// that reached /dev/kmsg as a record of its own (another CPU printed between) is
// matched on its own text, and the parts this parser reads are never split so.
//
// Kills are held back (flush) so the oom_reaper line can join its kill's `lines`;
// a reaper line arriving after its kill was emitted is only raw evidence
// (oom_related), not added to anything.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "timeline/task_dump.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// One /dev/kmsg record: "pri,seq,usec,flags[,...];text\n[ KEY=value\n...]".
struct KmsgRecord {
  int priority = 0;        // facility * 8 + level
  std::uint64_t seq = 0;
  double t = 0;            // usec / 1e6: CLOCK_MONOTONIC seconds
  std::string text;        // the message, without dictionary lines
};
// The text is unescaped (unescapeKmsgText): a cgroup path reads as the kernel has it.
std::optional<KmsgRecord> parseKmsgRecord(std::string_view raw);
// "\x5c" -> a backslash, "\x1b" -> ESC: undoes the escaping /dev/kmsg applies to text.
std::string unescapeKmsgText(std::string_view text);


// "/system.slice/api.service" -> "api.service"; "" when no .service/.scope component.
std::string unitFromCgroup(std::string_view cgroup);

// A kernel line worth keeping as raw evidence ("kmsg" records), judged on the line
// alone. OomKillParser::feed's Fed::oom_related is the same judgement plus the
// context of the current report (the invoker's "CPU: ... PID:" line, table rows only
// inside a "Tasks state" table); the observer uses that one.
bool isOomRelated(std::string_view text);

class OomKillParser {
 public:
  struct Fed {
    bool oom_related = false;             // send the line out as raw evidence ("kmsg")
    std::vector<KernelOomKill> finished;  // kills complete enough to emit
  };
  Fed feed(const KmsgRecord& record);
  // Kills wait briefly for their oom_reaper line; emit those older than max_age.
  std::vector<KernelOomKill> flush(double now, double max_age);
  std::vector<KernelOomKill> flushAll();
  bool hasPending() const { return !pending_.empty(); }
  // The "Tasks state" table of the current (or, until the next "invoked
  // oom-killer", the last) report: every candidate the kernel weighed.
  const std::vector<TaskDumpRow>& candidates() const { return report_.candidates; }

 private:
  struct Report {
    bool active = false;
    std::string invoker_comm;
    int invoker_pid = 0;
    std::string constraint, oom_memcg, task_memcg;
    int chosen_pid = 0;
    std::string group_cgroup;  // from "Tasks in <cg> are going to be killed"
    bool in_task_table = false;
    std::vector<std::string> lines;        // invoked, memcg usage, oom-kill summary
    std::vector<std::string> task_table;   // "Tasks state" header and rows
    std::vector<TaskDumpRow> candidates;    // the rows, parsed
    std::set<int> killed;                  // pids with a record in this report
  };
  KernelOomKill& newKill(const KmsgRecord& record, std::string_view prefix);
  KernelOomKill* pendingKill(int pid);

  Report report_;
  std::vector<KernelOomKill> pending_;
};

}  // namespace oom
