// Why reality differed from the scenario, in the kernel's and systemd's terms:
// which badness made the kernel choose a victim, which Restart= rule kept a unit
// down. Each sentence cites the docs section that states the rule.
#include <algorithm>

#include "check_context.hpp"
#include "checks/victim_choice.hpp"
#include "oom/units.hpp"
#include "systemd/restart_rules.hpp"

namespace oom {
namespace {

std::uint64_t rssOf(const KernelOomKill& k) { return (k.anon_rss_kb + k.file_rss_kb + k.shmem_rss_kb) * KiB; }

struct Sampled {
  const ProcessSample* p = nullptr;
  double t = 0;
};

// The process of `unit` with the highest oom_score in the last samples before t.
Sampled topProcess(const CheckContext& ctx, const std::string& unit, double t) {
  Sampled best;
  for (const auto* s : ctx.index.samplesBefore(t))
    if (s->unit == unit)
      for (const auto& p : s->processes)
        if (!best.p || p.oom_score > best.p->oom_score) best = {&p, s->t};
  return best;
}

const ProcessSample* sampledVictim(const CheckContext& ctx, const KernelOomKill& v, double t) {
  for (const auto* s : ctx.index.samplesBefore(t))
    for (const auto& p : s->processes)
      if (p.pid == v.pid) return &p;
  return nullptr;
}

}  // namespace

std::string explainVictimChoice(const CheckContext& ctx, const OomEvent& ev, const std::string& expected_service) {
  const KernelOomKill& v = *ev.victim;
  const std::string victim = (ev.unit.empty() ? v.task_memcg : ev.unit) + " pid " + std::to_string(v.pid);
  if (v.constraint == "CONSTRAINT_MEMCG" && !v.oom_memcg.empty())
    return "the OOM was confined to " + v.oom_memcg + " (" + ctx.index.layerOf(ev).limit +
           " was hit): the kernel chose only among that cgroup's tasks, so " +
           expected_service + " was no candidate (docs/kernel-and-systemd.md#global-and-memcg-oom-constraints)";
  const std::string expected_unit = unitName(expected_service);
  const std::string rule = "; badness = RSS + swap + page tables + oom_score_adj x (RAM + swap) / 1000 "
                           "(docs/kernel-and-systemd.md#how-the-kernel-picks-a-victim)";
  const auto compare = [&](const std::string& v_desc, int v_adj, const std::string& e_desc, int e_adj) {
    if (v_adj < e_adj)
      return "the kernel chose " + v_desc + " over " + e_desc + ": its RSS gave it the higher badness despite a " +
             "lower oom_score_adj" + rule;
    return "the kernel chose " + v_desc + " over " + e_desc + ": with an oom_score_adj at least as high, " +
           expected_service + " was not the larger by badness" + rule;
  };
  // The kernel's own table of the tasks it weighed, ranked as the report ranks them.
  const VictimChoice choice = explainVictim(ctx.index, ev);
  if (choice.source == VictimChoice::Source::task_dump) {
    const auto& cs = choice.candidates;
    const auto chosen = std::find_if(cs.begin(), cs.end(), [](const VictimCandidate& c) { return c.victim; });
    const auto wanted = std::find_if(cs.begin(), cs.end(), [&](const VictimCandidate& c) { return c.unit == expected_unit; });
    if (wanted == cs.end())
      return expected_unit + " had no task the kernel could choose in its task dump (not running, or oom_score_adj "
                             "-1000); it chose " + victim;
    if (chosen != cs.end())
      return compare(victim + " (" + describeCandidate(*chosen, choice.source) + ")", chosen->oom_score_adj,
                     expected_unit + " pid " + std::to_string(wanted->pid) + " (" +
                         describeCandidate(*wanted, choice.source) + ")",
                     wanted->oom_score_adj) +
             "; from the kernel's task dump";
  }
  // No task dump: the observer's last samples before the kill.
  const Sampled e = topProcess(ctx, expected_unit, ev.t);
  if (!e.p)
    return expected_unit + " had no process sampled in the 5s before the kill (not running, or not sampled), so " +
           "the kernel could not choose it; it chose " + victim;
  const ProcessSample* vs = sampledVictim(ctx, v, ev.t);
  const std::string v_score = vs ? "oom_score " + std::to_string(vs->oom_score) + ", " : "";
  const std::string v_desc = victim + " (" + v_score + "oom_score_adj " + std::to_string(v.oom_score_adj) +
                             ", RSS " + formatSize(rssOf(v)) + " at the kill)";
  const std::string e_desc = expected_unit + " pid " + std::to_string(e.p->pid) + " (oom_score " +
                             std::to_string(e.p->oom_score) + ", oom_score_adj " + std::to_string(e.p->oom_score_adj) +
                             ", RSS " + formatSize(e.p->rss_bytes) + " at " + ctx.since(e.t) + ")";
  return compare(v_desc, v.oom_score_adj, e_desc, e.p->oom_score_adj);
}

std::string explainOomdChoice(const CheckContext& ctx, const OomdKill& k, const std::string& wanted_unit) {
  std::string out;
  if (k.ranking) {
    out += "; " + oomdRankingText(k);
    if (!wanted_unit.empty() && wanted_unit != k.unit) {
      const auto& listed = k.ranking->candidates;
      const auto it = std::find_if(listed.begin(), listed.end(), [&](const OomdCandidate& c) { return c.unit == wanted_unit; });
      out += it == listed.end()
                 ? "; " + wanted_unit + " was not among the " + std::to_string(listed.size()) + " it listed"
                 : "; " + wanted_unit + " was listed at #" + std::to_string(it - listed.begin() + 1) + " of " +
                       std::to_string(listed.size());
    }
  }
  if (const std::string swap = oomdSwapBefore(ctx.index, ctx.scenario, k); !swap.empty())
    out += "; just before, the observer read " + swap;
  // oomd reads the preference of the candidate's own cgroup only.
  if (const ServiceSpec* s = ctx.scenario.serviceForUnit(k.unit)) {
    const std::string pref = s->directive("ManagedOOMPreference").value_or("none");
    out += "; " + k.unit + " has ManagedOOMPreference=" + pref + " on its own cgroup";
    if (pref == "none")
      if (const auto slice = s->directive("Slice"))
        out += ", and systemd-oomd does not read " + *slice +
               "'s preference for the units in it (docs/kernel-and-systemd.md#how-systemd-oomd-chooses)";
  }
  return out;
}

std::string explainNoRestart(const CheckContext& ctx, const std::string& service, const std::string& result) {
  const ServiceSpec* svc = ctx.scenario.service(service);
  if (!svc || result.empty()) return "";
  const std::string restart = svc->directive("Restart").value_or("");
  const std::string unit = unitName(service);
  if (result == "start-limit-hit")
    return "systemd started " + unit + " more than StartLimitBurst=" + svc->directive("StartLimitBurst").value_or("5") +
           " times within StartLimitIntervalSec=" + svc->directive("StartLimitIntervalSec").value_or("10s") +
           " and gave up: Result=start-limit-hit, no Restart= brings it back "
           "(docs/kernel-and-systemd.md#restart-and-the-oom-kill-result)";
  if (restartsAfter(restart, result)) return "";
  if (restart.empty() || restart == "no")
    return unit + " has no Restart= (systemd's default is Restart=no): nothing restarts it after Result=" + result;
  return "Restart=" + restart + " does not restart a unit whose Result is " + result +
         " (docs/kernel-and-systemd.md#restart-and-the-oom-kill-result)";
}

}  // namespace oom
