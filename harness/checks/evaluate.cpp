// Runs every check and combines them into one verdict. A PASS has to be earned:
// every expectation held, pressure was proven after the pressure phase, the
// observer saw the decisive moments, and every kill is accounted for.
#include <algorithm>
#include <cstdio>

#include "check_context.hpp"
#include "oom/units.hpp"
#include "systemd/restart_rules.hpp"

namespace oom {
namespace {

CheckResult checkSetup(const Scenario& s, const TimelineIndex& index) {
  CheckResult c{.name = "setup",
                .outcome = CheckOutcome::pass,
                .expected = "every unit started with the settings the scenario asked for"};
  std::size_t verified = 0;
  for (const auto& u : index.timeline().setup) {
    if (u.killed_before_check > 0)
      c.evidence.push_back(Evidence{u.t, "setup", u.unit, "", 0,
                                    std::to_string(u.killed_before_check) + " process(es) already OOM-killed when " +
                                        "checked; their oom_score_adj taken from the kernel's kill lines"});
    // A unit from real files: the merged values systemd confirmed, each with its file and line.
    if (!u.effective.empty()) {
      std::string merged;
      for (const auto& e : u.effective) merged += (merged.empty() ? "" : "; ") + e;
      c.evidence.push_back(Evidence{u.t, "setup", u.unit, "", 0, "from unit files, as merged: " + merged});
    }
    for (const auto& stub : u.stubs) c.evidence.push_back(Evidence{u.t, "setup", u.unit, "", 0, stub});
    if (u.mismatches.empty()) { ++verified; continue; }
    c.outcome = CheckOutcome::inconclusive;
    for (const auto& m : u.mismatches) c.evidence.push_back(Evidence{u.t, "setup", u.unit, "", 0, m});
  }
  for (const auto& p : index.timeline().phases)
    if (p.name == kPhaseSetupFailed) {
      c.outcome = CheckOutcome::inconclusive;
      c.evidence.push_back(Evidence{p.t, kRecordPhase, "", "", 0, std::string(kPhaseSetupFailed) + ": " + p.detail});
    }
  std::vector<std::string> missing;
  for (const auto& svc : s.services)
    if (!index.setupOf(unitName(svc.name))) missing.push_back(unitName(svc.name));
  if (c.outcome == CheckOutcome::inconclusive) {
    c.observed = "settings not applied as written: the run did not test this scenario";
  } else if (!missing.empty() && !index.timeline().setup.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "no setup record for";
    for (const auto& m : missing) c.observed += " " + m;
  } else {
    c.observed = std::to_string(verified) + " unit(s) verified";
  }
  return c;
}

CheckResult checkComplete(const CheckContext& ctx) {
  const Timeline& t = ctx.index.timeline();
  CheckResult c{.name = "timeline_complete",
                .outcome = CheckOutcome::pass,
                .expected = "the guest sent its end record (after the settled or time_limit phase)"};
  if (!t.complete) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "no end record: the guest died or hung; the timeline stops at " + ctx.since(ctx.index.endT());
    return c;
  }
  c.observed = "end record received, guest status " + std::to_string(t.guest_status);
  if (ctx.time_limit_t) {
    c.observed += "; the run reached its time_limit (" + formatDuration(Seconds(ctx.scenario.time_limit_sec)) +
                  ") at " + ctx.since(*ctx.time_limit_t);
    c.evidence.push_back(Evidence{*ctx.time_limit_t, kRecordPhase, "", "", 0, kPhaseTimeLimit});
  } else if (auto settled = ctx.index.phaseT(kPhaseSettled)) {
    c.observed += "; settled at " + ctx.since(*settled);
    c.evidence.push_back(Evidence{*settled, kRecordPhase, "", "", 0, kPhaseSettled});
  }
  return c;
}

}  // namespace

std::string CheckContext::notWithinTimeLimit() const {
  if (!time_limit_t) return "";
  return " (not within time_limit " + formatDuration(Seconds(scenario.time_limit_sec)) + ": the run reached it at " +
         since(*time_limit_t) + ")";
}

std::string CheckContext::since(double t) const { return formatSince(t, index.pressureT()); }

Verdict evaluate(const Scenario& scenario, const Timeline& timeline) {
  const TimelineIndex index(timeline);
  Verdict v;
  v.pressure_t = index.pressureT();
  CheckContext ctx{scenario, index, provePressure(scenario, index), assessLoad(scenario, index),
                   index.phaseT(kPhaseTimeLimit), systemdMajor(timeline.guest.systemd_version), blindSpots(index)};

  Checks& checks = v.checks;
  checkFirstKilled(ctx, checks);
  checkKillOrder(ctx, checks);
  checkNeverKilled(ctx, checks);
  checkMaxStall(ctx, checks);
  checkTimeToKill(ctx, checks);
  for (const auto& [svc, e] : scenario.expect.units) {
    checkOomKills(ctx, svc, e, checks);
    checkConstraint(ctx, svc, e, checks);
    checkKilledBy(ctx, svc, e, checks);
    checkThrottledNotKilled(ctx, svc, e, checks);
    checkResult(ctx, svc, e, checks);
    checkRestarts(ctx, svc, e, checks);
    checkCleanRestart(ctx, svc, e, checks);
    checkActiveAtEnd(ctx, svc, e, checks);
    checkResumesFromCheckpoint(ctx, svc, e, checks);
    checkHalfAlive(ctx, svc, e, checks);
  }
  const std::size_t expectations = checks.size();
  checkCollateral(ctx, checks);
  applyBlindness(ctx, checks);

  const CheckResult setup = checkSetup(scenario, index);
  checks.push_back(setup);
  const CheckResult complete = checkComplete(ctx);
  checks.push_back(complete);
  const CheckResult pressure = pressureCheck(ctx);
  checks.push_back(pressure);
  checks.push_back(observationCheck(ctx));
  checkWitnesses(ctx, checks);
  const CheckResult load = loadFidelityCheck(ctx);
  checks.push_back(load);
  noteUnexpectedKills(ctx, checks);

  auto named = [&](CheckOutcome o) {
    std::vector<std::string> names;
    for (const auto& c : checks)
      if (c.outcome == o) names.push_back(c.name + (c.name == "never_killed" ? " " + c.unit : ""));
    return names;
  };
  auto list = [](const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size() && i < 4; ++i) s += (i ? ", " : "") + names[i];
    if (names.size() > 4) s += " and " + std::to_string(names.size() - 4) + " more";
    return s;
  };
  const auto failed = named(CheckOutcome::fail), undecided = named(CheckOutcome::inconclusive);
  if (setup.outcome != CheckOutcome::pass) {
    v.verdict = VerdictKind::inconclusive;
    v.reason = "setup error: " + setup.observed;
  } else if (!timeline.complete) {
    v.verdict = VerdictKind::inconclusive;
    v.reason = "timeline incomplete: " + complete.observed;
  } else if (expectations == 0) {
    v.verdict = VerdictKind::inconclusive;
    v.reason = "the scenario names no expectation: nothing was tested";
  } else if (!failed.empty()) {
    v.verdict = VerdictKind::fail;
    v.reason = std::to_string(failed.size()) + " check(s) failed: " + list(failed);
    if (ctx.time_limit_t) v.reason += "; the run reached its time_limit";
  } else if (pressure.outcome != CheckOutcome::pass) {
    v.verdict = VerdictKind::inconclusive;
    v.reason = "no pressure proven: " + pressure.observed;
  } else if (!undecided.empty()) {
    v.verdict = VerdictKind::inconclusive;
    v.reason = std::to_string(undecided.size()) + " check(s) could not be decided: " + list(undecided);
    if (load.outcome == CheckOutcome::inconclusive) v.reason += " (the guest could not deliver the load)";
  } else {
    v.verdict = VerdictKind::pass;
    v.reason = "every expectation held, with pressure proven by " +
               (ctx.pressure.evidence.empty() ? std::string("?") : ctx.pressure.evidence.front().source) + " evidence";
  }
  return v;
}

namespace {

const CheckOutcomeName& entryOf(CheckOutcome o) {
  for (const auto& e : kCheckOutcomeNames)
    if (e.outcome == o) return e;
  return kCheckOutcomeNames.front();  // unreachable: the table lists every enumerator
}

// `what` j: expected "a", "b" or "c", the names listed from the table itself.
[[noreturn]] void throwUnknownName(const nlohmann::json& j, const char* what,
                                   const std::vector<const char*>& names) {
  std::string expected;
  for (std::size_t i = 0; i < names.size(); ++i)
    expected += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + "\"" + names[i] + "\"";
  throw nlohmann::json::other_error::create(501, std::string(what) + " " + j.dump() + ": expected " + expected, &j);
}

}  // namespace

const char* outcomeName(CheckOutcome o) { return entryOf(o).name; }
const char* toString(CheckOutcome o) { return entryOf(o).label; }

const char* toString(VerdictKind v) {
  for (const auto& [kind, name] : kVerdictNames)
    if (kind == v) return name;
  return "?";
}

void to_json(nlohmann::json& j, CheckOutcome o) { j = outcomeName(o); }
void from_json(const nlohmann::json& j, CheckOutcome& o) {
  for (const auto& e : kCheckOutcomeNames)
    if (j == e.name) {
      o = e.outcome;
      return;
    }
  std::vector<const char*> names;
  for (const auto& e : kCheckOutcomeNames) names.push_back(e.name);
  throwUnknownName(j, "outcome", names);
}

void to_json(nlohmann::json& j, VerdictKind v) { j = toString(v); }
void from_json(const nlohmann::json& j, VerdictKind& v) {
  for (const auto& [kind, name] : kVerdictNames)
    if (j == name) {
      v = kind;
      return;
    }
  std::vector<const char*> names;
  for (const auto& [kind, name] : kVerdictNames) names.push_back(name);
  throwUnknownName(j, "verdict", names);
}

}  // namespace oom
