// What the clients saw: the scenario's probes (`expect.probes.<probe>`), judged from
// every attempt the guest recorded after pressure began. An attempt is a client's
// request (an HTTP GET, a TCP connect, a command), so an outage here is one a user
// of the service would have seen, whatever systemd said about the unit.
#include <cmath>
#include <algorithm>

#include "check_context.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

const ProbeExpectation& expectedOf(const CheckContext& ctx, const std::string& probe) {
  for (const auto& [name, e] : ctx.scenario.expect.probes)
    if (name == probe) return e;
  throw std::logic_error("no expectation for probe " + probe);
}

// The probe's attempts from the pressure phase on, in time order.
std::vector<const ProbeAttempt*> attemptsOf(const CheckContext& ctx, const std::string& probe) {
  std::vector<const ProbeAttempt*> out;
  const double from = ctx.index.pressureT();
  for (const auto& a : ctx.index.timeline().probes)
    if (a.probe == probe && a.t >= from) out.push_back(&a);
  std::stable_sort(out.begin(), out.end(), [](const auto* x, const auto* y) { return x->t < y->t; });
  return out;
}

std::string milliseconds(double sec) { return std::to_string(static_cast<long long>(sec * 1000 + 0.5)) + " ms"; }


std::string unitOf(const CheckContext& ctx, const std::string& probe) {
  const ProbeSpec* p = ctx.scenario.probe(probe);
  return p && !p->service.empty() ? unitName(p->service) : "";
}

// A run of failed attempts: from the first failure to the next success, or to the
// end of the run when none came (then `recovered` is null and the outage may go on).
struct Outage {
  const ProbeAttempt* first = nullptr;
  const ProbeAttempt* recovered = nullptr;
  std::size_t failures = 0;
  double length(double end) const { return (recovered ? recovered->t : end) - first->t; }
};

std::vector<Outage> outagesOf(const std::vector<const ProbeAttempt*>& attempts) {
  std::vector<Outage> out;
  for (const auto* a : attempts) {
    const bool open = !out.empty() && !out.back().recovered;
    if (!a->ok) {
      if (!open) out.push_back(Outage{a});
      ++out.back().failures;
    } else if (open) {
      out.back().recovered = a;
    }
  }
  return out;
}

CheckResult probeResult(const std::string& probe, const char* key, std::string expected) {
  return CheckResult{.name = probe + "." + key, .outcome = CheckOutcome::pass, .expected = std::move(expected)};
}

bool noAttempts(const std::vector<const ProbeAttempt*>& attempts, const std::string& probe, CheckResult& c) {
  if (!attempts.empty()) return false;
  c.outcome = CheckOutcome::inconclusive;
  c.observed = "no attempt of probe " + probe + " was recorded after pressure began";
  c.why = "the probe never ran during the pressure, so the clients' view is unknown";
  return true;
}

void checkMaxUnavailable(const CheckContext& ctx, const std::string& probe, Checks& out) {
  const double limit = *expectedOf(ctx, probe).max_unavailable;
  CheckResult c = probeResult(probe, "max_unavailable",
                              "probe " + probe + " fails for at most " + formatDuration(Seconds(limit)) + " in a row");
  const auto attempts = attemptsOf(ctx, probe);
  if (noAttempts(attempts, probe, c)) return out.push_back(std::move(c));
  const std::string unit = unitOf(ctx, probe);
  const double end = ctx.index.endT();
  const auto outages = outagesOf(attempts);
  if (outages.empty()) {
    c.observed = "every one of " + std::to_string(attempts.size()) + " attempts succeeded";
    c.evidence.push_back(probeEvidence(*attempts.front(), unit));
    return out.push_back(std::move(c));
  }
  const Outage& longest = *std::max_element(outages.begin(), outages.end(), [end](const Outage& a, const Outage& b) {
    return a.length(end) < b.length(end);
  });
  const double length = longest.length(end);
  c.evidence.push_back(probeEvidence(*longest.first, unit));
  if (longest.recovered) c.evidence.push_back(probeEvidence(*longest.recovered, unit));
  c.observed = "longest outage " + formatTenths(length) + " (" + std::to_string(longest.failures) +
               " failed attempts from " + ctx.since(longest.first->t) +
               (longest.recovered ? ", back at " + ctx.since(longest.recovered->t) : ", still failing at the end") +
               "); " + std::to_string(outages.size()) + " outage(s) in all";
  if (length > limit) {
    c.outcome = CheckOutcome::fail;
    c.why = "the clients saw " + longest.first->result + " for " + formatTenths(length);
  } else if (!longest.recovered) {
    c.outcome = CheckOutcome::inconclusive;
    c.why = "the run ended during the outage, " + formatTenths(length) + " into it: it may have lasted longer";
  }
  out.push_back(std::move(c));
}

void checkRecoversWithin(const CheckContext& ctx, const std::string& probe, Checks& out) {
  const double window = *expectedOf(ctx, probe).recovers_within;
  const std::string unit = unitOf(ctx, probe);
  CheckResult c = probeResult(probe, "recovers_within",
                              "probe " + probe + " succeeds again within " + formatDuration(Seconds(window)) +
                                  " of each kill in " + unit);
  const auto attempts = attemptsOf(ctx, probe);
  if (noAttempts(attempts, probe, c)) return out.push_back(std::move(c));
  const double end = ctx.index.endT();
  std::vector<std::string> late, cut_short, lines;
  for (const AnyKill& k : firstKillPerInvocation(ctx.index, unit)) {
    c.evidence.push_back(evidenceOf(k));
    const std::string at = "kill at " + ctx.since(k.t);
    // The first failure after the kill, then the first success after it.
    const ProbeAttempt* failed = nullptr;
    const ProbeAttempt* back = nullptr;
    for (const auto* a : attempts) {
      if (a->t < k.t) continue;
      if (!failed && a->ok) break;  // it never went down
      if (!failed) failed = a;
      else if (a->ok) {
        back = a;
        break;
      }
    }
    if (!failed) {
      lines.push_back(at + ": never failed");
      continue;
    }
    c.evidence.push_back(probeEvidence(*failed, unit));
    if (back) {
      c.evidence.push_back(probeEvidence(*back, unit));
      const double took = back->t - k.t;
      lines.push_back(at + ": back after " + formatTenths(took));
      if (took > window) late.push_back(at + " (" + formatTenths(took) + ")");
    } else if (end - k.t > window) {
      lines.push_back(at + ": still failing " + formatTenths(end - k.t) + " later, at the end");
      late.push_back(at + " (not back in " + formatTenths(end - k.t) + ")");
    } else {
      lines.push_back(at + ": still failing when the run ended " + formatTenths(end - k.t) + " later");
      cut_short.push_back(at);
    }
  }
  if (lines.empty()) {
    c.observed = "no OOM kill in " + unit + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unit, c);
    return out.push_back(std::move(c));
  }
  for (const auto& l : lines) c.observed += (c.observed.empty() ? "" : "; ") + l;
  if (!late.empty()) {
    c.outcome = CheckOutcome::fail;
    c.why = "the clients waited longer than " + formatDuration(Seconds(window)) + " after " + late.front();
  } else if (!cut_short.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.why = "the run ended within the window after the " + cut_short.front() + ", before the probe succeeded again";
  }
  out.push_back(std::move(c));
}

void checkSuccessRatio(const CheckContext& ctx, const std::string& probe, Checks& out) {
  const double want = *expectedOf(ctx, probe).success_ratio;
  CheckResult c = probeResult(probe, "success_ratio",
                              "at least " + percentText(want * 100) + " of probe " + probe + "'s attempts succeed under pressure");
  const auto attempts = attemptsOf(ctx, probe);
  if (noAttempts(attempts, probe, c)) return out.push_back(std::move(c));
  const std::string unit = unitOf(ctx, probe);
  std::size_t ok = 0;
  for (const auto* a : attempts) {
    if (a->ok) ++ok;
    else if (c.evidence.size() < 3) c.evidence.push_back(probeEvidence(*a, unit));
  }
  const double ratio = static_cast<double>(ok) / static_cast<double>(attempts.size());
  c.observed = std::to_string(ok) + " of " + std::to_string(attempts.size()) + " attempts succeeded (" + percentText(ratio * 100) + ")";
  if (ratio < want) {
    c.outcome = CheckOutcome::fail;
    c.why = "the first failures: " + (c.evidence.empty() ? std::string("none") : c.evidence.front().text);
  }
  out.push_back(std::move(c));
}

// A kill in `unit` before t of the invocation still running at t (its ID unknown on
// either side: any kill before t): what makes a failing unit half alive, not a stall.
const OomEvent* killBefore(const CheckContext& ctx, const std::string& unit, double t, const std::string& invocation) {
  const OomEvent* found = nullptr;
  for (const auto* e : ctx.index.eventsIn(unit))
    if (e->t <= t && (e->InvocationID.empty() || invocation.empty() || e->InvocationID == invocation)) found = e;
  return found;
}

// The port attempt nearest to t, if it is within one interval of it.
const ProbeAttempt* portAttemptNear(const std::vector<const ProbeAttempt*>& port, double t, double interval) {
  const ProbeAttempt* best = nullptr;
  for (const auto* a : port)
    if (std::abs(a->t - t) <= interval && (!best || std::abs(a->t - t) < std::abs(best->t - t))) best = a;
  return best;
}

}  // namespace

Evidence probeEvidence(const ProbeAttempt& a, const std::string& unit) {
  return Evidence{a.t, kRecordProbe, unit, "", 0,
                  "probe " + a.probe + ": " + a.result + " after " + milliseconds(a.latency_sec)};
}

namespace {

struct ServiceProbes {
  std::vector<const ProbeSpec*> health, port;
};

ServiceProbes probesOf(const Scenario& scenario, const std::string& service) {
  ServiceProbes out;
  for (const auto& p : scenario.probes)
    if (p.service == service) (p.kind == kProbeTcp ? out.port : out.health).push_back(&p);
  return out;
}

}  // namespace

bool hasClientView(const Scenario& scenario, const std::string& service) {
  const ServiceProbes p = probesOf(scenario, service);
  return !p.health.empty() && !p.port.empty();
}

std::optional<ClientHalfAlive> clientHalfAlive(const CheckContext& ctx, const std::string& service) {
  const std::string unit = unitName(service);
  if (!hasClientView(ctx.scenario, service)) return std::nullopt;
  const auto [health, port] = probesOf(ctx.scenario, service);
  std::vector<const ProbeAttempt*> ports;
  double interval = 0;
  for (const auto* p : port) {
    for (const auto* a : attemptsOf(ctx, p->name)) ports.push_back(a);
    interval = std::max(interval, p->interval_sec);
  }
  std::optional<ClientHalfAlive> best;
  for (const auto* h : health) {
    const auto attempts = attemptsOf(ctx, h->name);
    const double step = std::max(interval, h->interval_sec);
    std::optional<ClientHalfAlive> run;
    const auto close = [&](double to, bool ongoing) {
      if (!run) return;
      run->to = to;
      run->ongoing = ongoing;
      if (!best || run->to - run->from > best->to - best->from) best = run;
      run.reset();
    };
    for (const auto* a : attempts) {
      const ProbeAttempt* p = a->ok ? nullptr : portAttemptNear(ports, a->t, step);
      const UnitStateChange* s = ctx.index.lastState(unit, a->t);
      const OomEvent* kill = s ? killBefore(ctx, unit, a->t, s->InvocationID) : nullptr;
      if (!p || !p->ok || !s || s->ActiveState != "active" || !kill) {
        close(a->t, false);
        continue;
      }
      if (!run) run = ClientHalfAlive{a->t, a->t, a, p, s, kill, false};
    }
    close(ctx.index.endT(), true);
  }
  return best;
}

extern const CheckDef kCheck_max_unavailable{
    .name = "max_unavailable",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::probe_prefix,
    .blind = kBlindRecordsOnly,
    .passes_when = "from the pressure phase on, no run of failed attempts of the probe lasts longer than the "
                   "duration (from its first failure to the next success); a run still failing at the end and "
                   "shorter than it is inconclusive",
    .evidence = "the first failed and the recovering attempt of the longest outage",
    .judge = checkMaxUnavailable,
};

extern const CheckDef kCheck_recovers_within{
    .name = "recovers_within",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::probe_prefix,
    .blind = kBlindFailureMayBeALoss,
    .passes_when = "after each kill of the probe's service (one per invocation), the probe either never fails or "
                   "succeeds again within the duration of the kill",
    .evidence = "each kill, the first failed attempt after it, the first success after that",
    .judge = checkRecoversWithin,
};

extern const CheckDef kCheck_success_ratio{
    .name = "success_ratio",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::probe_prefix,
    .blind = kBlindRecordsOnly,
    .passes_when = "the share of the probe's attempts that succeed from the pressure phase on is at least the "
                   "ratio",
    .evidence = "the first three failed attempts",
    .judge = checkSuccessRatio,
};

}  // namespace oom
