// Runs every check and combines them into one verdict.
#include <algorithm>
#include <map>

#include "check_context.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

// Memory growth that counts as "pressure happened" when no kill was seen.
constexpr std::uint64_t kPressureGrowthBytes = 32 * MiB;

bool pressureObserved(const TimelineIndex& index, std::vector<Evidence>& why) {
  const Timeline& t = index.timeline();
  if (!t.kills.empty()) {
    why.push_back(killEvidence(t.kills.front()));
    return true;
  }
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> range;  // unit -> first, max
  for (const auto& s : t.samples) {
    auto [it, fresh] = range.try_emplace(s.unit, s.memory_current, s.memory_current);
    if (!fresh) it->second.second = std::max(it->second.second, s.memory_current);
    for (const char* event : {"max", "oom", "oom_kill"}) {
      auto e = s.memory_events.find(event);
      if (e != s.memory_events.end() && e->second > 0) {
        why.push_back(Evidence{s.t, kRecordSample, s.unit, "", 0,
                               std::string("memory.events ") + event + " " + std::to_string(e->second)});
        return true;
      }
    }
  }
  for (const auto& [unit, r] : range)
    if (r.second >= r.first + kPressureGrowthBytes) {
      why.push_back(Evidence{-1, kRecordSample, unit, "", 0,
                             "memory.current grew from " + formatSize(r.first) + " to " + formatSize(r.second)});
      return true;
    }
  return false;
}

CheckResult checkSetup(const Scenario& s, const TimelineIndex& index) {
  CheckResult c{"setup", "", CheckOutcome::pass, "every unit started with the settings the scenario asked for", "", {}};
  std::size_t verified = 0;
  for (const auto& u : index.timeline().setup) {
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

}  // namespace

Verdict evaluate(const Scenario& scenario, const Timeline& timeline) {
  const TimelineIndex index(timeline);
  Verdict v;
  v.pressure_t = index.pressureT();
  std::vector<Evidence> pressure_why;
  const CheckContext ctx{scenario, index, pressureObserved(index, pressure_why)};

  Checks& checks = v.checks;
  checkFirstKilled(ctx, checks);
  checkKillOrder(ctx, checks);
  checkNeverKilled(ctx, checks);
  for (const auto& [svc, e] : scenario.expect.units) {
    checkOomKills(ctx, svc, e, checks);
    checkConstraint(ctx, svc, e, checks);
    checkResult(ctx, svc, e, checks);
    checkRestarts(ctx, svc, e, checks);
    checkCleanRestart(ctx, svc, e, checks);
    checkActiveAtEnd(ctx, svc, e, checks);
    checkResumesFromCheckpoint(ctx, svc, e, checks);
    checkHalfAlive(ctx, svc, e, checks);
  }
  const CheckResult setup = checkSetup(scenario, index);
  checks.push_back(setup);
  CheckResult complete{"timeline_complete", "", CheckOutcome::pass, "the guest sent its end record", "", {}};
  if (timeline.complete) {
    complete.observed = "end record received, guest status " + std::to_string(timeline.guest_status);
  } else {
    complete.outcome = CheckOutcome::inconclusive;
    complete.observed = "no end record: the guest died or hung; the timeline stops at " +
                        formatDuration(Seconds(index.endT()));
  }
  checks.push_back(complete);
  crossCheckKernelAndSystemd(ctx, checks);
  noteUnexpectedKills(ctx, checks);

  auto count = [&](CheckOutcome o) {
    return std::count_if(checks.begin(), checks.end(), [&](const CheckResult& c) { return c.outcome == o; });
  };
  if (setup.outcome != CheckOutcome::pass) {
    v.verdict = VerdictKind::inconclusive;
    v.reason = "setup error: " + setup.observed;
  } else if (!timeline.complete) {
    v.verdict = VerdictKind::inconclusive;
    v.reason = "timeline incomplete: " + complete.observed;
  } else if (count(CheckOutcome::fail) > 0) {
    v.verdict = VerdictKind::fail;
    v.reason = std::to_string(count(CheckOutcome::fail)) + " expectation(s) failed";
  } else if (count(CheckOutcome::inconclusive) > 0) {
    v.verdict = VerdictKind::inconclusive;
    v.reason = ctx.pressure_observed
                   ? std::to_string(count(CheckOutcome::inconclusive)) + " check(s) could not be decided"
                   : "no pressure happened: no kill, no memory.events max/oom, no memory growth of " +
                         formatSize(kPressureGrowthBytes) + " in any unit";
  } else {
    v.verdict = VerdictKind::pass;
    v.reason = "every expectation held";
  }
  return v;
}

const char* toString(CheckOutcome o) {
  switch (o) {
    case CheckOutcome::pass: return "PASS";
    case CheckOutcome::fail: return "FAIL";
    case CheckOutcome::inconclusive: return "INCONCLUSIVE";
    case CheckOutcome::note: return "NOTE";
  }
  return "?";
}

const char* toString(VerdictKind v) {
  switch (v) {
    case VerdictKind::pass: return "pass";
    case VerdictKind::fail: return "fail";
    case VerdictKind::inconclusive: return "inconclusive";
  }
  return "?";
}

}  // namespace oom
