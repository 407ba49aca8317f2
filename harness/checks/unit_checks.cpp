// Checks about systemd's reaction to a kill: Result, restarts, clean restart,
// state at the end, half-alive units, resumed checkpoints. Each kill is tied to
// the invocation it killed (InvocationID), and each restart to the next one.
#include <algorithm>
#include <map>
#include <set>

#include "check_context.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "systemd/restart_rules.hpp"

namespace oom {
namespace {

// clean_restart: the new invocation must stay active at least this long.
constexpr double kStaysUpSec = 5.0;
// resumes_from_checkpoint: oomstress saves its progress every report interval
// (the plan runs it with --report-interval 1s), and VmRSS holds a few MiB that are
// not work (the static binary, the stack).
constexpr double kCheckpointIntervalSec = 1.0;
constexpr std::uint64_t kRssNotWorkBytes = 8 * MiB;

double restartSecOf(const CheckContext& ctx, const std::string& svc) {
  const ServiceSpec* s = ctx.scenario.service(svc);
  return s ? s->restartSec() : kDefaultRestartSec;
}

// One event per invocation: a unit's second kill in the same invocation adds nothing here.
std::vector<const OomEvent*> eventsPerInvocation(const CheckContext& ctx, const std::string& unit) {
  std::vector<const OomEvent*> out;
  std::set<std::string> seen;
  for (const auto* e : ctx.index.eventsIn(unit))
    if (e->InvocationID.empty() || seen.insert(e->InvocationID).second) out.push_back(e);
  return out;
}

// systemd's Result for the invocation an event hit, with the record that says so.
// The Result systemd gave the invocation a kill (the kernel's or systemd-oomd's) hit.
std::pair<std::string, std::optional<Evidence>> resultOf(const CheckContext& ctx, const std::string& unit,
                                                         const std::string& invocation_id, double t) {
  if (const Invocation* inv = ctx.index.invocation(unit, invocation_id)) {
    // The first verdict systemd gave after the kill (a later start-limit-hit is another story).
    for (const auto* s : inv->states)
      if (s->t >= t - 0.5 && !s->Result.empty() && s->Result != "success") return {s->Result, stateEvidence(*s)};
  }
  for (const auto* j : ctx.index.journalFor(unit, kMsgUnitFailureResult)) {
    const bool same = !invocation_id.empty() && j->INVOCATION_ID == invocation_id;
    const bool near = j->INVOCATION_ID.empty() && j->t >= t && j->t <= t + 30;
    auto r = j->fields.find("UNIT_RESULT");
    if ((same || near) && r != j->fields.end()) return {r->second, journalEvidence(*j)};
  }
  return {"", std::nullopt};
}

std::pair<std::string, std::optional<Evidence>> resultOf(const CheckContext& ctx, const OomEvent& e) {
  return resultOf(ctx, e.unit, e.InvocationID, e.t);
}

bool startLimitHit(const CheckContext& ctx, const std::string& unit, std::vector<Evidence>& evidence) {
  bool hit = false;
  for (const auto& s : ctx.index.timeline().states)
    if (s.unit == unit && s.Result == "start-limit-hit" && !hit) {
      hit = true;
      evidence.push_back(stateEvidence(s));
    }
  for (const auto* j : ctx.index.journalFor(unit, kMsgUnitFailureResult)) {
    auto r = j->fields.find("UNIT_RESULT");
    if (r != j->fields.end() && r->second == "start-limit-hit") {
      hit = true;
      evidence.push_back(journalEvidence(*j));
      break;
    }
  }
  return hit;
}

// The last non-success Result systemd gave the unit (what decided whether it restarted).
std::string lastResult(const CheckContext& ctx, const std::string& unit) {
  std::string result;
  double at = -1;
  for (const auto& s : ctx.index.timeline().states)
    if (s.unit == unit && !s.Result.empty() && s.Result != "success" && s.t >= at) {
      result = s.Result;
      at = s.t;
    }
  return result;
}

std::string scenarioType(const CheckContext& ctx, const std::string& svc) {
  const ServiceSpec* s = ctx.scenario.service(svc);
  return s ? s->directive("Type").value_or("") : "";
}

// A timeline that ends before a restart after the unit's last kill was due (RestartSec
// plus restart_grace) cannot show whether one came: the sentence that says so, or ""
// when it was due, or systemd's last word after the kill settled it (the unit active
// again, or `failed`).
std::string restartNotYetDue(const CheckContext& ctx, const std::string& svc) {
  const std::string unit = unitName(svc);
  double last = -1;
  for (const auto* e : ctx.index.eventsIn(unit)) last = std::max(last, e->t);
  for (const auto* k : ctx.index.oomdKillsIn(unit)) last = std::max(last, k->t);
  const UnitStateChange* state = ctx.index.lastState(unit);
  // Restarted and active already, or given up for good: the end shows what came of it.
  if (last < 0 || (state && state->t > last && (state->ActiveState == "failed" || state->ActiveState == "active")))
    return "";
  const double restart_sec = restartSecOf(ctx, svc), grace = ctx.scenario.expect.restart_grace_sec;
  const double end = ctx.index.endT();
  if (end >= last + restart_sec + grace) return "";
  return "the timeline ends " + formatTenths(end - last) + " after the kill at " + ctx.since(last) +
         ", before a restart was due (RestartSec=" + formatDuration(Seconds(restart_sec)) + " + restart_grace " +
         formatDuration(Seconds(grace)) + ")";
}

}  // namespace

static void checkResult(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const std::string unit = unitName(svc);
  CheckResult c{.name = svc + ".Result",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = "each OOM-killed invocation of " + unit + " ends with Result=" + *e.Result};
  const auto events = eventsPerInvocation(ctx, unit);
  const bool lenient = reportsLaterOomKillsAsSignal(ctx.systemd_major);
  std::vector<std::string> results;
  std::size_t unjudged = 0;
  for (const auto* ev : events) {
    auto [result, evidence] = resultOf(ctx, *ev);
    c.evidence.push_back(killEvidence(*ev->victim));
    if (evidence) c.evidence.push_back(*evidence);
    const Invocation* inv = ctx.index.invocation(unit, ev->InvocationID);
    const bool after_restart = inv && inv->nrestarts > 0;
    // systemd 252 may report a restarted unit's later OOM kills as signal: judge what it can report.
    const bool accepted = lenient && after_restart && *e.Result == "oom-kill" && result == "signal";
    std::string shown = "invocation " + ev->InvocationID.substr(0, 8) + " " + (result.empty() ? "(none reported)" : result);
    if (accepted) shown += " (accepted: systemd " + std::to_string(ctx.systemd_major) + " after a restart)";
    results.push_back(shown);
    if (result == *e.Result || accepted) continue;
    // No Result yet, and the timeline ends within the grace after the kill: systemd had
    // not had its say (a timeline cut short, or a kill while the run was ending), which is
    // no wrong Result. Not judged; with no kill judged at all, nothing was.
    if (const double end = ctx.index.endT(); result.empty() && end < ev->t + ctx.scenario.expect.restart_grace_sec) {
      results.back() += " (not judged: the timeline ends " + formatTenths(end - ev->t) + " after the kill)";
      ++unjudged;
      continue;
    }
    c.outcome = CheckOutcome::fail;
    if (!c.why.empty()) continue;
    const ServiceSpec* spec = ctx.scenario.service(svc);
    const std::string policy = spec ? spec->directive("OOMPolicy").value_or("stop") : "stop";
    if (result.empty())
      c.why = "systemd reported no Result for the killed invocation: no non-success Result in its state changes "
              "and no UNIT_FAILURE_RESULT entry in the journal";
    else if (result == "signal" && *e.Result == "oom-kill" && policy == "continue")
      c.why = "under OOMPolicy=continue systemd does not end the invocation for the OOM kill; when the main "
              "process dies of the SIGKILL the invocation ends with Result=signal (docs/kernel-and-systemd.md#oompolicy)";
    else if (result == "signal" && *e.Result == "oom-kill" && lenient)
      c.why = "systemd " + std::to_string(ctx.systemd_major) +
              " did not attribute this kill to the OOM killer (no OOM message): it saw the main process die of "
              "SIGKILL (docs/kernel-and-systemd.md#result-signal-after-a-restart)";
    else if (result == "oom-kill")
      c.why = "systemd saw the kill in the cgroup's memory.events (OOMPolicy=" + policy +
              ") and ended the invocation with Result=oom-kill (docs/kernel-and-systemd.md#oompolicy)";
  }
  // systemd-oomd's kills end their invocation too (systemd reports Result=oom-kill).
  const auto oomd = ctx.index.oomdKillsIn(unit);
  for (const auto* k : oomd) {
    auto [result, evidence] = resultOf(ctx, unit, k->InvocationID, k->t);
    c.evidence.push_back(oomdKillEvidence(*k));
    if (evidence) c.evidence.push_back(*evidence);
    results.push_back("invocation " + k->InvocationID.substr(0, 8) + " " +
                      (result.empty() ? "(none reported)" : result) + " (systemd-oomd)");
    if (result != *e.Result) c.outcome = CheckOutcome::fail;
  }
  if (events.empty() && oomd.empty()) {
    c.observed = "no OOM kill in " + unit + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unit, c);
  } else {
    if (unjudged == events.size() + oomd.size() && c.outcome == CheckOutcome::pass) c.outcome = CheckOutcome::inconclusive;
    c.observed = "Result: ";
    for (std::size_t i = 0; i < results.size(); ++i) c.observed += (i ? ", " : "") + results[i];
  }
  out.push_back(std::move(c));
}

std::uint64_t systemdRestarts(const CheckContext& ctx, const std::string& unit, std::vector<Evidence>& evidence) {
  std::uint64_t n = 0;
  const UnitStateChange* top = nullptr;
  for (const auto& s : ctx.index.timeline().states)
    if (s.unit == unit && (!top || s.NRestarts > top->NRestarts)) top = &s;
  if (top) {
    n = top->NRestarts;
    evidence.push_back(stateEvidence(*top));
  }
  for (const auto* j : ctx.index.journalFor(unit, kMsgUnitRestartScheduled)) {
    auto f = j->fields.find("N_RESTARTS");
    if (f == j->fields.end()) continue;
    const auto v = leadingNumber<std::uint64_t>(f->second).value_or(0);
    if (v > n || !top) {
      n = std::max<std::uint64_t>(n, v);
      evidence.push_back(journalEvidence(*j));
    }
  }
  return n;
}

static void checkRestarts(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const std::string unit = unitName(svc);
  CheckResult c{.name = svc + ".restarts",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = "NRestarts of " + unit + ": " + e.restarts->str()};
  const std::uint64_t n = systemdRestarts(ctx, unit, c.evidence);
  c.observed = "NRestarts=" + std::to_string(n);
  const bool any_state = std::any_of(ctx.index.timeline().states.begin(), ctx.index.timeline().states.end(),
                                     [&](const UnitStateChange& s) { return s.unit == unit; });
  if (!any_state && ctx.index.journalFor(unit, kMsgUnitRestartScheduled).empty()) c.observed += " (no state change recorded)";
  if (!e.restarts->contains(n)) {
    const bool too_few = n < e.restarts->min.value_or(0);
    if (too_few) c.observed += ctx.notWithinTimeLimit();
    c.outcome = too_few && ctx.index.eventsIn(unit).empty() ? ctx.missingKillIn(unit, c) : CheckOutcome::fail;
    if (too_few) c.why = explainNoRestart(ctx, svc, lastResult(ctx, unit));
    if (const auto early = restartNotYetDue(ctx, svc); too_few && !early.empty()) {
      c.outcome = CheckOutcome::inconclusive;
      c.observed += "; " + early;
      c.why = "a timeline cut short after a kill cannot show the restart";
    }
  }
  out.push_back(std::move(c));
}

// A clean restart proves itself: the killed invocation's processes are gone, a
// new InvocationID with a new MainPID, active again (READY=1 for Type=notify, the
// default) within RestartSec + restart_grace, and still active kStaysUpSec later.
static void checkCleanRestart(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const std::string unit = unitName(svc);
  const double grace = ctx.scenario.expect.restart_grace_sec;
  const double restart_sec = restartSecOf(ctx, svc);
  const std::string type = scenarioType(ctx, svc);
  CheckResult c{.name = svc + ".clean_restart",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = std::string(*e.clean_restart ? "" : "not ") +
                    "a clean restart after each kill: old processes gone, new InvocationID and MainPID, active "
                    "again (READY=1) within RestartSec " + formatDuration(Seconds(restart_sec)) + " + " +
                    formatDuration(Seconds(grace)) + ", still active " + formatDuration(Seconds(kStaysUpSec)) +
                    " later, no start-limit-hit"};
  std::vector<std::string> problems;
  if (startLimitHit(ctx, unit, c.evidence)) {
    problems.push_back("start limit hit (Result=start-limit-hit)");
    c.why = explainNoRestart(ctx, svc, "start-limit-hit");
  }
  const auto events = eventsPerInvocation(ctx, unit);
  const double end = ctx.index.endT();
  std::size_t judged = 0;
  std::string unjudged;  // a restart the end of the run cut short
  for (const auto* ev : events) {
    const double deadline = ev->t + restart_sec + grace;
    const Invocation* next = ctx.index.nextInvocation(unit, ev->t, ev->InvocationID);
    const std::string at = "kill at " + ctx.since(ev->t) + ": ";
    if (!next) {
      if (deadline > end && !ctx.time_limit_t) continue;  // the run ended first: cannot judge
      ++judged;
      c.evidence.push_back(killEvidence(*ev->victim));
      problems.push_back(at + "no new InvocationID afterwards" + (deadline > end ? ctx.notWithinTimeLimit() : ""));
      if (c.why.empty()) {
        const Invocation* old = ctx.index.invocation(unit, ev->InvocationID);
        c.why = explainNoRestart(ctx, svc, old && !old->result.empty() ? old->result : lastResult(ctx, unit));
      }
      continue;
    }
    const Invocation* old = ctx.index.invocation(unit, ev->InvocationID);
    c.evidence.push_back(killEvidence(*ev->victim));
    if (!next->states.empty()) c.evidence.push_back(stateEvidence(*next->states.front()));
    if (!next->active_t && deadline > end && !ctx.time_limit_t) continue;  // not yet due
    ++judged;
    const std::string id = next->InvocationID.substr(0, 8);
    if (next->main_pid == 0)
      problems.push_back(at + "new invocation " + id + " never had a MainPID");
    else if (old && (next->main_pid == old->main_pid || old->pids.count(next->main_pid)))
      problems.push_back(at + "new invocation " + id + " has MainPID " + std::to_string(next->main_pid) +
                         ", a process of the killed invocation");
    if (old) {
      std::set<int> next_pids;
      for (const auto* s : next->states) next_pids.insert(s->pids.begin(), s->pids.end());
      std::string leftover;
      for (int pid : old->pids)
        if (next_pids.count(pid)) leftover += (leftover.empty() ? "" : ",") + std::to_string(pid);
      if (!leftover.empty()) problems.push_back(at + "pids of the old invocation still present: " + leftover);
    }
    if (!next->active_t || *next->active_t > deadline) {
      problems.push_back(at + "new invocation " + id + " not active by " +
                         formatDuration(Seconds(restart_sec + grace)) + " after the kill" +
                         (deadline > end ? ctx.notWithinTimeLimit() : ""));
      continue;
    }
    for (const auto* s : next->states)
      if (s->ActiveState == "active") { c.evidence.push_back(stateEvidence(*s)); break; }
    // Still up kStaysUpSec later?
    const UnitStateChange* stop = nullptr;
    for (const auto* s : next->states)
      if (s->t > *next->active_t && isStopped(s->ActiveState)) { stop = s; break; }
    const double up_until = stop ? stop->t : end;
    if (up_until - *next->active_t < kStaysUpSec) {
      if (stop) {
        c.evidence.push_back(stateEvidence(*stop));
        problems.push_back(at + "new invocation " + id + " stopped " +
                           formatDuration(Seconds(stop->t - *next->active_t)) + " after it became active");
      } else {
        // Active in time, but the run (settled or at its time limit) ended before
        // it could stay up that long: the restart happened; its staying up is unseen.
        --judged;
        unjudged = at + "new invocation " + id + " active " + formatDuration(Seconds(end - *next->active_t)) +
                   " before the run ended, not judged";
      }
    }
  }
  const bool clean = problems.empty();
  if (events.empty()) {
    c.observed = "no OOM kill in " + unit + ", so no restart to judge" + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unit, c);
  } else if (judged == 0 && problems.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "the run ended before a restart could be judged (RestartSec + grace, then " +
                 formatDuration(Seconds(kStaysUpSec)) + " up)";
  } else {
    c.observed = clean ? "clean restart after " + std::to_string(judged) + " kill(s)" : problems.front();
    for (std::size_t i = 1; i < problems.size(); ++i) c.observed += "; " + problems[i];
    if (!unjudged.empty()) c.observed += " (" + unjudged + ")";
    if (clean && !type.empty() && type != "notify")
      c.observed += " (Type=" + type + ": active does not prove the load's baseline is held; only Type=notify's "
                    "READY=1 does)";
    if (clean != *e.clean_restart) c.outcome = CheckOutcome::fail;
    if (c.outcome == CheckOutcome::pass) c.why.clear();
  }
  out.push_back(std::move(c));
}

static void checkActiveAtEnd(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const std::string unit = unitName(svc);
  CheckResult c{.name = svc + ".active_at_end",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = unit + (*e.active_at_end ? " is" : " is not") + " active at the end"};
  bool active = false;
  const UnitStateChange* last = ctx.index.lastState(unit);
  // The state at the end is read at the end: for a unit systemd last reported before the
  // pressure, its cgroup's last sample shows it still running (a record from before the
  // pressure, whenever it was read, cannot decide the end).
  const double p0 = ctx.index.pressureT();
  const auto samples = ctx.index.samplesOf(unit);
  const MemorySample* end_sample = nullptr;
  for (auto it = samples.rbegin(); it != samples.rend() && !end_sample; ++it)
    if ((*it)->isAvailable(kCgroupProcs)) end_sample = *it;
  const auto stillRunning = [&](double since_t, const std::string& said) {
    if (since_t >= p0 || !end_sample || end_sample->t <= p0 || end_sample->processes.empty()) return false;
    c.evidence.push_back(Evidence{end_sample->t, kRecordSample, unit, "", 0,
                                  std::to_string(end_sample->processes.size()) + " process(es) in " + unit +
                                      "'s cgroup at " + ctx.since(end_sample->t) + "; systemd's last word, " + said +
                                      " at " + ctx.since(since_t) + ", unchanged since"});
    c.observed += " (unchanged since " + ctx.since(since_t) + "; " + std::to_string(end_sample->processes.size()) +
                  " process(es) in its cgroup at " + ctx.since(end_sample->t) + ")";
    return true;
  };
  if (last) {
    active = last->ActiveState == "active";
    c.observed = last->ActiveState + "/" + last->SubState;
    if (!active || !stillRunning(last->t, last->ActiveState + "/" + last->SubState))
      c.evidence.push_back(stateEvidence(*last));
  } else if (const UnitSetup* setup = ctx.index.setupOf(unit)) {
    active = true;  // started and verified, and no change was seen afterwards
    c.observed = "active (no state change after setup)";
    if (!stillRunning(setup->t, "started"))
      c.evidence.push_back(Evidence{setup->t, "setup", unit, "", 0, "started; no state change afterwards"});
  } else {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "no record of " + unit + " at all";
    out.push_back(std::move(c));
    return;
  }
  // A kill shortly before the end: systemd's stop and restart were still under way.
  if (const auto early = restartNotYetDue(ctx, svc); !early.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed += "; " + early;
    c.why = "a timeline cut short after a kill cannot show the state the unit settles in";
  } else if (active != *e.active_at_end) {
    c.outcome = CheckOutcome::fail;
    if (!active) c.why = explainNoRestart(ctx, svc, lastResult(ctx, unit));
    // Still up when it should have been stopped, and never killed: the kill that
    // would have stopped it is what is missing (inconclusive without pressure).
    if (active && ctx.index.eventsIn(unit).empty()) {
      c.observed += " (no OOM kill in " + unit + ")" + ctx.notWithinTimeLimit();
      c.outcome = ctx.missingKillIn(unit, c);
    }
  }
  out.push_back(std::move(c));
}

// Half-alive: after a kill, the invocation is still `active` once the grace has
// passed (systemd's last word by then), with fewer processes than before the kill
// (the cgroup's, sampled after the grace).
static void checkHalfAlive(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const std::string unit = unitName(svc);
  const double grace = ctx.scenario.expect.half_alive_grace_sec;
  CheckResult c{.name = svc + ".half_alive",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = std::string(*e.half_alive ? "" : "never ") + "half-alive: after a kill " + unit +
                    " is still active " + formatDuration(Seconds(grace)) + " later with fewer processes than before the kill" +
                    (hasClientView(ctx.scenario, svc) ? ", or its clients see it active with its port open and its "
                                                        "requests failing for longer than that"
                                                      : "")};
  const auto events = eventsPerInvocation(ctx, unit);
  const auto samples = ctx.index.samplesOf(unit);
  const double end = ctx.index.endT();
  bool seen = false;
  std::string why_not;
  std::vector<Evidence> why_not_evidence;  // what shows why_not, beyond the kills
  for (const auto* ev : events) {
    why_not_evidence.clear();  // each event that is not half-alive says why; the last one's stands
    // Processes before the kill: the invocation's last sample before it.
    const MemorySample* before = nullptr;
    for (const auto* s : samples)
      if (s->t < ev->t && !s->processes.empty()) {
        const Invocation* inv = ctx.index.invocationAt(unit, s->t, pidsOf(*s));
        if (!inv || ev->InvocationID.empty() || inv->InvocationID == ev->InvocationID) before = s;
      }
    // When did this invocation stop being active after the kill?
    double stopped = end;
    const UnitStateChange* stop_state = nullptr;
    const UnitStateChange* at_grace = ctx.index.lastState(unit, ev->t + grace);  // systemd's last word then
    for (const auto& s : ctx.index.timeline().states) {
      if (s.unit != unit) continue;
      if (s.t < ev->t || s.t >= stopped) continue;
      const bool other = !ev->InvocationID.empty() && !s.InvocationID.empty() && s.InvocationID != ev->InvocationID;
      if (isStopped(s.ActiveState) || other) { stopped = s.t; stop_state = &s; }
    }
    if (stopped - ev->t <= grace) {
      why_not = "the invocation stopped " + formatDuration(Seconds(stopped - ev->t)) + " after the kill";
      // The victim was the invocation's main process: the service ends whatever its
      // OOMPolicy= (docs/oom-policy.md#oompolicy), which no setting here changes.
      const Invocation* inv = ev->InvocationID.empty() ? nullptr : ctx.index.invocation(unit, ev->InvocationID);
      if (inv && inv->main_pid > 0 && inv->main_pid == ev->victim->pid) {
        why_not = "the kernel killed its main process, pid " + std::to_string(inv->main_pid) +
                  " (the invocation's MainPID), and a service whose main process dies ends whatever its OOMPolicy " +
                  "(docs/oom-policy.md#oompolicy): " + why_not;
        const UnitStateChange* named = nullptr;  // systemd's last word before the kill naming it
        for (const auto* s : inv->states)
          if (s->MainPID == inv->main_pid && s->t <= ev->t) named = s;
        if (named) why_not_evidence.push_back(stateEvidence(*named));
        for (const auto* j : ctx.index.journalFor(unit, kMsgUnitProcessExit))
          if (j->INVOCATION_ID == ev->InvocationID && j->t >= ev->t) { why_not_evidence.push_back(journalEvidence(*j)); break; }
      }
      if (stop_state) why_not_evidence.push_back(stateEvidence(*stop_state));
      continue;
    }
    const bool active_then = at_grace && at_grace->ActiveState == "active" &&
                             (ev->InvocationID.empty() || at_grace->InvocationID == ev->InvocationID);
    const MemorySample* after = nullptr;
    for (const auto* s : samples)
      if (s->t > ev->t + grace && s->t < stopped && !s->processes.empty()) { after = s; break; }
    if (!active_then || !after || !before) {
      why_not = !active_then ? "no active state of the killed invocation at the grace's end"
                             : "no sample of its processes before the kill and after the grace";
      continue;
    }
    if (after->processes.size() >= before->processes.size()) {
      why_not = "as many processes after the grace as before the kill";
      continue;
    }
    seen = true;
    c.evidence.push_back(killEvidence(*ev->victim));
    c.evidence.push_back(stateEvidence(*at_grace));
    c.evidence.push_back(Evidence{before->t, kRecordSample, unit, ev->InvocationID, 0,
                                  std::to_string(before->processes.size()) + " process(es) in " + unit +
                                      " before the kill"});
    c.evidence.push_back(Evidence{after->t, kRecordSample, unit, ev->InvocationID, 0,
                                  std::to_string(after->processes.size()) + " process(es) still running in " + unit +
                                      " " + formatDuration(Seconds(after->t - ev->t)) + " after the kill"});
    if (stop_state) c.evidence.push_back(stateEvidence(*stop_state));
    c.observed = unit + " stayed active " + formatDuration(Seconds(stopped - ev->t)) + " after pid " +
                 std::to_string(ev->victim->pid) + " was killed, with " + std::to_string(after->processes.size()) +
                 " of " + std::to_string(before->processes.size()) + " process(es) left";
    break;
  }
  // The clients' view: systemd says active, the port answers, requests fail.
  if (const auto clients = clientHalfAlive(ctx, svc); clients && clients->to - clients->from > grace) {
    if (!seen) c.evidence.push_back(killEvidence(*clients->kill->victim));
    c.evidence.push_back(probeEvidence(*clients->health, unit));
    c.evidence.push_back(probeEvidence(*clients->port, unit));
    c.evidence.push_back(stateEvidence(*clients->active));
    const std::string seen_by_clients =
        "clients saw it half alive for " + formatTenths(clients->to - clients->from) + " from " +
        ctx.since(clients->from) + (clients->ongoing ? " to the end of the run" : "") + " after the kill at " +
        ctx.since(clients->kill->t) + ": probe " +
        clients->health->probe + " failing (" + clients->health->result + ") while probe " + clients->port->probe +
        " connected and systemd showed " + unit + " active";
    c.observed = seen ? c.observed + "; " + seen_by_clients : seen_by_clients;
    seen = true;
  }
  if (!seen) {
    c.observed = events.empty() ? "no OOM kill in " + unit + ctx.notWithinTimeLimit()
                                : "not half-alive after any of " + std::to_string(events.size()) + " kill(s)" +
                                      (why_not.empty() ? "" : ": " + why_not);
    for (const auto* ev : events) c.evidence.push_back(killEvidence(*ev->victim));
    for (auto& ev : why_not_evidence) c.evidence.push_back(std::move(ev));
  }
  if (seen != *e.half_alive) {
    c.outcome = (events.empty() && *e.half_alive) ? ctx.missingKillIn(unit, c) : CheckOutcome::fail;
    const ServiceSpec* spec = ctx.scenario.service(svc);
    const std::string policy = spec ? spec->directive("OOMPolicy").value_or("stop") : "stop";
    if (c.outcome == CheckOutcome::fail)
      c.why = seen ? "OOMPolicy=" + policy + " leaves the unit running after a kill: the surviving processes go on "
                     "without the killed one (docs/kernel-and-systemd.md#oompolicy)"
                   : "OOMPolicy=" + policy + (policy == "continue" ? " keeps the unit running, but " + why_not
                                                                   : " ends the whole invocation after a kill, so no "
                                                                     "process keeps running (docs/kernel-and-systemd.md#oompolicy)");
  }
  out.push_back(std::move(c));
}

// A checkpointed job killed by the OOM killer must resume in its next invocation:
// every process of it logs {"event":"resumed","process":I,"resumed_from":N} under
// that invocation's ID, and N is at least the work it had saved before the kill
// (its RSS one checkpoint interval before the kill, less what is not work).
static void checkResumesFromCheckpoint(const CheckContext& ctx, const std::string& svc,
                                Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const std::string unit = unitName(svc);
  const ServiceSpec* spec = ctx.scenario.service(svc);
  const unsigned processes = spec && spec->load ? spec->load->processes : 1;
  CheckResult c{.name = svc + ".resumes_from_checkpoint",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = std::string("after each kill every process of the next invocation ") +
                    (*e.resumes_from_checkpoint ? "resumes from" : "does not resume from") +
                    " its checkpoint, with at least the progress saved before the kill"};
  const auto events = eventsPerInvocation(ctx, unit);
  const auto samples = ctx.index.samplesOf(unit);
  std::size_t resumed = 0, judged = 0;
  std::vector<std::string> problems;
  for (const auto* ev : events) {
    const Invocation* next = ctx.index.nextInvocation(unit, ev->t, ev->InvocationID);
    const std::string at = "kill at " + ctx.since(ev->t) + ": ";
    if (!next) {
      if (!ctx.time_limit_t) continue;  // the run ended before a new invocation: nothing to judge
      ++judged;
      problems.push_back(at + "no new invocation" + ctx.notWithinTimeLimit());
      c.evidence.push_back(killEvidence(*ev->victim));
      continue;
    }
    ++judged;
    c.evidence.push_back(killEvidence(*ev->victim));
    // Each process's resume, under the next invocation's ID.
    std::map<unsigned, std::pair<std::uint64_t, const JournalRecord*>> resumes;
    for (const auto& j : ctx.index.timeline().journal) {
      if (j.unit != unit || j.INVOCATION_ID != next->InvocationID) continue;
      // The guest's words: any field may be missing or of another type.
      const auto msg = nlohmann::json::parse(j.MESSAGE, nullptr, false);
      if (!msg.is_object() || !msg.contains("event") || msg["event"] != "resumed") continue;
      const auto count = [&](const char* key) -> std::uint64_t {
        return msg.contains(key) && msg[key].is_number_unsigned() ? msg[key].get<std::uint64_t>() : 0;
      };
      const auto process = static_cast<unsigned>(std::min<std::uint64_t>(count("process"), 1u << 16));
      if (!resumes.count(process)) resumes[process] = {count("resumed_from"), &j};
    }
    // What each process held one checkpoint interval before the kill: MainPID is
    // process 0, the children follow in pid order (forked in order).
    std::map<unsigned, std::uint64_t> saved;
    const MemorySample* before = nullptr;
    for (const auto* s : samples)
      if (s->t <= ev->t - kCheckpointIntervalSec && !s->processes.empty()) before = s;
    const Invocation* old = ctx.index.invocation(unit, ev->InvocationID);
    if (before && old) {
      std::vector<const ProcessSample*> children;
      for (const auto& p : before->processes) {
        if (p.pid == old->main_pid) saved[0] = p.rss_bytes;
        else children.push_back(&p);
      }
      std::sort(children.begin(), children.end(), [](auto* a, auto* b) { return a->pid < b->pid; });
      for (std::size_t i = 0; i < children.size(); ++i) saved[static_cast<unsigned>(i + 1)] = children[i]->rss_bytes;
    }
    std::vector<std::string> missing;
    unsigned any = 0;
    for (unsigned i = 0; i < processes; ++i) {
      auto r = resumes.find(i);
      if (r == resumes.end() || r->second.first == 0) {
        missing.push_back("process " + std::to_string(i) + " did not resume");
        continue;
      }
      ++any;
      c.evidence.push_back(journalEvidence(*r->second.second));
      auto s = saved.find(i);
      if (s != saved.end() && r->second.first + kRssNotWorkBytes < s->second)
        missing.push_back("process " + std::to_string(i) + " resumed from " + formatSize(r->second.first) +
                          ", less than the " + formatSize(s->second) + " it held " +
                          formatDuration(Seconds(kCheckpointIntervalSec)) + " before the kill");
    }
    const std::string id = next->InvocationID.substr(0, 8);
    if (*e.resumes_from_checkpoint) {
      if (missing.empty()) ++resumed;
      else for (const auto& m : missing) problems.push_back(at + "in invocation " + id + " " + m);
    } else {
      if (any == 0) ++resumed;  // counted as "did as expected"
      else problems.push_back(at + "invocation " + id + ": " + std::to_string(any) + " process(es) resumed");
    }
  }
  if (judged == 0) {
    c.observed = events.empty() ? "no OOM kill in " + unit + ctx.notWithinTimeLimit() : "no new invocation after the kill";
    c.outcome = events.empty() ? ctx.missingKillIn(unit, c) : CheckOutcome::inconclusive;
  } else {
    c.observed = std::to_string(resumed) + " of " + std::to_string(judged) + " killed invocation(s) " +
                 (*e.resumes_from_checkpoint ? "were followed by every process resuming from the checkpoint"
                                             : "were followed by a fresh start");
    for (const auto& p : problems) c.observed += "; " + p;
    if (resumed != judged) c.outcome = CheckOutcome::fail;
  }
  out.push_back(std::move(c));
}

extern const CheckDef kCheck_Result{
    .name = "Result",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindFailureMayBeALoss,
    .passes_when = "each killed invocation (by InvocationID) ends with that Result. On systemd ≤ 252 a kill "
                   "*after a restart* reported as `signal` is accepted for `oom-kill` and says so; `check` warns "
                   "when a scenario expects such kills",
    .evidence = "the state or `UNIT_FAILURE_RESULT` entry per invocation",
    .judge = checkResult,
};

extern const CheckDef kCheck_restarts{
    .name = "restarts",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindFailureMayBeALoss,
    .passes_when = "the highest NRestarts (states, `N_RESTARTS`) is in range; when too few, `why` quotes the "
                   "Restart= rule (e.g. `Restart=on-abort` does not restart after `oom-kill`) or start-limit-hit",
    .evidence = "state / journal",
    .judge = checkRestarts,
};

extern const CheckDef kCheck_clean_restart{
    .name = "clean_restart",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindFailureMayBeALoss,
    .passes_when = "after each kill: a new InvocationID whose MainPID is new, none of the killed invocation's "
                   "pids in it, `active` (READY=1 for `Type=notify`, the default; with another `Type=` the check "
                   "says it cannot prove the baseline) within RestartSec + `restart_grace`, still active 5 s "
                   "later, no `start-limit-hit`",
    .evidence = "kill, the new invocation's first and active states",
    .judge = checkCleanRestart,
};

extern const CheckDef kCheck_active_at_end{
    .name = "active_at_end",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindFailureMayBeALoss,
    .passes_when = "the unit's last state is (not) `active`",
    .evidence = "last state",
    .judge = checkActiveAtEnd,
};

extern const CheckDef kCheck_resumes_from_checkpoint{
    .name = "resumes_from_checkpoint",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindFailureMayBeALoss,
    .passes_when = "after each kill the *next* invocation (its InvocationID) logs `resumed` for every process "
                   "(0..N-1), each with `resumed_from` at least what that process held one checkpoint interval "
                   "(1 s) before the kill, less 8 MiB that is not work",
    .evidence = "oomstress's journal lines",
    .judge = checkResumesFromCheckpoint,
};

extern const CheckDef kCheck_half_alive{
    .name = "half_alive",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindFailureMayBeALoss,
    .passes_when = "half-alive is seen (or, with `false`, never seen): after a kill, systemd's last state by kill + "
                   "`half_alive_grace` is `active` for the killed invocation and a sample after the grace shows "
                   "fewer processes than the last sample before the kill; or, with a port (tcp) and a health (http, "
                   "command) probe of the service, the health probe fails while the port probe succeeds and "
                   "systemd shows the unit active, for longer than `half_alive_grace`",
    .evidence = "kill, that state, both samples; the failed health and successful port attempts",
    .judge = checkHalfAlive,
};

}  // namespace oom
