// Runs every check and combines them into one verdict. A PASS has to be earned:
// every expectation held, pressure was proven after the pressure phase, the
// observer saw the decisive moments, and every kill is accounted for.
#include <algorithm>
#include <cstdio>

#include "check_context.hpp"
#include "checks/binding.hpp"
#include "oom/units.hpp"
#include "guest/containers.hpp"
#include "guest/setup_check.hpp"
#include "plan/planner.hpp"
#include "scenario/lint.hpp"
#include "systemd/restart_rules.hpp"

namespace oom {
namespace {

// A start job that failed ("<unit>: start job ended with result 'failed'"): the unit never
// became ready (READY=1 for Type=notify). What the records show of why: a kill while it
// was starting (systemd-oomd's or the kernel's), and a baseline the scenario put above
// the unit's own limit. nullopt for any other setup failure.
std::optional<std::string> neverReady(const Scenario& s, const TimelineIndex& index, const Phase& failed,
                                      std::vector<Evidence>& evidence) {
  const auto colon = failed.detail.find(": start job ");
  if (colon == std::string::npos) return std::nullopt;
  const std::string unit = failed.detail.substr(0, colon);
  std::string text = unit + " never became ready (" + failed.detail.substr(colon + 2) + ")";
  std::vector<Evidence> kills;
  for (const auto* k : index.oomdKillsIn(unit))
    if (k->t <= failed.t + 1) kills.push_back(oomdKillEvidence(*k));
  for (const auto* e : index.eventsIn(unit))
    if (e->t <= failed.t + 1) kills.push_back(killEvidence(*e->victim));
  std::sort(kills.begin(), kills.end(), [](const Evidence& a, const Evidence& b) { return a.t < b.t; });
  if (!kills.empty()) {
    text += ": killed while starting by " + std::string(kills.front().source == "kernel" ? "the kernel" : "systemd-oomd") +
            " (" + kills.front().text + ")";
    evidence.insert(evidence.end(), kills.begin(), kills.end());
  }
  for (const auto& svc : s.services)
    if (unitName(svc.name) == unit)
      if (const auto over = loadAboveOwnLimit(svc))
        text += "; its " + over->text + ": it could not reach its baseline there. Start small and leak instead";
  return text + ". The run did not reach the pressure";
}

CheckResult checkSetup(const Scenario& s, const TimelineIndex& index) {
  CheckResult c{.name = "setup",
                .outcome = CheckOutcome::pass,
                .expected = "every unit started with the settings the scenario asked for"};
  std::size_t verified = 0;
  std::optional<Evidence> first_problem;  // what the observed line quotes
  const auto plan = makeGuestPlan(s);
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
    std::vector<std::string> mismatches = u.mismatches;
    if (mismatches.empty() && plan)
      for (const auto& planned : plan->units)
        if (planned.unit == u.unit)
          // The host's own comparison (each D-Bus value, each process's oom_score_adj), by the
          // guest's rules: a guest that reports no mismatch is not taken at its word.
          for (auto& d : settingDifferences(planned, u)) mismatches.push_back("the host finds " + std::move(d.detail));
    // A unit that runs a container: Podman's and the kernel's view of it, judged here too.
    if (mismatches.empty() && plan)
      for (const auto& planned : plan->units) {
        if (planned.unit != u.unit || !planned.inContainer()) continue;
        bool seen = false;
        for (const auto& rec : index.timeline().containers) {
          if (rec.unit != u.unit || rec.when != kContainerAtSetup) continue;
          seen = true;
          c.evidence.push_back(Evidence{rec.t, kRecordContainer, u.unit, "", rec.pid, containerSetupText(rec)});
          for (auto& m : containerMismatches(planned.container, rec)) mismatches.push_back("the host finds " + m);
        }
        if (!seen) mismatches.push_back("no container record of " + u.unit + " before the pressure");
        // A Quadlet unit: the one the generator wrote from the file the plan installed.
        if (planned.fromQuadlet()) {
          const std::string from = writtenByQuadletFrom(planned.files.files.front().guest_path);
          if (std::none_of(u.unit_files.begin(), u.unit_files.end(),
                           [&](const std::string& f) { return f.find(from) != std::string::npos; }))
            mismatches.push_back("the host finds no unit of " + u.unit + " " + from + " in the guest's setup record");
        }
      }
    if (mismatches.empty()) { ++verified; continue; }
    c.outcome = CheckOutcome::inconclusive;
    for (const auto& m : mismatches) c.evidence.push_back(Evidence{u.t, "setup", u.unit, "", 0, m});
    if (!first_problem) first_problem = Evidence{u.t, "setup", u.unit, "", 0, mismatches.front()};
  }
  std::optional<std::string> never_ready;  // a unit whose start job failed, and why, as the records show
  for (const auto& p : index.timeline().phases)
    if (p.name == kPhaseSetupFailed) {
      c.outcome = CheckOutcome::inconclusive;
      c.evidence.push_back(Evidence{p.t, kRecordPhase, "", "", 0, std::string(kPhaseSetupFailed) + ": " + p.detail});
      if (!first_problem) first_problem = c.evidence.back();
      if (!never_ready) never_ready = neverReady(s, index, p, c.evidence);
    }
  std::vector<std::string> missing;
  for (const auto& svc : s.services)
    if (!index.setupOf(unitName(svc.name))) missing.push_back(unitName(svc.name));
  if (never_ready) {
    c.observed = *never_ready;
  } else if (c.outcome == CheckOutcome::inconclusive) {
    c.observed = "settings not applied as written: the run did not test this scenario";
    if (first_problem)  // so the line itself says what
      c.observed += " (" + (first_problem->unit.empty() ? "" : first_problem->unit + ": ") + first_problem->text + ")";
  } else if (!missing.empty()) {
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
  const auto judgeAll = [&](CheckKind kind) {
    for (const CheckDef* d : checkRegistry())
      if (d->kind == kind && d->naming != CheckNaming::service_prefix && d->naming != CheckNaming::probe_prefix &&
          (kind != CheckKind::expectation || scenario.expect.names(d->name)))
        d->judge(ctx, "", checks);
  };
  judgeAll(CheckKind::expectation);
  for (const auto& [svc, e] : scenario.expect.units)
    for (const CheckDef* d : checkRegistry())
      if (d->naming == CheckNaming::service_prefix && e.names(d->name)) d->judge(ctx, svc, checks);
  for (const auto& [probe, e] : scenario.expect.probes)
    for (const CheckDef* d : checkRegistry())
      if (d->naming == CheckNaming::probe_prefix && e.names(d->name)) d->judge(ctx, probe, checks);
  const std::size_t expectations = checks.size();
  judgeAll(CheckKind::safeguard);
  applyBlindness(ctx, checks);
  judgeAll(CheckKind::run);
  judgeAll(CheckKind::note);

  // The run's own checks the verdict turns on; each is in the registry, so present.
  const auto result = [&](std::string_view name) -> const CheckResult& {
    return *std::find_if(checks.begin(), checks.end(), [&](const CheckResult& c) { return c.name == name; });
  };
  const CheckResult& setup = result("setup");
  const CheckResult& complete = result("timeline_complete");
  const CheckResult& pressure = result("pressure");
  const CheckResult& load = result("load_fidelity");

  auto named = [&](CheckOutcome o) {
    std::vector<std::string> names;
    for (const auto& c : checks)
      if (c.outcome == o) names.push_back(displayName(c));
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
  // A verdict on a timeline recorded with another plan says so (evaluate --rejudge).
  if (const auto it = std::find_if(checks.begin(), checks.end(),
                                   [](const CheckResult& c) { return c.name == "note.rejudged"; });
      it != checks.end()) {
    std::string fields;
    for (const auto& e : it->evidence) fields += (fields.empty() ? "" : ", ") + e.text.substr(0, e.text.find(": the timeline says"));
    v.reason += "; re-judged against a changed scenario (" + fields + ")";
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

extern const CheckDef kCheck_setup{
    .name = "setup",
    .kind = CheckKind::run,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "every scenario unit has its setup record; the host compares each value the plan asked for "
                   "with what the guest read back over D-Bus, and each process's oom_score_adj with the plan's, "
                   "besides the guest's own findings. Otherwise the run did not test the scenario: inconclusive, "
                   "quoting the first difference",
    .evidence = "the guest's setup record per unit: the values systemd confirmed, from unit files with file and line",
    .judge = [](const CheckContext& ctx, const std::string&, Checks& out) { out.push_back(checkSetup(ctx.scenario, ctx.index)); },
};

extern const CheckDef kCheck_timeline_complete{
    .name = "timeline_complete",
    .kind = CheckKind::run,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "the guest sent its end record; it says whether the run settled or reached its `time_limit`",
    .evidence = "the `settled` or `time_limit` phase",
    .judge = [](const CheckContext& ctx, const std::string&, Checks& out) { out.push_back(checkComplete(ctx)); },
};

}  // namespace oom
