// Three witnesses of an OOM kill in a unit, each tied to the invocation it hit:
//   kernel:  the "Killed process" report in the kernel log (an OomEvent);
//   cgroup:  the unit cgroup's memory.events (oom_group_kill for OOMPolicy=kill's
//            memory.oom.group, else oom_kill), sampled while the cgroup existed;
//   systemd: "killed by the OOM killer" (UNIT_OUT_OF_MEMORY) or Result=oom-kill for
//            the InvocationID.
// They should agree. systemd 252 is known to miss some kills after a restart
// (docs/kernel-and-systemd.md#result-signal-after-a-restart): a note. A kill the
// cgroup or systemd saw but the kernel log lacks is a kill not accounted for.
#include <algorithm>
#include <map>
#include <set>

#include "check_context.hpp"
#include "guest/containers.hpp"
#include "systemd/restart_rules.hpp"

namespace oom {
namespace {

constexpr double kCgroupSampleWindowSec = 2.0;  // a kill is "sampled" if a sample follows it this soon
// systemd logs "killed by the OOM killer" each time it sees the cgroup's oom_kill
// counter change; a memory.oom.group kill (OOMPolicy=kill) raises the counter
// twice (the victim, then again as a group member), and systemd 252 logged two
// messages 15 ms apart for one kill (docs/kernel-and-systemd.md#one-kill-two-messages).
// In such a unit, messages of one invocation this close together are one kill.
// (Without memory.oom.group, kills 100 ms apart are separate: burst-many-small.)
constexpr double kSystemdMessageMergeSec = 1.0;

std::uint64_t cgroupKills(const MemorySample& s) {
  auto get = [&](const char* k) {
    auto it = s.memory_events.find(k);
    return it == s.memory_events.end() ? std::uint64_t{0} : it->second;
  };
  return get("oom_group_kill") > 0 ? get("oom_group_kill") : get("oom_kill");
}

// "worker.service memory.events oom 4 oom_kill 4 oom_group_kill 0": a sample's OOM
// counters, as a witness cites them.
std::string oomCountersText(const std::string& unit, const MemorySample& s) {
  std::string text = unit + " memory.events";
  for (const auto& [k, v] : s.memory_events)
    if (k.rfind("oom", 0) == 0) text += " " + k + " " + std::to_string(v);
  return text;
}

std::string shortId(const std::string& id) { return id.empty() ? "(unknown)" : id.substr(0, 8); }

struct PerInvocation {
  std::size_t kernel = 0, cgroup = 0, systemd = 0;
  // Kills in a container of the unit whose cgroup is a scope of its own, outside the
  // unit's (Podman's --cgroups=enabled): neither the unit's memory.events nor systemd
  // can see them; the scope's memory.events can, if it was sampled before it went.
  std::size_t outside = 0, outside_scope_saw = 0;
  std::size_t oomd = 0;  // systemd-oomd's kills: systemd's Result=oom-kill, no kernel line (expected)
  bool cgroup_sampled = false;  // a sample of the cgroup followed every kernel kill closely enough
  std::vector<Evidence> kernel_ev, cgroup_ev, systemd_ev;
};

// OOMPolicy=kill: systemd sets memory.oom.group, and the kernel kills the whole cgroup.
bool groupKills(const CheckContext& ctx, const std::string& unit) {
  for (const auto& svc : ctx.scenario.services)
    if (unitName(svc.name) == unit) return svc.directive("OOMPolicy").value_or("stop") == "kill";
  return false;
}

std::map<std::string, PerInvocation> byInvocation(const CheckContext& ctx, const std::string& unit) {
  std::map<std::string, PerInvocation> m;
  const bool group = groupKills(ctx, unit);
  const auto samples = ctx.index.samplesOf(unit);
  const UnitSetup* setup = ctx.index.setupOf(unit);
  const std::string own = setup ? setup->control_group : "";
  const auto outsideUnit = [&](const OomEvent& e) {
    const std::string& cg = e.victim->task_memcg;
    return !e.container.empty() && !own.empty() && cg != own && cg.rfind(own + "/", 0) != 0;
  };
  for (const auto* e : ctx.index.eventsIn(unit)) {
    auto& w = m[e->InvocationID];
    if (outsideUnit(*e)) {
      ++w.outside;
      w.kernel_ev.push_back(killEvidence(*e->victim));
      const std::string scope = containerScopeUnit(e->container);
      for (const auto* s : ctx.index.samplesOf(scope))
        if (s->t >= e->t && cgroupKills(*s) > 0) {
          ++w.outside_scope_saw;
          break;
        }
      continue;
    }
    ++w.kernel;
    w.kernel_ev.push_back(killEvidence(*e->victim));
  }
  for (const auto* s : samples) {
    if (s->memory_events.empty()) continue;
    const Invocation* inv = ctx.index.invocationAt(unit, s->t, pidsOf(*s));
    auto& w = m[inv ? inv->InvocationID : ""];
    const std::uint64_t n = cgroupKills(*s);
    if (n > w.cgroup) {
      w.cgroup = n;
      w.cgroup_ev.clear();
      w.cgroup_ev.push_back(Evidence{s->t, kRecordSample, unit, inv ? inv->InvocationID : "", 0, oomCountersText(unit, *s)});
    }
  }
  for (auto& [id, w] : m) {
    w.cgroup_sampled = true;
    // Only samples of this invocation's cgroup: a restarted unit gets a new cgroup
    // whose counters start at 0, and the sampler may read it within the window.
    const std::string& invocation = id;  // clang 14 cannot capture a structured binding
    auto ofThis = [&](const MemorySample* s) {
      const Invocation* inv = ctx.index.invocationAt(unit, s->t, pidsOf(*s));
      return (inv ? inv->InvocationID : std::string()) == invocation;
    };
    for (const auto* e : ctx.index.eventsIn(unit)) {
      if (e->InvocationID != id || outsideUnit(*e)) continue;
      const bool sampled = std::any_of(samples.begin(), samples.end(), [&](const MemorySample* s) {
        return s->t >= e->t && s->t <= e->t + kCgroupSampleWindowSec && !s->memory_events.empty() &&
               cgroupKills(*s) > 0 && ofThis(s);
      });
      const bool cgroup_gone = std::none_of(samples.begin(), samples.end(), [&](const MemorySample* s) {
        return s->t >= e->t && s->t <= e->t + kCgroupSampleWindowSec && !s->memory_events.empty() && ofThis(s);
      });
      if (!sampled && cgroup_gone) w.cgroup_sampled = false;
    }
  }
  // systemd: each UNIT_OUT_OF_MEMORY message, and Result=oom-kill of an invocation with none.
  std::map<std::string, std::size_t> messages;
  std::map<std::string, double> last_message_t;
  for (const auto* j : ctx.index.journalFor(unit, kMsgUnitOutOfMemory)) {
    auto& w = m[j->INVOCATION_ID];
    w.systemd_ev.push_back(journalEvidence(*j));
    ++messages[j->INVOCATION_ID];
    const auto last = last_message_t.find(j->INVOCATION_ID);
    if (!group || last == last_message_t.end() || j->t - last->second > kSystemdMessageMergeSec) ++w.systemd;
    last_message_t[j->INVOCATION_ID] = j->t;
  }
  for (const auto* k : ctx.index.oomdKillsIn(unit)) ++m[k->InvocationID].oomd;
  for (const auto* inv : ctx.index.invocationsOf(unit)) {
    // Result=oom-kill from a systemd-oomd kill is oomd's witness, not the kernel's.
    if (inv->result != "oom-kill" || messages[inv->InvocationID] > 0 || m[inv->InvocationID].oomd > 0) continue;
    auto& w = m[inv->InvocationID];
    ++w.systemd;
    for (const auto* s : inv->states)
      if (s->Result == "oom-kill") {
        w.systemd_ev.push_back(stateEvidence(*s));
        break;
      }
  }
  return m;
}

}  // namespace

std::string otherWitnessesSaw(const WitnessCounts& w, const std::string& unit, std::vector<Evidence>& evidence) {
  std::string saw;
  if (w.cgroup > 0) saw = "memory.events counted " + std::to_string(w.cgroup);
  if (w.systemd > 0) saw += (saw.empty() ? "" : " and ") + ("systemd reported " + std::to_string(w.systemd));
  if (w.container_cgroup > 0)
    saw += (saw.empty() ? "" : " and ") + ("its containers' scopes' memory.events counted " +
                                           std::to_string(w.container_cgroup));
  if (w.podman > 0) saw += (saw.empty() ? "" : " and ") + ("Podman marked " + std::to_string(w.podman) +
                                                           " of its containers OOMKilled");
  evidence.insert(evidence.end(), w.cgroup_evidence.begin(), w.cgroup_evidence.end());
  evidence.insert(evidence.end(), w.systemd_evidence.begin(), w.systemd_evidence.end());
  evidence.insert(evidence.end(), w.container_evidence.begin(), w.container_evidence.end());
  return saw + " OOM kill(s) in " + unit;
}

CheckOutcome CheckContext::missingKillIn(const std::string& unit, CheckResult& c) const {
  std::vector<std::string> units;
  if (!unit.empty()) units.push_back(unit);
  else
    for (const auto& svc : scenario.services) units.push_back(unitName(svc.name));
  for (const auto& u : units) {
    const WitnessCounts w = witnessesOf(*this, u);
    if (w.kernel > 0 || (w.cgroup == 0 && w.systemd == 0 && w.container_cgroup == 0 && w.podman == 0)) continue;
    c.observed += "; but " + otherWitnessesSaw(w, u, c.evidence);
    std::string losses;
    for (const auto& b : blind)
      if (b.kernel) losses += (losses.empty() ? "" : "; ") + b.what;
    c.why = "the kernel log is missing the kill other witnesses saw" +
            (losses.empty() ? std::string(" (no loss was recorded)") : " (" + losses + ")") +
            ": which process died, and when, is unknown";
    return CheckOutcome::inconclusive;
  }
  // No unit's witness saw it, but the guest counted more kills than the kernel log
  // shows (a container's scope gone before a sample, with bookworm's Podman, is such a
  // blind spot): whose kill the log lost is unknown.
  const GuestSample *first = nullptr, *last = nullptr;
  for (const auto& g : index.timeline().guest_samples) {
    if (!g.isAvailable(kGuestVmstat)) continue;
    if (!first || g.t < first->t) first = &g;
    if (!last || g.t > last->t) last = &g;
  }
  const std::size_t logged = index.timeline().kills.size();
  if (first && last && last->oom_kill_total > first->oom_kill_total &&
      last->oom_kill_total - first->oom_kill_total > logged) {
    c.observed += "; but the guest's oom_kill counter (/proc/vmstat) rose by " +
                  std::to_string(last->oom_kill_total - first->oom_kill_total) + " while the kernel log shows " +
                  std::to_string(logged) + " kill(s)";
    c.evidence.push_back(Evidence{last->t, kRecordGuestSample, "", "", 0,
                                  "oom_kill_total " + std::to_string(first->oom_kill_total) + " at " + since(first->t) +
                                      ", " + std::to_string(last->oom_kill_total) + " at " + since(last->t)});
    c.why = "the kernel log is missing a kill the guest counted: which process died, and when, is unknown";
    return CheckOutcome::inconclusive;
  }
  return missingKill();
}

WitnessCounts witnessesOf(const CheckContext& ctx, const std::string& unit) {
  WitnessCounts c;
  for (const auto& [id, w] : byInvocation(ctx, unit)) {
    c.kernel += w.kernel + w.outside;
    c.cgroup += w.cgroup;
    c.systemd += w.systemd;
    c.cgroup_evidence.insert(c.cgroup_evidence.end(), w.cgroup_ev.begin(), w.cgroup_ev.end());
    c.systemd_evidence.insert(c.systemd_evidence.end(), w.systemd_ev.begin(), w.systemd_ev.end());
  }
  // Its containers, by id: Podman's records and its journal events name them.
  const Timeline& t = ctx.index.timeline();
  std::set<std::string> ids;
  for (const auto& r : t.containers)
    if (r.unit == unit && !r.id.empty()) ids.insert(r.id);
  for (const auto& j : t.journal)
    if (const auto e = podmanEvent(j); e && j.unit == unit && !e.id.empty() &&
                                       ctx.index.unitOfContainer(std::string(e.id)) == unit)
      ids.insert(std::string(e.id));
  for (const auto& id : ids) {
    const std::string scope = containerScopeUnit(id);
    const MemorySample* most = nullptr;
    for (const auto* s : ctx.index.samplesOf(scope))
      if (cgroupKills(*s) > 0 && (!most || cgroupKills(*s) > cgroupKills(*most))) most = s;
    if (most) {
      c.container_cgroup += cgroupKills(*most);
      c.container_evidence.push_back(Evidence{most->t, kRecordSample, scope, "", 0, oomCountersText(scope, *most)});
    }
  }
  for (const auto& r : t.containers)
    if (r.unit == unit && r.when == kContainerAtEnd && r.oom_killed) {
      ++c.podman;
      c.container_evidence.push_back(Evidence{r.t, kRecordContainer, unit, "", 0,
                                              "podman inspect " + r.id.substr(0, 12) + ": State.OOMKilled true, ExitCode " +
                                                  std::to_string(r.exit_code)});
    }
  return c;
}

static void checkWitnesses(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  CheckResult c{.name = "witnesses",
                .outcome = CheckOutcome::pass,
                .expected = "for each unit and invocation, the kernel log, the cgroup's memory.events and systemd "
                    "agree on the OOM kills"};
  std::set<std::string> units;
  for (const auto& svc : ctx.scenario.services) units.insert(unitName(svc.name));
  std::vector<std::string> unaccounted, missed, agreed;
  for (const auto& unit : units) {
    const auto invocations = byInvocation(ctx, unit);
    std::size_t outside = 0, scope_saw = 0;
    for (const auto& [id, w] : invocations) {
      outside += w.outside;
      scope_saw += w.outside_scope_saw;
    }
    if (outside > 0)
      agreed.push_back(unit + " " + std::to_string(outside) +
                       "x in containers' own scopes, outside the unit (the kernel log; systemd and the unit's "
                       "memory.events cannot see those; the scopes' memory.events counted " + std::to_string(scope_saw) +
                       ", the other scopes were gone before a sample)");
    for (const auto& [id, w] : invocations) {
      if (w.kernel == 0 && w.cgroup == 0 && w.systemd == 0) {
        if (w.oomd > 0) agreed.push_back(unit + " " + std::to_string(w.oomd) + "x by systemd-oomd");
        continue;
      }
      const std::string who = unit + " invocation " + shortId(id);
      auto cite = [&](const std::vector<Evidence>& ev) { c.evidence.insert(c.evidence.end(), ev.begin(), ev.end()); };
      if (w.cgroup > w.kernel || w.systemd > w.kernel) {
        unaccounted.push_back(who + ": kernel log " + std::to_string(w.kernel) + " kill(s), memory.events " +
                              std::to_string(w.cgroup) + ", systemd " + std::to_string(w.systemd));
        cite(w.kernel_ev);
        cite(w.cgroup_ev);
        cite(w.systemd_ev);
        if (w.kernel_ev.empty())
          c.evidence.push_back(Evidence{-1, "kernel", unit, id, 0, "kernel side: no \"Killed process\" in " + unit +
                                                                       " for this invocation"});
        continue;
      }
      bool agree = true;
      if (w.systemd < w.kernel) {
        agree = false;
        missed.push_back(who + ": the kernel killed " + std::to_string(w.kernel) + " time(s), systemd reported " +
                         std::to_string(w.systemd));
        cite(w.kernel_ev);
        cite(w.systemd_ev);
        c.evidence.push_back(Evidence{w.kernel_ev.empty() ? -1 : w.kernel_ev.front().t, kRecordJournal, unit, id, 0,
                                      "systemd side: no MESSAGE_ID=" + std::string(kMsgUnitOutOfMemory) +
                                          " and no Result=oom-kill for this invocation"});
      }
      if (w.cgroup < w.kernel && w.cgroup_sampled) {
        agree = false;
        missed.push_back(who + ": the kernel killed " + std::to_string(w.kernel) + " time(s), memory.events shows " +
                         std::to_string(w.cgroup));
        cite(w.kernel_ev);
        cite(w.cgroup_ev);
      }
      if (agree)
        agreed.push_back(unit + " " + std::to_string(w.kernel) + "x" +
                         (w.cgroup_sampled ? "" : " (cgroup not sampled after the kill)"));
    }
  }
  if (unaccounted.empty() && missed.empty()) {
    c.observed = agreed.empty() ? "no witness saw an OOM kill in any unit" : "all agree: ";
    for (std::size_t i = 0; i < agreed.size(); ++i) c.observed += (i ? ", " : "") + agreed[i];
    out.push_back(std::move(c));
    return;
  }
  for (const auto& s : unaccounted) c.observed += (c.observed.empty() ? "kill not in the kernel log: " : "; ") + s;
  for (const auto& s : missed) c.observed += (c.observed.empty() ? "" : "; ") + s;
  if (!unaccounted.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.why = "a kill the cgroup or systemd saw is missing from the kernel log (kernel log records lost?): "
            "checks that count or order kills cannot be trusted";
  } else {
    c.outcome = CheckOutcome::note;
    if (reportsLaterOomKillsAsSignal(ctx.systemd_major))
      c.why = "systemd " + std::to_string(ctx.systemd_major) +
              " misses some OOM kills after a restart (docs/kernel-and-systemd.md#result-signal-after-a-restart)";
  }
  out.push_back(std::move(c));
}

extern const CheckDef kCheck_witnesses{
    .name = "witnesses",
    .kind = CheckKind::run,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "per unit and invocation, kernel log, `memory.events` and systemd agree. systemd missing a kill: a "
                   "note with both sides (systemd 252 does this after restarts); a kill the cgroup or systemd saw but "
                   "the kernel log lacks: inconclusive",
    .evidence = "each witness's count per invocation",
    .judge = checkWitnesses,
};

}  // namespace oom
