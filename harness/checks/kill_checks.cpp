// Checks about the kernel's choices: first victim, order, who must never die,
// and kills outside the scenario's units.
#include <algorithm>
#include <set>

#include "check_context.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

std::string serviceOf(const CheckContext& ctx, const std::string& unit) {
  const ServiceSpec* s = ctx.scenario.serviceForUnit(unit);
  return s ? s->name : (unit.empty() ? "(no unit)" : unit);
}

std::string describe(const OomEvent& e) {
  return (e.unit.empty() ? e.victim->task_memcg : e.unit) + " pid " + std::to_string(e.victim->pid) + " (" +
         processLabel(e.victim->comm, e.victim->cmdline) + ", oom_score_adj " + std::to_string(e.victim->oom_score_adj) + ")";
}

// The units the kernel chose instead, for a kill that did not come.
std::string chosenInstead(const CheckContext& ctx) {
  std::vector<std::string> others;
  for (const auto& e : ctx.index.events()) {
    const std::string who = e.unit.empty() ? e.victim->task_memcg : e.unit;
    if (std::find(others.begin(), others.end(), who) == others.end()) others.push_back(who);
  }
  if (others.empty()) return "";
  std::string s = "the kernel chose ";
  for (std::size_t i = 0; i < others.size(); ++i) s += (i ? ", " : "") + others[i];
  return s + " instead";
}

std::string describe(const AnyKill& k) {
  return k.kernel ? describe(*k.kernel) : k.unit + " (killed by systemd-oomd)";
}

// Why a kill came first: the kernel's ranking, or oomd's own reason.
std::string explainKill(const CheckContext& ctx, const AnyKill& k, const std::string& wanted) {
  if (k.kernel) return explainVictimChoice(ctx, *k.kernel, wanted);
  return "systemd-oomd acted before the kernel: " +
         (k.oomd->reason ? k.oomd->reason->MESSAGE : std::string("(its reason was not in the journal)")) +
         explainOomdChoice(ctx, *k.oomd, unitName(wanted));
}

}  // namespace

std::vector<AnyKill> allKills(const TimelineIndex& index) {
  std::vector<AnyKill> kills;
  for (const auto& e : index.events()) kills.push_back(AnyKill{e.t, e.unit, &e, nullptr});
  for (const auto& k : index.oomdKills()) kills.push_back(AnyKill{k.t, k.unit, nullptr, &k});
  std::stable_sort(kills.begin(), kills.end(), [](const AnyKill& a, const AnyKill& b) { return a.t < b.t; });
  return kills;
}

const std::string& invocationOf(const AnyKill& k) { return k.kernel ? k.kernel->InvocationID : k.oomd->InvocationID; }

std::vector<AnyKill> firstKillPerInvocation(const TimelineIndex& index, const std::string& unit) {
  std::vector<AnyKill> kills;
  std::set<std::string> seen;
  for (const AnyKill& k : allKills(index))
    if (k.unit == unit && (invocationOf(k).empty() || seen.insert(invocationOf(k)).second)) kills.push_back(k);
  return kills;
}

std::vector<AnyKill> killsUnderPressure(const TimelineIndex& index) {
  std::vector<AnyKill> kills = allKills(index);
  const double p0 = index.pressureT();
  std::erase_if(kills, [&](const AnyKill& k) { return k.t < p0; });
  return kills;
}

Evidence evidenceOf(const AnyKill& k) { return k.kernel ? killEvidence(*k.kernel->victim) : oomdKillEvidence(*k.oomd); }

static void checkFirstKilled(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  const auto& want = ctx.scenario.expect.first_killed;
  if (!want) return;
  CheckResult c{.name = "first_killed",
                .unit = *want,
                .outcome = CheckOutcome::pass,
                .expected = *want + " is the first unit killed (by the kernel, or by systemd-oomd)"};
  const auto kills = killsUnderPressure(ctx.index);
  if (kills.empty()) {
    c.observed = "no OOM kill at all" + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn("", c);
  } else {
    const AnyKill& first = kills.front();
    c.evidence.push_back(evidenceOf(first));
    c.observed = "first victim: " + describe(first);
    if (serviceOf(ctx, first.unit) != *want) {
      c.outcome = CheckOutcome::fail;
      c.why = explainKill(ctx, first, *want);
    }
  }
  out.push_back(std::move(c));
}

static void checkKillOrder(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  const auto& want = ctx.scenario.expect.kill_order;
  if (want.empty()) return;
  std::string expected;
  for (const auto& s : want) expected += (expected.empty() ? "" : " then ") + s;
  CheckResult c{.name = "kill_order",
                .outcome = CheckOutcome::pass,
                .expected = "first kills in order: " + expected};
  std::vector<std::string> seen;  // listed services in order of their first kill
  const auto kills = killsUnderPressure(ctx.index);
  std::vector<const AnyKill*> firsts;
  for (const auto& k : kills) {
    const std::string svc = serviceOf(ctx, k.unit);
    if (std::find(want.begin(), want.end(), svc) == want.end()) continue;
    if (std::find(seen.begin(), seen.end(), svc) != seen.end()) continue;
    seen.push_back(svc);
    firsts.push_back(&k);
    c.evidence.push_back(evidenceOf(k));
  }
  for (const auto& s : seen) c.observed += (c.observed.empty() ? "" : " then ") + s;
  if (seen.empty()) c.observed = "none of them was killed" + ctx.notWithinTimeLimit();
  else if (seen.size() < want.size()) c.observed += " (the rest never killed" + ctx.notWithinTimeLimit() + ")";
  if (seen != want) {
    c.outcome = seen.empty() ? ctx.missingKillIn("", c) : CheckOutcome::fail;
    for (std::size_t i = 0; i < seen.size() && i < want.size(); ++i)
      if (seen[i] != want[i]) {
        c.why = explainKill(ctx, *firsts[i], want[i]);
        break;
      }
  }
  out.push_back(std::move(c));
}

// Fails if any of the three witnesses saw a kill in the unit: the kernel log, the
// cgroup's memory.events, systemd's OOM message or Result=oom-kill.
static void checkNeverKilled(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  for (const auto& svc : ctx.scenario.expect.never_killed) {
    const std::string unit = unitName(svc);
    CheckResult c{.name = "never_killed",
                  .unit = svc,
                  .outcome = CheckOutcome::pass,
                  .expected = svc + " is never OOM-killed (by the kernel log, memory.events and systemd alike)"};
    const auto kills = ctx.index.killsIn(unit);
    for (const auto* k : kills) c.evidence.push_back(killEvidence(*k));
    const auto oomd = ctx.index.oomdKillsIn(unit);
    for (const auto* k : oomd) c.evidence.push_back(oomdKillEvidence(*k));
    const WitnessCounts w = witnessesOf(ctx, unit);
    if (kills.empty() && !oomd.empty()) {
      c.outcome = CheckOutcome::fail;
      c.observed = "systemd-oomd killed " + unit + " " + std::to_string(oomd.size()) + " time(s)";
      c.why = (oomd.front()->reason ? "systemd-oomd: " + oomd.front()->reason->MESSAGE : "") +
              explainOomdChoice(ctx, *oomd.front(), "");
    } else if (!kills.empty()) {
      c.outcome = CheckOutcome::fail;
      c.observed = std::to_string(kills.size()) + " process(es) of " + unit + " killed, first pid " +
                   std::to_string(kills.front()->pid) + " (" + processLabel(kills.front()->comm, kills.front()->cmdline) + ")";
      const auto events = ctx.index.eventsIn(unit);
      if (!events.empty()) {
        const OomEvent& first = *events.front();
        const KernelOomKill& v = *first.victim;
        if (v.constraint == "CONSTRAINT_MEMCG")
          c.why = "the kill was confined to " + v.oom_memcg + " (" + ctx.index.layerOf(first).limit + " was hit): only " + unit +
                  "'s own processes were candidates (docs/kernel-and-systemd.md#global-and-memcg-oom-constraints)";
        else
          for (const auto& e : ctx.index.events())
            if (e.unit != unit) {  // what the kernel passed over: any other victim's unit
              c.why = explainVictimChoice(ctx, first, serviceOf(ctx, e.unit));
              break;
            }
      }
    } else if (w.cgroup > 0 || w.systemd > 0) {
      c.outcome = CheckOutcome::fail;
      c.observed = "no kill in the kernel log, but " + otherWitnessesSaw(w, unit, c.evidence);
      c.why = "a witness other than the kernel log saw a kill: the kernel log is missing records";
    } else {
      c.observed = "no kill in " + unit + " (kernel log, memory.events, systemd)";
    }
    out.push_back(std::move(c));
  }
}

static void checkOomKills(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const auto events = ctx.index.eventsIn(unitName(svc));
  CheckResult c{.name = svc + ".oom_kills",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = "OOM kills in " + unitName(svc) + ": " + e.oom_kills->str()};
  std::size_t records = 0;
  for (const auto* ev : events) {
    records += ev->members.size();
    for (const auto* m : ev->members) c.evidence.push_back(killEvidence(*m));
  }
  c.observed = std::to_string(events.size()) + " kill(s) (" + std::to_string(records) +
               " process(es) including group kills)";
  if (!e.oom_kills->contains(events.size())) {
    const bool too_few = events.size() < e.oom_kills->min.value_or(0);
    if (too_few) c.observed += ctx.notWithinTimeLimit();
    c.outcome = too_few && events.empty() ? ctx.missingKillIn(unitName(svc), c) : CheckOutcome::fail;
    if (too_few && c.outcome == CheckOutcome::fail) c.why = chosenInstead(ctx);
  }
  out.push_back(std::move(c));
}

// Who killed the unit: the kernel (its kill lines), systemd-oomd (systemd's
// UNIT_OOMD_KILL with oomd's reason), or either; at least one kill.
static void checkKilledBy(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const std::string unit = unitName(svc);
  const std::string& want = *e.killed_by;
  CheckResult c{.name = svc + ".killed_by",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = want == "any" ? unit + " is killed (by the kernel or systemd-oomd)"
                    : "every kill of " + unit + " is " + (want == "kernel" ? "the kernel's" : "systemd-oomd's")};
  const auto kernel = ctx.index.eventsIn(unit);
  const auto oomd = ctx.index.oomdKillsIn(unit);
  for (const auto* k : kernel) c.evidence.push_back(killEvidence(*k->victim));
  for (const auto* k : oomd) c.evidence.push_back(oomdKillEvidence(*k));
  c.observed = std::to_string(kernel.size()) + " kill(s) by the kernel, " + std::to_string(oomd.size()) +
               " by systemd-oomd";
  // systemd-oomd can only be judged where it ran: the guest reads `oomctl` before the
  // pressure in every run that starts it.
  const bool oomd_ran = std::any_of(ctx.index.timeline().oomd.begin(), ctx.index.timeline().oomd.end(),
                                    [](const OomdStatus& o) { return o.when == "before_pressure"; });
  if (want == "systemd-oomd" && !oomd_ran && oomd.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed += "; systemd-oomd did not run in this run (no oomctl record before the pressure)";
    c.why = "an expectation about systemd-oomd needs it running: the scenario's `systemd_oomd` starts it (README, systemd-oomd)";
  } else if (kernel.empty() && oomd.empty()) {
    c.observed += ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unit, c);
  } else if (want == "kernel" && !oomd.empty()) {
    c.outcome = CheckOutcome::fail;
    c.why = oomd.front()->reason ? "systemd-oomd acted first: " + oomd.front()->reason->MESSAGE : "";
  } else if (want == "systemd-oomd" && !kernel.empty()) {
    c.outcome = CheckOutcome::fail;
    c.why = "the kernel ran out of memory before systemd-oomd's limits were crossed for long enough";
  }
  out.push_back(std::move(c));
}

static void checkConstraint(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  CheckResult c{.name = svc + ".constraint",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = "every kill in " + unitName(svc) + " has " + *e.constraint};
  std::set<std::string> seen;
  const auto events = ctx.index.eventsIn(unitName(svc));
  for (const auto* ev : events) {
    seen.insert(ev->victim->constraint);
    c.evidence.push_back(killEvidence(*ev->victim));
    if (ev->victim->constraint != *e.constraint) c.outcome = CheckOutcome::fail;
  }
  if (events.empty()) {
    c.observed = "no kill in " + unitName(svc) + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unitName(svc), c);
  } else {
    for (const auto& s : seen) c.observed += (c.observed.empty() ? "" : ", ") + (s.empty() ? "(none)" : s);
    const auto& memcg = events.front()->victim->oom_memcg;
    if (!memcg.empty()) c.observed += "; limit hit in " + memcg;
    if (c.outcome == CheckOutcome::fail)
      c.why = *e.constraint == "CONSTRAINT_MEMCG"
                  ? "the whole guest ran out of memory before " + unitName(svc) +
                        " reached its MemoryMax=: a global OOM (CONSTRAINT_NONE) chooses among every task"
                  : "the unit's own MemoryMax= was hit first: a memcg OOM (CONSTRAINT_MEMCG)";
  }
  out.push_back(std::move(c));
}

// A kill outside the scenario's units (journald, sshd, the observer's neighbours)
// is an incident of its own, bigger than the scenario's: it fails unless allowed.
static void checkCollateral(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  const bool allowed = ctx.scenario.expect.allow_collateral;
  CheckResult c{.name = "collateral",
                .outcome = CheckOutcome::pass,
                .expected = allowed ? "kills outside the scenario's units are allowed (expect.allow_collateral)"
                    : "the kernel kills nothing outside the scenario's units (its services and drivers)"};
  std::vector<const OomEvent*> outside, unknown;
  for (const auto& e : ctx.index.events()) {
    if (ctx.scenario.ownsUnit(e.unit)) continue;
    (e.victim->attribution == kAttributionUnknown ? unknown : outside).push_back(&e);
  }
  // systemd-oomd's kills outside the scenario's units: its own "Killed <cgroup>" lines.
  std::vector<const JournalRecord*> oomd_outside;
  for (const auto& j : ctx.index.timeline().journal) {
    if (isOomdKillRecord(j) && !ctx.scenario.ownsUnit(j.unit)) oomd_outside.push_back(&j);
  }
  if (!oomd_outside.empty()) {
    for (const auto* j : oomd_outside) c.evidence.push_back(journalEvidence(*j));
    c.observed = std::to_string(oomd_outside.size()) + " systemd-oomd kill(s) outside the scenario's units, first " +
                 oomd_outside.front()->unit + (allowed ? " (allowed)" : "");
    if (!allowed) {
      c.outcome = CheckOutcome::fail;
      c.why = "systemd-oomd: " + oomd_outside.front()->MESSAGE;
    }
    out.push_back(std::move(c));
    return;
  }
  if (outside.empty() && !unknown.empty() && !allowed) {
    // The kernel printed the kill without its report and the observer never saw
    // the pid in a unit: it may have been anyone's.
    const KernelOomKill& v = *unknown.front()->victim;
    c.outcome = CheckOutcome::inconclusive;
    c.observed = std::to_string(unknown.size()) + " kill(s) the kernel printed without a report, first pid " +
                 std::to_string(v.pid) + " (" + processLabel(v.comm, v.cmdline) + "), never sampled in a unit";
    c.why = "the kernel prints at most 10 OOM reports in 5 s; a kill after that names no cgroup, so it may have "
            "been outside the scenario's units";
    for (const auto* e : unknown) c.evidence.push_back(killEvidence(*e->victim));
  } else if (outside.empty()) {
    c.observed = "no kill outside the scenario's units";
  } else {
    c.observed = std::to_string(outside.size()) + " kill(s) outside the scenario's units, first " + describe(*outside.front());
    for (const auto* e : outside) c.evidence.push_back(killEvidence(*e->victim));
    if (allowed) {
      c.observed += " (allowed)";
    } else {
      c.outcome = CheckOutcome::fail;
      const KernelOomKill& v = *outside.front()->victim;
      c.why = "the kernel chose " + processLabel(v.comm, v.cmdline) + " in " + (v.task_memcg.empty() ? "(no cgroup)" : v.task_memcg) +
              " (oom_score_adj " + std::to_string(v.oom_score_adj) + ", anon-rss " + formatSize(v.anon_rss_kb * KiB) +
              "): a process outside the scenario, whose loss (a journald, an sshd) is the bigger incident; "
              "give it a lower OOMScoreAdjust= or set expect.allow_collateral if that is acceptable";
    }
  }
  out.push_back(std::move(c));
}

// Kills of scenario units the expectations never mention: news, not failures.
static void noteUnexpectedKills(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  const Expectations& x = ctx.scenario.expect;
  std::set<std::string> mentioned(x.kill_order.begin(), x.kill_order.end());
  mentioned.insert(x.never_killed.begin(), x.never_killed.end());
  if (x.first_killed) mentioned.insert(*x.first_killed);
  for (const auto& [name, u] : x.units)
    if (u.oom_kills) mentioned.insert(name);
  std::set<std::string> noted;
  for (const auto& e : ctx.index.events()) {
    const ServiceSpec* spec = ctx.scenario.serviceForUnit(e.unit);
    const DriveSpec* drive = ctx.scenario.driveForUnit(e.unit);
    if (!spec && !drive) continue;  // outside the scenario: the collateral check
    const std::string svc = spec ? spec->name : drive->name;
    if (mentioned.count(svc) || noted.count(svc)) continue;
    noted.insert(svc);
    CheckResult c{.name = "note.unexpected_kill",
                  .unit = svc,
                  .outcome = CheckOutcome::note,
                  .expected = "no expectation about " + svc};
    std::size_t n = 0;
    for (const auto& other : ctx.index.events())
      if (other.unit == e.unit) {
        ++n;
        c.evidence.push_back(killEvidence(*other.victim));
      }
    c.observed = svc + " was OOM-killed " + std::to_string(n) + " time(s), first " + describe(e);
    out.push_back(std::move(c));
  }
}

// Kills before the pressure phase (a baseline that did not fit, a unit that failed to
// start): reported, never deciding first_killed or kill_order.
static void noteKillsBeforePressure(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  const double p0 = ctx.index.pressureT();
  std::vector<AnyKill> early;
  for (const AnyKill& k : allKills(ctx.index))
    if (k.t < p0) early.push_back(k);
  if (early.empty()) return;
  CheckResult c{.name = "note.kill_before_pressure",
                .outcome = CheckOutcome::note,
                .expected = "no kill before the pressure phase"};
  for (const auto& k : early) c.evidence.push_back(evidenceOf(k));
  c.observed = std::to_string(early.size()) + " kill(s) before the pressure phase, first " + describe(early.front()) +
               " at " + ctx.since(early.front().t) + ": not counted for first_killed or kill_order";
  out.push_back(std::move(c));
}

extern const CheckDef kCheck_kill_before_pressure{
    .name = "note.kill_before_pressure",
    .kind = CheckKind::note,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "(a note) a kill came before the pressure phase (while the units started or ramped to their "
                   "baselines); first_killed and kill_order judge only the kills after it",
    .evidence = "each such kill",
    .judge = noteKillsBeforePressure,
};

extern const CheckDef kCheck_first_killed{
    .name = "first_killed",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::scenario,
    .blind = kBlindNoEarlierKill,
    .passes_when = "the first chosen victim after setup is in that unit",
    .evidence = "the kernel's `Killed process` line; on failure `why` compares the victim's and the expected "
                "unit's `oom_score`, `oom_score_adj` and RSS (badness = RSS + swap + page tables + adj × "
                "(RAM+swap)/1000), or names the memcg a `CONSTRAINT_MEMCG` OOM was confined to",
    .judge = checkFirstKilled,
};

extern const CheckDef kCheck_kill_order{
    .name = "kill_order",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::scenario,
    .blind = kBlindNoEarlierKill,
    .passes_when = "the listed units' first kills come in that order",
    .evidence = "one kernel line per unit",
    .judge = checkKillOrder,
};

extern const CheckDef kCheck_never_killed{
    .name = "never_killed",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::unit_after,
    .blind = kBlindNoKillInUnit,
    .passes_when = "no witness saw a kill in the unit: not the kernel log, not the cgroup's `memory.events` "
                   "(`oom_group_kill`, else `oom_kill`), not systemd (`UNIT_OUT_OF_MEMORY` or `Result=oom-kill` "
                   "of any invocation); systemd-oomd's kills count too",
    .evidence = "the witness that saw it",
    .judge = checkNeverKilled,
};

extern const CheckDef kCheck_oom_kills{
    .name = "oom_kills",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindNoKillInUnit,
    .passes_when = "kernel OOM events in the unit (a victim and its group-killed members count once) within "
                   "the range",
    .evidence = "every kill line",
    .judge = checkOomKills,
};

extern const CheckDef kCheck_constraint{
    .name = "constraint",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindRecordsOnly,
    .passes_when = "every kill in the unit has that constraint (`CONSTRAINT_NONE`: the whole guest ran out; "
                   "`CONSTRAINT_MEMCG`: a `MemoryMax=` was hit)",
    .evidence = "kill lines (`oom_memcg`)",
    .judge = checkConstraint,
};

extern const CheckDef kCheck_killed_by{
    .name = "killed_by",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindRecordsOnly,
    .passes_when = "the unit is killed at least once, and every kill is the kernel's (`kernel`), systemd-oomd's "
                   "(`systemd-oomd`) or either (`any`)",
    .evidence = "the kernel's kill lines and systemd's `UNIT_OOMD_KILL` entries with oomd's reason",
    .judge = checkKilledBy,
};

extern const CheckDef kCheck_collateral{
    .name = "collateral",
    .kind = CheckKind::safeguard,
    .naming = CheckNaming::scenario,
    .blind = kBlindNoKillAnywhere,
    .passes_when = "no kernel or systemd-oomd kill outside the scenario's units (a dead journald or sshd is the "
                   "bigger incident), unless `expect.allow_collateral`",
    .evidence = "the kill line; `why` names the process and its adj",
    .judge = checkCollateral,
};

extern const CheckDef kCheck_unexpected_kill{
    .name = "note.unexpected_kill",
    .kind = CheckKind::note,
    .naming = CheckNaming::unit_after,
    .blind = kBlindRecordsOnly,
    .passes_when = "(a note) a scenario unit no expectation mentions was OOM-killed",
    .evidence = "its kill lines",
    .judge = noteUnexpectedKills,
};

}  // namespace oom
