// restarts_within: after each kill of the unit (the kernel's or systemd-oomd's), the
// next invocation is active again within the window. The restart SLO a service owner
// states ("back within 30 s"), where clean_restart asks RestartSec + restart_grace.

#include "check_context.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

// The unit's last state after t, when it is a stop systemd will not undo by itself:
// failed or inactive, not waiting to restart (SubState auto-restart*).
const UnitStateChange* finalStop(const CheckContext& ctx, const std::string& unit, double t) {
  const UnitStateChange* last = ctx.index.lastState(unit);
  if (!last || last->t <= t || (last->ActiveState != "failed" && last->ActiveState != "inactive")) return nullptr;
  return last->SubState.rfind("auto-restart", 0) == 0 ? nullptr : last;
}

bool queuedRestart(const CheckContext& ctx, const std::string& unit, double t) {
  for (const auto& s : ctx.index.timeline().states)
    if (s.unit == unit && s.t > t && s.SubState == "auto-restart-queued") return true;
  return false;
}

void checkRestartsWithin(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const double window = *ctx.expected(svc).restarts_within;
  const std::string unit = unitName(svc);
  CheckResult c{.name = svc + ".restarts_within",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = unit + " is active again within " + formatDuration(Seconds(window)) + " of each kill"};
  const double end = ctx.index.endT();
  std::vector<std::string> late, cut_short;
  std::size_t judged = 0;
  bool late_but_active = false;  // a restart that came, only later than the window
  for (const AnyKill& k : firstKillPerInvocation(ctx.index, unit)) {
    const std::string& id = invocationOf(k);
    c.evidence.push_back(evidenceOf(k));
    const std::string at = "kill at " + ctx.since(k.t);
    const Invocation* next = ctx.index.nextInvocation(unit, k.t, id);
    const UnitStateChange* active = nullptr;
    if (next)
      for (const auto* s : next->states)
        if (s->ActiveState == "active") {
          active = s;
          break;
        }
    if (active && active->t - k.t <= window) {
      ++judged;
      c.evidence.push_back(stateEvidence(*active));
      c.observed += (c.observed.empty() ? "" : "; ") + at + ": active again after " + formatTenths(active->t - k.t);
      continue;
    }
    if (active) {
      ++judged;
      late_but_active = true;
      c.evidence.push_back(stateEvidence(*active));
      late.push_back(at + ": active again only after " + formatTenths(active->t - k.t));
    } else if (const UnitStateChange* gave_up = finalStop(ctx, unit, k.t); !next && gave_up) {
      // systemd stopped for good: no restart is coming, however long the window.
      ++judged;
      c.evidence.push_back(stateEvidence(*gave_up));
      late.push_back(at + ": systemd did not restart it; its last state is " + gave_up->ActiveState + "/" +
                     gave_up->SubState + (gave_up->Result.empty() ? "" : " (Result=" + gave_up->Result + ")") +
                     " at " + ctx.since(gave_up->t));
      if (c.why.empty()) c.why = explainNoRestart(ctx, svc, gave_up->Result);
      if (c.why.empty() && queuedRestart(ctx, unit, k.t))
        c.why = "systemd queued a restart (SubState auto-restart-queued) and then stopped without a new "
                "invocation, as it does when the start limit (StartLimitBurst= within StartLimitIntervalSec=) "
                "refuses the start";
    } else if (k.t + window > end) {
      cut_short.push_back(at + ": the timeline ends " + formatTenths(end - k.t) + " after it, inside the window");
    } else {
      ++judged;
      late.push_back(at + ": not active again within " + formatDuration(Seconds(window)) +
                     (next ? " (new invocation " + next->InvocationID.substr(0, 8) + " never active)" : "") +
                     " by the end of the timeline at " + ctx.since(end));
      if (c.why.empty()) {
        const Invocation* old = ctx.index.invocation(unit, id);
        c.why = explainNoRestart(ctx, svc, old ? old->result : "");
      }
    }
  }
  if (c.evidence.empty()) {
    c.observed = "no kill in " + unit + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unit, c);
  } else if (!late.empty()) {
    c.outcome = CheckOutcome::fail;
    c.observed = late.front() + (late.size() > 1 ? " (and " + std::to_string(late.size() - 1) + " more)" : "");
    if (c.why.empty() && late_but_active) {
      const ServiceSpec* s = ctx.scenario.service(svc);
      c.why = "RestartSec=" + formatDuration(Seconds(s ? s->restartSec() : kDefaultRestartSec)) +
              " and the unit's own start-up come before it is active again";
    }
  } else if (judged == 0) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = cut_short.front();
    c.why = "the run ended before the window closed: nothing shows whether the unit came back in time";
  } else {
    for (const auto& cut : cut_short) c.observed += "; " + cut + " (not judged)";
  }
  out.push_back(std::move(c));
}

}  // namespace

extern const CheckDef kCheck_restarts_within{
    .name = "restarts_within",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindFailureMayBeALoss,
    .passes_when = "after each kill of the unit (the kernel's or systemd-oomd's, once per invocation), the next "
                   "invocation's first `active` state comes within the window; a kill the timeline ends less "
                   "than the window after, with no `active` yet, is not judged",
    .evidence = "each kill and the next invocation's `active` state",
    .judge = checkRestartsWithin,
};

}  // namespace oom
