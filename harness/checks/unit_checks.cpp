// Checks about systemd's reaction to a kill: Result, restarts, clean restart,
// state at the end, half-alive units; and whether systemd saw what the kernel did.
#include <algorithm>
#include <set>

#include "check_context.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

bool isStopped(const std::string& s) { return s == "deactivating" || s == "inactive" || s == "failed"; }

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
std::pair<std::string, std::optional<Evidence>> resultOf(const CheckContext& ctx, const OomEvent& e) {
  if (const Invocation* inv = ctx.index.invocation(e.unit, e.InvocationID)) {
    // The first verdict systemd gave after the kill (a later start-limit-hit is another story).
    for (const auto* s : inv->states)
      if (s->t >= e.t - 0.5 && !s->Result.empty() && s->Result != "success") return {s->Result, stateEvidence(*s)};
  }
  for (const auto* j : ctx.index.journalFor(e.unit, kMsgUnitFailureResult)) {
    const bool same = !e.InvocationID.empty() && j->INVOCATION_ID == e.InvocationID;
    const bool near = j->INVOCATION_ID.empty() && j->t >= e.t && j->t <= e.t + 30;
    auto r = j->fields.find("UNIT_RESULT");
    if ((same || near) && r != j->fields.end()) return {r->second, journalEvidence(*j)};
  }
  return {"", std::nullopt};
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

}  // namespace

void checkResult(const CheckContext& ctx, const std::string& svc, const UnitExpectation& e, Checks& out) {
  if (!e.Result) return;
  const std::string unit = unitName(svc);
  CheckResult c{svc + ".Result", svc, CheckOutcome::pass,
                "each OOM-killed invocation of " + unit + " ends with Result=" + *e.Result, "", {}};
  const auto events = eventsPerInvocation(ctx, unit);
  std::vector<std::string> results;
  for (const auto* ev : events) {
    auto [result, evidence] = resultOf(ctx, *ev);
    c.evidence.push_back(killEvidence(*ev->victim));
    if (evidence) c.evidence.push_back(*evidence);
    results.push_back(result.empty() ? "(none reported)" : result);
    if (result != *e.Result) c.outcome = CheckOutcome::fail;
  }
  if (events.empty()) {
    c.outcome = ctx.missingKill();
    c.observed = "no OOM kill in " + unit;
  } else {
    for (const auto& r : results) c.observed += (c.observed.empty() ? "Result=" : ", ") + r;
  }
  out.push_back(std::move(c));
}

void checkRestarts(const CheckContext& ctx, const std::string& svc, const UnitExpectation& e, Checks& out) {
  if (!e.restarts) return;
  const std::string unit = unitName(svc);
  CheckResult c{svc + ".restarts", svc, CheckOutcome::pass, "NRestarts of " + unit + ": " + e.restarts->str(), "", {}};
  std::uint64_t n = 0;
  const UnitStateChange* top = nullptr;
  for (const auto& s : ctx.index.timeline().states)
    if (s.unit == unit && (!top || s.NRestarts > top->NRestarts)) top = &s;
  if (top) {
    n = top->NRestarts;
    c.evidence.push_back(stateEvidence(*top));
  }
  for (const auto* j : ctx.index.journalFor(unit, kMsgUnitRestartScheduled)) {
    auto f = j->fields.find("N_RESTARTS");
    if (f == j->fields.end()) continue;
    const auto v = leadingNumber<std::uint64_t>(f->second).value_or(0);
    if (v > n || !top) {
      n = std::max<std::uint64_t>(n, v);
      c.evidence.push_back(journalEvidence(*j));
    }
  }
  c.observed = "NRestarts=" + std::to_string(n);
  if (!top && ctx.index.journalFor(unit, kMsgUnitRestartScheduled).empty()) c.observed += " (no state change recorded)";
  if (!e.restarts->contains(n))
    c.outcome = n == 0 && !ctx.pressure_observed ? CheckOutcome::inconclusive : CheckOutcome::fail;
  out.push_back(std::move(c));
}

void checkCleanRestart(const CheckContext& ctx, const std::string& svc, const UnitExpectation& e, Checks& out) {
  if (!e.clean_restart) return;
  const std::string unit = unitName(svc);
  const double grace = ctx.scenario.expect.restart_grace_sec;
  const double restart_sec = restartSecOf(ctx, svc);
  CheckResult c{svc + ".clean_restart", svc, CheckOutcome::pass,
                std::string(*e.clean_restart ? "" : "not ") +
                    "a clean restart after each kill: old processes gone, new InvocationID, active within RestartSec " +
                    formatDuration(Seconds(restart_sec)) + " + " + formatDuration(Seconds(grace)) +
                    ", no start-limit-hit",
                "", {}};
  std::vector<std::string> problems;
  if (startLimitHit(ctx, unit, c.evidence)) problems.push_back("start limit hit (Result=start-limit-hit)");
  const auto events = eventsPerInvocation(ctx, unit);
  const auto invocations = ctx.index.invocationsOf(unit);
  std::size_t judged = 0;
  for (const auto* ev : events) {
    const double deadline = ev->t + restart_sec + grace;
    const Invocation* next = nullptr;
    for (const auto* inv : invocations)
      if (inv->first_t > ev->t && inv->InvocationID != ev->InvocationID) { next = inv; break; }
    if (!next && deadline > ctx.index.endT()) continue;  // the run ended first: cannot judge
    ++judged;
    c.evidence.push_back(killEvidence(*ev->victim));
    const std::string at = "kill at " + formatDuration(Seconds(ev->t - ctx.index.pressureT())) + ": ";
    if (!next) {
      problems.push_back(at + "no new InvocationID afterwards");
      continue;
    }
    if (!next->states.empty()) c.evidence.push_back(stateEvidence(*next->states.front()));
    if (!next->active_t || *next->active_t > deadline)
      problems.push_back(at + "new invocation " + next->InvocationID + " not active by " +
                         formatDuration(Seconds(restart_sec + grace)) + " after the kill");
    else if (!next->states.empty()) {
      for (const auto* s : next->states)
        if (s->ActiveState == "active") { c.evidence.push_back(stateEvidence(*s)); break; }
    }
    if (const Invocation* old = ctx.index.invocation(unit, ev->InvocationID)) {
      std::set<int> next_pids;
      for (const auto* s : next->states) next_pids.insert(s->pids.begin(), s->pids.end());
      std::string leftover;
      for (int pid : old->pids)
        if (next_pids.count(pid)) leftover += (leftover.empty() ? "" : ",") + std::to_string(pid);
      if (!leftover.empty())
        problems.push_back(at + "pids of the old invocation still present: " + leftover);
    }
  }
  bool clean = problems.empty();
  if (events.empty()) {
    c.outcome = ctx.missingKill();
    c.observed = "no OOM kill in " + unit + ", so no restart to judge";
  } else if (judged == 0 && problems.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "the run ended before RestartSec + grace after the kill";
  } else {
    c.observed = clean ? "clean restart after " + std::to_string(judged) + " kill(s)" : problems.front();
    for (std::size_t i = 1; i < problems.size(); ++i) c.observed += "; " + problems[i];
    if (clean != *e.clean_restart) c.outcome = CheckOutcome::fail;
  }
  out.push_back(std::move(c));
}

void checkActiveAtEnd(const CheckContext& ctx, const std::string& svc, const UnitExpectation& e, Checks& out) {
  if (!e.active_at_end) return;
  const std::string unit = unitName(svc);
  CheckResult c{svc + ".active_at_end", svc, CheckOutcome::pass,
                unit + (*e.active_at_end ? " is" : " is not") + " active at the end", "", {}};
  bool active = false;
  if (const UnitStateChange* last = ctx.index.lastState(unit)) {
    active = last->ActiveState == "active";
    c.evidence.push_back(stateEvidence(*last));
    c.observed = last->ActiveState + "/" + last->SubState;
  } else if (const UnitSetup* setup = ctx.index.setupOf(unit)) {
    active = true;  // started and verified, and no change was seen afterwards
    c.evidence.push_back(Evidence{setup->t, "setup", unit, "", 0, "started; no state change afterwards"});
    c.observed = "active (no state change after setup)";
  } else {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "no record of " + unit + " at all";
    out.push_back(std::move(c));
    return;
  }
  if (active != *e.active_at_end) c.outcome = CheckOutcome::fail;
  out.push_back(std::move(c));
}

void checkHalfAlive(const CheckContext& ctx, const std::string& svc, const UnitExpectation& e, Checks& out) {
  if (!e.half_alive) return;
  const std::string unit = unitName(svc);
  const double grace = ctx.scenario.expect.half_alive_grace_sec;
  CheckResult c{svc + ".half_alive", svc, CheckOutcome::pass,
                std::string(*e.half_alive ? "" : "never ") + "half-alive: some processes killed while " +
                    unit + " stays active for more than " + formatDuration(Seconds(grace)),
                "", {}};
  const auto events = eventsPerInvocation(ctx, unit);
  const double end = ctx.index.endT();
  bool seen = false;
  for (const auto* ev : events) {
    // When did this invocation stop being active after the kill?
    double stopped = end;
    const UnitStateChange* stop_state = nullptr;
    for (const auto& s : ctx.index.timeline().states) {
      if (s.unit != unit || s.t < ev->t || s.t >= stopped) continue;
      const bool other = !ev->InvocationID.empty() && !s.InvocationID.empty() && s.InvocationID != ev->InvocationID;
      if (isStopped(s.ActiveState) || other) { stopped = s.t; stop_state = &s; }
    }
    if (stopped - ev->t <= grace) continue;
    // Processes left running in the unit after the kill, as sampled.
    const MemorySample* remaining = nullptr;
    for (const auto& s : ctx.index.timeline().samples)
      if (s.unit == unit && s.t > ev->t + grace && s.t < stopped && !s.processes.empty()) { remaining = &s; break; }
    const bool sampled = std::any_of(ctx.index.timeline().samples.begin(), ctx.index.timeline().samples.end(),
                                     [&](const MemorySample& s) { return s.unit == unit; });
    if (sampled && !remaining) continue;
    seen = true;
    c.evidence.push_back(killEvidence(*ev->victim));
    if (remaining)
      c.evidence.push_back(Evidence{remaining->t, kRecordSample, unit, ev->InvocationID, 0,
                                    std::to_string(remaining->processes.size()) +
                                        " process(es) still running in " + unit + " " +
                                        formatDuration(Seconds(remaining->t - ev->t)) + " after the kill"});
    if (stop_state) c.evidence.push_back(stateEvidence(*stop_state));
    c.observed = unit + " stayed active " + formatDuration(Seconds(stopped - ev->t)) +
                 " after pid " + std::to_string(ev->victim->pid) + " was killed" +
                 (remaining ? ", with " + std::to_string(remaining->processes.size()) + " process(es) left" : "");
    break;
  }
  if (!seen) {
    c.observed = events.empty() ? "no OOM kill in " + unit
                                : "after each of " + std::to_string(events.size()) +
                                      " kill(s) the invocation stopped within the grace";
    for (const auto* ev : events) c.evidence.push_back(killEvidence(*ev->victim));
  }
  if (seen != *e.half_alive) c.outcome = (events.empty() && *e.half_alive) ? ctx.missingKill() : CheckOutcome::fail;
  out.push_back(std::move(c));
}

// A checkpointed job killed by the OOM killer must resume in its next invocation:
// oomstress logs {"event":"resumed","resumed_from":N} there, and N > 0 proves the
// work done before the kill was kept.
void checkResumesFromCheckpoint(const CheckContext& ctx, const std::string& svc, const UnitExpectation& e,
                                Checks& out) {
  if (!e.resumes_from_checkpoint) return;
  const std::string unit = unitName(svc);
  CheckResult c{svc + ".resumes_from_checkpoint", svc, CheckOutcome::pass,
                std::string("after each kill the next invocation ") +
                    (*e.resumes_from_checkpoint ? "resumes from" : "does not resume from") + " its checkpoint",
                "", {}};
  const auto events = eventsPerInvocation(ctx, unit);
  std::size_t resumed = 0, judged = 0;
  for (const auto* ev : events) {
    // systemd's word that a new invocation started after the kill.
    const auto& states = ctx.index.timeline().states;
    const bool restarted = std::any_of(states.begin(), states.end(), [&](const UnitStateChange& s) {
      return s.unit == unit && s.t > ev->t && !s.InvocationID.empty() && s.InvocationID != ev->InvocationID;
    });
    if (!restarted) continue;  // the run ended before a new invocation: nothing to judge
    const JournalRecord* proof = nullptr;
    for (const auto& j : ctx.index.timeline().journal) {
      if (j.unit != unit || j.t <= ev->t || (!ev->InvocationID.empty() && j.INVOCATION_ID == ev->InvocationID))
        continue;
      const auto msg = nlohmann::json::parse(j.MESSAGE, nullptr, false);
      if (!msg.is_object()) continue;
      if (msg.value("event", "") == "resumed" && msg.value("resumed_from", 0ull) > 0) {
        proof = &j;
        break;
      }
    }
    ++judged;
    c.evidence.push_back(killEvidence(*ev->victim));
    if (proof) {
      ++resumed;
      c.evidence.push_back(journalEvidence(*proof));
    }
  }
  if (judged == 0) {
    c.outcome = events.empty() ? ctx.missingKill() : CheckOutcome::inconclusive;
    c.observed = events.empty() ? "no OOM kill in " + unit : "no new invocation after the kill";
  } else {
    c.observed = std::to_string(resumed) + " of " + std::to_string(judged) +
                 " killed invocation(s) were followed by a resume from the checkpoint";
    const bool all = resumed == judged, none = resumed == 0;
    if ((*e.resumes_from_checkpoint && !all) || (!*e.resumes_from_checkpoint && !none)) c.outcome = CheckOutcome::fail;
  }
  out.push_back(std::move(c));
}

// Each kernel kill in a unit should be matched by systemd reporting an OOM for
// that unit, and the other way round. Disagreements are notes with both sides.
void crossCheckKernelAndSystemd(const CheckContext& ctx, Checks& out) {
  CheckResult c{"kernel_vs_systemd", "", CheckOutcome::pass,
                "every kernel OOM kill in a unit is reported by systemd for that unit (and vice versa)", "", {}};
  std::vector<std::string> disagreements;
  std::size_t matched = 0;
  for (const auto& ev : ctx.index.events()) {
    if (ev.unit.empty()) continue;
    const JournalRecord* seen = nullptr;
    for (const auto* j : ctx.index.journalFor(ev.unit, kMsgUnitOutOfMemory))
      if ((!ev.InvocationID.empty() && j->INVOCATION_ID == ev.InvocationID && j->t >= ev.t - 1) ||
          (j->t >= ev.t - 1 && j->t <= ev.t + 15)) { seen = j; break; }
    const Invocation* inv = ctx.index.invocation(ev.unit, ev.InvocationID);
    if (seen || (inv && inv->result == "oom-kill")) {
      ++matched;
      continue;
    }
    disagreements.push_back("kernel killed pid " + std::to_string(ev.victim->pid) + " in " + ev.unit +
                            " but systemd reported no OOM for it");
    c.evidence.push_back(killEvidence(*ev.victim));
    c.evidence.push_back(Evidence{ev.t, kRecordJournal, ev.unit, ev.InvocationID, 0,
                                  "systemd side: no MESSAGE_ID=" + std::string(kMsgUnitOutOfMemory) +
                                      " and no Result=oom-kill for this invocation"});
  }
  for (const auto& j : ctx.index.timeline().journal) {
    if (j.MESSAGE_ID != kMsgUnitOutOfMemory) continue;
    const bool kernel = std::any_of(ctx.index.events().begin(), ctx.index.events().end(), [&](const OomEvent& e) {
      return e.unit == j.unit && j.t >= e.t - 1 && j.t <= e.t + 15;
    });
    if (kernel) continue;
    disagreements.push_back("systemd reported an OOM kill in " + j.unit + " that the kernel log does not show");
    c.evidence.push_back(journalEvidence(j));
    c.evidence.push_back(Evidence{j.t, "kernel", j.unit, j.INVOCATION_ID, 0,
                                  "kernel side: no \"Killed process\" in this unit within 15s"});
  }
  if (matched == 0 && disagreements.empty()) return;  // nothing to compare
  if (disagreements.empty()) {
    c.observed = "systemd reported each of the " + std::to_string(matched) + " kill(s)";
  } else {
    c.outcome = CheckOutcome::note;
    c.observed = disagreements.front();
    for (std::size_t i = 1; i < disagreements.size(); ++i) c.observed += "; " + disagreements[i];
  }
  out.push_back(std::move(c));
}

}  // namespace oom
