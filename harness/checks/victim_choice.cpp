// The candidates of one kernel OOM decision, ranked by the kernel's own rule
// (mm/oom_kill.c oom_badness, 6.1 and 6.12; docs/kernel-and-systemd.md#ranking-the-candidates-of-one-report):
//   points = rss + swapents + pgtables_bytes / PAGE_SIZE + oom_score_adj * (totalpages / 1000)
// over the rows of its task dump, oom_score_adj -1000 never chosen, and among
// equal points the later row wins (the scan replaces on >=).
#include "checks/victim_choice.hpp"

#include "guest/containers.hpp"

#include <algorithm>
#include <map>

#include "oom/text.hpp"
#include "oom/units.hpp"
#include "timeline/task_dump.hpp"

namespace oom {
namespace {

constexpr std::uint64_t kPageSize = 4096;  // x86-64, the only guest architecture
constexpr int kOomScoreAdjMin = -1000;
// Values a guest could send beyond any real machine (4 PiB in pages) are clamped,
// so the kernel's arithmetic, done here in long long, cannot overflow.
constexpr std::uint64_t kMaxPages = std::uint64_t{1} << 40;

long long pagesOf(std::uint64_t v) { return static_cast<long long>(std::min(v, kMaxPages)); }

// "memory: usage 262144kB, limit 262144kB, failcnt 71" -> 262144 (kB), for `prefix` "memory: ".
std::optional<std::uint64_t> limitKb(const std::vector<std::string>& lines, std::string_view prefix) {
  for (const auto& l : lines)
    if (startsWith(l, prefix)) return numberAfter<std::uint64_t>(l, "limit ");
  return std::nullopt;
}

bool hasTaskDump(const KernelOomKill& k) {
  for (const auto& l : k.lines)
    if (startsWith(l, "Tasks state")) return true;
  return false;
}

bool hasReport(const KernelOomKill& k) {
  for (const auto& l : k.lines)
    if (l.find(" invoked oom-killer: ") != std::string::npos || startsWith(l, "oom-kill:")) return true;
  return false;
}

bool cgroupWithin(const std::string& cgroup, const std::string& scope) {
  return cgroup == scope || (startsWith(cgroup, scope) && cgroup.size() > scope.size() &&
                             (scope.back() == '/' || cgroup[scope.size()] == '/'));
}

// The last unit each pid was seen in, up to t: setup, samples, states, kills.
std::map<int, std::string> unitsByPid(const Timeline& tl, double t) {
  std::map<int, std::string> out;
  for (const auto& s : tl.setup)
    for (const auto& p : s.processes) out[p.pid] = s.unit;
  for (const auto& s : tl.states)
    if (s.t <= t)
      for (int pid : s.pids) out[pid] = s.unit;
  for (const auto& s : tl.samples)
    if (s.t <= t)
      for (const auto& p : s.processes) out[p.pid] = s.unit;
  for (const auto& k : tl.kills)
    if (!k.unit.empty()) out[k.pid] = k.unit;
  return out;
}

// The title each pid last had in a sample up to t (ProcessSample::cmdline), or
// in its kill record.
std::map<int, std::string> titlesByPid(const Timeline& tl, double t) {
  std::map<int, std::string> out;
  for (const auto& s : tl.samples)
    if (s.t <= t)
      for (const auto& p : s.processes)
        if (!p.cmdline.empty()) out[p.pid] = p.cmdline;
  for (const auto& k : tl.kills)
    if (k.t <= t && !k.cmdline.empty()) out[k.pid] = k.cmdline;
  return out;
}

std::string stem(const std::string& unit) {
  const std::string suffix = ".service";
  return unit.size() > suffix.size() && unit.compare(unit.size() - suffix.size(), suffix.size(), suffix) == 0
             ? unit.substr(0, unit.size() - suffix.size())
             : unit;
}

std::string nameOf(const VictimCandidate& c) { return c.unit.empty() ? c.name : stem(c.unit); }

std::uint64_t footprint(const VictimCandidate& c) { return c.rss_bytes + c.swap_bytes + c.pgtables_bytes; }

std::string scoreOf(const VictimCandidate& c, VictimChoice::Source source) {
  if (source == VictimChoice::Source::task_dump && c.oom_score < 0) return std::to_string(c.badness) + " points";
  return std::to_string(c.oom_score);
}

}  // namespace

std::string describeCandidate(const VictimCandidate& c, VictimChoice::Source source) {
  return "score " + scoreOf(c, source) + ", " + (c.swap_bytes ? "RSS + swap " : "RSS ") + formatSize(footprint(c)) +
         ", oom_score_adj " + std::to_string(c.oom_score_adj);
}

namespace {

// One plain sentence: why the first candidate beat the second (or why it had no rival).
std::string sentenceFor(const VictimChoice& choice, const KernelOomKill& k) {
  const auto& cs = choice.candidates;
  const auto victim = std::find_if(cs.begin(), cs.end(), [](const VictimCandidate& c) { return c.victim; });
  if (victim == cs.end()) return "The kernel's task dump does not list the victim, pid " + std::to_string(k.pid) + ".";
  std::string vname = nameOf(*victim), scope_note;
  if (choice.memcg)
    scope_note = " The OOM was confined to " + choice.scope + " (CONSTRAINT_MEMCG: " +
                 (choice.limit.empty() ? std::string("its memory.max") : choice.limit) +
                 " was hit), so only its tasks could be chosen.";
  const VictimCandidate* rival = nullptr;
  for (const auto& c : cs)
    if (!c.victim) {
      rival = &c;
      break;
    }
  if (!rival)
    return vname + " was the only task the kernel could choose" +
           (choice.unkillable ? " (the others listed have oom_score_adj -1000)" : "") + "." + scope_note;
  std::string rname = nameOf(*rival);
  if (rname == vname) {  // two processes of one unit: their pids and their own names
    const auto which = [](const VictimCandidate& c) {
      const std::string label = processLabel(c.name, c.title);
      return " pid " + std::to_string(c.pid) + (label == c.name ? "" : " (" + label + ")");
    };
    vname += which(*victim);
    rname += which(*rival);
  }
  const std::string score = scoreOf(*victim, choice.source);
  if (victim->oom_score < 0 && choice.source == VictimChoice::Source::samples)
    return vname + " (pid " + std::to_string(victim->pid) +
           ") was not sampled in the 5 s before the kill and the kernel's task dump was not recorded; the tasks "
           "sampled then are listed by their oom_score." + scope_note;
  if (&*victim != &cs.front()) {
    const VictimCandidate& top = cs.front();
    const std::string head = "The kernel chose " + vname + " (score " + score + ") although " + nameOf(top) +
                             " pid " + std::to_string(top.pid) + " ranks above it in the task dump (score " +
                             scoreOf(top, choice.source) + ")";
    // The dump is printed after the choice, while the tasks go on allocating: a near tie can flip.
    const long long margin = top.badness - victim->badness;
    if (choice.source == VictimChoice::Source::task_dump && margin * 50 <= std::max(top.badness, 1LL))
      return head + (margin == 0 ? ", with the same badness" : ", by " + formatSize(static_cast<std::uint64_t>(margin) * kPageSize)) +
             ": a near tie, and the kernel prints the dump after choosing, while the tasks go on allocating." +
             scope_note;
    return head + ": the kernel skips a task it already killed once its memory is reaped, so that one was most "
                  "likely an earlier victim still exiting." + scope_note;
  }
  const bool swap = victim->swap_bytes || rival->swap_bytes;
  const std::string mem = swap ? "memory (RSS + swap)" : "RSS";
  const std::string v_mem = formatSize(footprint(*victim));
  std::string r_mem = formatSize(footprint(*rival));
  if (r_mem == v_mem && footprint(*victim) > footprint(*rival))  // rounded alike: say by how much
    r_mem += ", " + formatSize(footprint(*victim) - footprint(*rival)) + " less";
  const std::string head = vname + " had the highest score, " + score + ", ";
  std::string s;
  if (footprint(*victim) > footprint(*rival) && victim->oom_score_adj == rival->oom_score_adj)
    s = head + "with the same oom_score_adj as " + rname + " (" + std::to_string(victim->oom_score_adj) +
        "): its larger " + mem + " decided (" + v_mem + " against " + r_mem + ").";
  else if (footprint(*victim) > footprint(*rival) && victim->oom_score_adj > rival->oom_score_adj)
    s = head + "with the larger " + mem + " (" + v_mem + " against " + rname + "'s " + r_mem +
        ") and the higher oom_score_adj (" + std::to_string(victim->oom_score_adj) + " against " +
        std::to_string(rival->oom_score_adj) + ").";
  else if (footprint(*victim) > footprint(*rival))
    s = head + "because its " + mem + " of " + v_mem + " outweighed " + rname + "'s higher oom_score_adj of " +
        std::to_string(rival->oom_score_adj) + " (its own: " + std::to_string(victim->oom_score_adj) + ").";
  else if (victim->oom_score_adj > rival->oom_score_adj)
    s = head + "because its oom_score_adj of " + std::to_string(victim->oom_score_adj) + " outweighed " + rname +
        "'s larger " + mem + " (" + r_mem + " against " + v_mem + ").";
  else
    s = head + "just ahead of " + rname + " (" + scoreOf(*rival, choice.source) + ").";
  return s + scope_note;
}

}  // namespace

VictimChoice explainVictim(const TimelineIndex& index, const OomEvent& event) {
  VictimChoice choice;
  const KernelOomKill& k = *event.victim;
  const Timeline& tl = index.timeline();
  choice.memcg = k.constraint == "CONSTRAINT_MEMCG";
  choice.scope = choice.memcg ? (k.oom_memcg.empty() ? k.task_memcg : k.oom_memcg) : "the whole guest";
  if (choice.memcg) choice.limit = index.layerOf(event).limit;
  if (k.group_kill) {
    choice.sentence = "pid " + std::to_string(k.pid) +
                      " was killed as a member of its cgroup's memory.oom.group; the kernel's chosen victim was not "
                      "recorded.";
    return choice;
  }
  if (!hasReport(k)) {
    choice.sentence = "The kernel printed no report for this kill (at most 10 reports in 5 s), so which tasks it "
                      "weighed is not known.";
    return choice;
  }
  const std::uint64_t page = kPageSize;
  const long long ram_pages = pagesOf(tl.guest.mem_total_bytes / page);
  const long long swap_pages = pagesOf(tl.guest.swap_total_bytes / page);
  const long long global_total = ram_pages + swap_pages;
  // totalpages: RAM + swap for a global OOM; for a memcg, memory.max + min(swap.max, swap).
  long long total = global_total;
  if (choice.memcg)
    if (const auto limit = limitKb(k.lines, "memory: usage ")) {
      const long long swap_limit = pagesOf(limitKb(k.lines, "swap: usage ").value_or(0) / (page / KiB));
      total = pagesOf(*limit / (page / KiB)) + std::min(swap_limit, swap_pages);
    }
  const auto units = unitsByPid(tl, k.t);
  const auto titles = titlesByPid(tl, k.t);
  const auto titleOf = [&titles](int pid) {
    const auto t = titles.find(pid);
    return t == titles.end() ? std::string() : t->second;
  };
  if (hasTaskDump(k)) {
    choice.source = VictimChoice::Source::task_dump;
    std::vector<VictimCandidate> rows;
    for (const auto& line : k.lines) {
      const auto row = parseTaskDumpRow(line);
      if (!row) continue;
      if (row->oom_score_adj <= kOomScoreAdjMin) {
        ++choice.unkillable;
        continue;
      }
      VictimCandidate c;
      c.pid = row->pid;
      c.name = row->name;
      c.title = titleOf(c.pid);
      if (const auto u = units.find(c.pid); u != units.end()) c.unit = u->second;
      // A container's scope sampled as a unit of its own is the unit that ran the container.
      if (const auto owner = index.unitOfContainer(containerIdInCgroup(c.unit)); !owner.empty()) c.unit = owner;
      if (c.unit.empty() && choice.memcg) c.unit = event.unit;  // the table lists only the memcg's tasks
      c.rss_bytes = row->rss_pages * page;
      c.swap_bytes = row->swapents * page;
      c.pgtables_bytes = row->pgtables_bytes;
      c.oom_score_adj = std::clamp(row->oom_score_adj, kOomScoreAdjMin, 1000);
      const long long pages = pagesOf(row->rss_pages) + pagesOf(row->swapents) + pagesOf(row->pgtables_bytes / page);
      c.badness = pages + static_cast<long long>(c.oom_score_adj) * (total / 1000);
      c.oom_score = -1;
      if (global_total > 0) {
        const long long global = pages + static_cast<long long>(c.oom_score_adj) * (global_total / 1000);
        c.oom_score = static_cast<int>(std::clamp((1000 + global * 1000 / global_total) * 2 / 3, -1LL, 2000LL));
      }
      c.victim = c.pid == k.pid;
      rows.push_back(std::move(c));
    }
    // Later rows first, then a stable sort: of equal points, the kernel keeps the last.
    std::reverse(rows.begin(), rows.end());
    std::stable_sort(rows.begin(), rows.end(),
                     [](const VictimCandidate& a, const VictimCandidate& b) { return a.badness > b.badness; });
    choice.candidates = std::move(rows);
  } else {
    // No table in the record (vm.oom_dump_tasks=0, or a synthetic recording): the
    // observer's last samples, only of the cgroup the OOM was confined to.
    choice.source = VictimChoice::Source::samples;
    bool victim_sampled = false;
    for (const MemorySample* s : index.samplesBefore(k.t)) {
      const UnitSetup* setup = index.setupOf(s->unit);
      const std::string cgroup =
          setup && !setup->control_group.empty() ? setup->control_group : "/system.slice/" + s->unit;
      const bool in_scope = !choice.memcg || cgroupWithin(cgroup, choice.scope) || s->unit == k.unit;
      for (const auto& p : s->processes) {
        if (!in_scope) {
          ++choice.outside_scope;
          continue;
        }
        if (p.oom_score_adj <= kOomScoreAdjMin) {
          ++choice.unkillable;
          continue;
        }
        VictimCandidate c;
        c.pid = p.pid;
        c.name = p.comm;
        c.title = p.cmdline.empty() ? titleOf(p.pid) : p.cmdline;
        c.unit = s->unit;
        if (const auto owner = index.unitOfContainer(containerIdInCgroup(c.unit)); !owner.empty()) c.unit = owner;
        c.rss_bytes = p.rss_bytes;
        c.oom_score_adj = p.oom_score_adj;
        c.oom_score = p.oom_score;
        c.victim = p.pid == k.pid;
        victim_sampled = victim_sampled || c.victim;
        choice.candidates.push_back(std::move(c));
      }
    }
    std::stable_sort(choice.candidates.begin(), choice.candidates.end(),
                     [](const VictimCandidate& a, const VictimCandidate& b) { return a.oom_score > b.oom_score; });
    if (!victim_sampled) {
      VictimCandidate c;
      c.pid = k.pid;
      c.name = k.comm;
      c.title = titleOf(k.pid);
      c.unit = event.unit;
      c.rss_bytes = (k.anon_rss_kb + k.file_rss_kb + k.shmem_rss_kb) * KiB;
      c.oom_score_adj = k.oom_score_adj;
      c.oom_score = -1;
      c.victim = true;
      choice.candidates.insert(choice.candidates.begin(), std::move(c));
    }
  }
  choice.sentence = sentenceFor(choice, k);
  if (!event.container.empty()) choice.sentence += " " + containerNote(index, event);
  return choice;
}

std::string containerNote(const TimelineIndex& index, const OomEvent& event) {
  const KernelOomKill& k = *event.victim;
  std::string note = "pid " + std::to_string(k.pid) + " ran in container " + event.container.substr(0, 12) + " of " +
                     event.unit + " with oom_score_adj " + std::to_string(k.oom_score_adj);
  const UnitSetup* setup = index.setupOf(event.unit);
  const auto unit_adj = setup ? setup->applied.find("OOMScoreAdjust") : std::map<std::string, std::string>::const_iterator{};
  if (setup && unit_adj != setup->applied.end()) {
    note += unit_adj->second == std::to_string(k.oom_score_adj)
                ? ", the same as the unit's OOMScoreAdjust=" + unit_adj->second
                : ", the runtime's, not the unit's OOMScoreAdjust=" + unit_adj->second +
                      " (which podman itself carries; docs/containers.md#4)";
  }
  for (const auto& r : index.timeline().containers)
    if (r.unit == event.unit && r.when == kContainerAtSetup)
      for (const auto& p : r.processes)
        if (p.pid == r.conmon_pid) {
          note += "; conmon, Podman's monitor, runs at " + std::to_string(p.oom_score_adj) +
                  (p.oom_score_adj <= -1000 ? " and is never chosen" : "");
          return note + ".";
        }
  return note + ".";
}

}  // namespace oom
