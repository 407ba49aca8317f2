// Checks about the kernel's choices: first victim, order, who must never die.
#include <algorithm>
#include <set>

#include "check_context.hpp"

namespace oom {
namespace {

std::string serviceOf(const CheckContext& ctx, const std::string& unit) {
  const ServiceSpec* s = ctx.scenario.serviceForUnit(unit);
  return s ? s->name : (unit.empty() ? "(no unit)" : unit);
}

std::string describe(const OomEvent& e) {
  return e.unit + " pid " + std::to_string(e.victim->pid) + " (" + e.victim->comm +
         ", oom_score_adj " + std::to_string(e.victim->oom_score_adj) + ")";
}

}  // namespace

void checkFirstKilled(const CheckContext& ctx, Checks& out) {
  const auto& want = ctx.scenario.expect.first_killed;
  if (!want) return;
  CheckResult c{"first_killed", *want, CheckOutcome::pass, *want + " is the first unit the kernel kills", "", {}};
  const auto& events = ctx.index.events();
  if (events.empty()) {
    c.outcome = ctx.missingKill();
    c.observed = "no OOM kill at all";
  } else {
    const OomEvent& first = events.front();
    c.evidence.push_back(killEvidence(*first.victim));
    c.observed = "first victim: " + describe(first);
    if (serviceOf(ctx, first.unit) != *want) c.outcome = CheckOutcome::fail;
  }
  out.push_back(std::move(c));
}

void checkKillOrder(const CheckContext& ctx, Checks& out) {
  const auto& want = ctx.scenario.expect.kill_order;
  if (want.empty()) return;
  std::string expected;
  for (const auto& s : want) expected += (expected.empty() ? "" : " then ") + s;
  CheckResult c{"kill_order", "", CheckOutcome::pass, "first kills in order: " + expected, "", {}};
  std::vector<std::string> seen;  // listed services in order of their first kill
  for (const auto& e : ctx.index.events()) {
    const std::string svc = serviceOf(ctx, e.unit);
    if (std::find(want.begin(), want.end(), svc) == want.end()) continue;
    if (std::find(seen.begin(), seen.end(), svc) != seen.end()) continue;
    seen.push_back(svc);
    c.evidence.push_back(killEvidence(*e.victim));
  }
  for (const auto& s : seen) c.observed += (c.observed.empty() ? "" : " then ") + s;
  if (seen.empty()) c.observed = "none of them was killed";
  else if (seen.size() < want.size()) c.observed += " (the rest never killed)";
  if (seen != want) c.outcome = seen.empty() ? ctx.missingKill() : CheckOutcome::fail;
  out.push_back(std::move(c));
}

void checkNeverKilled(const CheckContext& ctx, Checks& out) {
  for (const auto& svc : ctx.scenario.expect.never_killed) {
    CheckResult c{"never_killed", svc, CheckOutcome::pass, svc + " is never OOM-killed", "", {}};
    const auto kills = ctx.index.killsIn(unitName(svc));
    for (const auto* k : kills) c.evidence.push_back(killEvidence(*k));
    if (kills.empty()) {
      c.observed = "no kill in " + unitName(svc);
    } else {
      c.outcome = CheckOutcome::fail;
      c.observed = std::to_string(kills.size()) + " process(es) of " + unitName(svc) +
                   " killed, first pid " + std::to_string(kills.front()->pid) + " (" +
                   kills.front()->comm + ")";
    }
    out.push_back(std::move(c));
  }
}

void checkOomKills(const CheckContext& ctx, const std::string& svc, const UnitExpectation& e, Checks& out) {
  if (!e.oom_kills) return;
  const auto events = ctx.index.eventsIn(unitName(svc));
  CheckResult c{svc + ".oom_kills", svc, CheckOutcome::pass,
                "OOM kills in " + unitName(svc) + ": " + e.oom_kills->str(), "", {}};
  std::size_t records = 0;
  for (const auto* ev : events) {
    records += ev->members.size();
    for (const auto* m : ev->members) c.evidence.push_back(killEvidence(*m));
  }
  c.observed = std::to_string(events.size()) + " kill(s) (" + std::to_string(records) +
               " process(es) including group kills)";
  if (!e.oom_kills->contains(events.size()))
    c.outcome = events.size() < e.oom_kills->min.value_or(0) && events.empty() ? ctx.missingKill()
                                                                             : CheckOutcome::fail;
  out.push_back(std::move(c));
}

void checkConstraint(const CheckContext& ctx, const std::string& svc, const UnitExpectation& e, Checks& out) {
  if (!e.constraint) return;
  CheckResult c{svc + ".constraint", svc, CheckOutcome::pass,
                "every kill in " + unitName(svc) + " has " + *e.constraint, "", {}};
  std::set<std::string> seen;
  const auto events = ctx.index.eventsIn(unitName(svc));
  for (const auto* ev : events) {
    seen.insert(ev->victim->constraint);
    c.evidence.push_back(killEvidence(*ev->victim));
    if (ev->victim->constraint != *e.constraint) c.outcome = CheckOutcome::fail;
  }
  if (events.empty()) {
    c.outcome = ctx.missingKill();
    c.observed = "no kill in " + unitName(svc);
  } else {
    for (const auto& s : seen) c.observed += (c.observed.empty() ? "" : ", ") + (s.empty() ? "(none)" : s);
    const auto& memcg = events.front()->victim->oom_memcg;
    if (!memcg.empty()) c.observed += "; limit hit in " + memcg;
  }
  out.push_back(std::move(c));
}

// Kills of units the expectations never mention: news, not failures.
void noteUnexpectedKills(const CheckContext& ctx, Checks& out) {
  const Expectations& x = ctx.scenario.expect;
  std::set<std::string> mentioned(x.kill_order.begin(), x.kill_order.end());
  mentioned.insert(x.never_killed.begin(), x.never_killed.end());
  if (x.first_killed) mentioned.insert(*x.first_killed);
  for (const auto& [name, u] : x.units)
    if (u.oom_kills) mentioned.insert(name);
  std::set<std::string> noted;
  for (const auto& e : ctx.index.events()) {
    const std::string svc = serviceOf(ctx, e.unit);
    if (mentioned.count(svc) || noted.count(svc)) continue;
    noted.insert(svc);
    CheckResult c{"note.unexpected_kill", ctx.scenario.service(svc) ? svc : "", CheckOutcome::note,
                  "no expectation about " + svc, "", {}};
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

}  // namespace oom
