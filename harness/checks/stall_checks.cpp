// How long the guest was unusable before the OOM policy acted (max_stall,
// time_to_kill), and a unit held at MemoryHigh= without being killed
// (throttled_not_killed). The worst outcome of a bad policy is often not a kill
// but a host that stays alive and unusable: thrash-no-swap's guest had MemAvailable
// near zero for 84-96 s before the kernel killed anything (README, findings).
#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "check_context.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

// A unit "not growing" while throttled: less than this (bytes per second).
constexpr double kNoProgressBytesPerSec = 1.0 * MiB;
// Intervals this close together are one stretch (a sample interval is 0.5 s).
constexpr double kJoinSec = 0.05;

struct Interval {
  double start = 0, end = 0;
  std::vector<Evidence> evidence;  // what made it count
};

// Sorted, touching intervals merged; each keeps its first and last reasons.
std::vector<Interval> merge(std::vector<Interval> in) {
  std::sort(in.begin(), in.end(), [](const Interval& a, const Interval& b) { return a.start < b.start; });
  std::vector<Interval> out;
  for (auto& i : in) {
    if (!out.empty() && i.start <= out.back().end + kJoinSec) {
      out.back().end = std::max(out.back().end, i.end);
      if (out.back().evidence.size() < 2 && !i.evidence.empty()) out.back().evidence.push_back(i.evidence.back());
      else if (!i.evidence.empty()) out.back().evidence.back() = i.evidence.back();
    } else {
      out.push_back(std::move(i));
    }
  }
  return out;
}

std::string seconds(double s) { return formatTenths(s); }

// Every stretch after the pressure phase in which the guest was unusable: a guest
// sample with MemAvailable near zero or memory PSI full at kStallPsiFullPercent or
// more (until the next sample), or a stretch the sampler could not measure at all.
std::vector<Interval> stalls(const CheckContext& ctx) {
  const Timeline& t = ctx.index.timeline();
  const double p0 = ctx.index.pressureT();
  std::vector<const GuestSample*> gs;
  for (const auto& g : t.guest_samples) gs.push_back(&g);
  std::stable_sort(gs.begin(), gs.end(), [](auto* a, auto* b) { return a->t < b->t; });
  const std::uint64_t near_zero = nearZeroAvailableBytes(t.guest.mem_total_bytes);
  std::vector<Interval> in;
  for (std::size_t i = 0; i + 1 < gs.size(); ++i) {
    const GuestSample& g = *gs[i];
    if (g.t < p0) continue;
    // A file the guest could not read says nothing: the stretch is unknown (unknowns()).
    const bool low = t.guest.mem_total_bytes > 0 && g.isAvailable(kGuestMeminfo) && g.mem_available_bytes <= near_zero;
    const bool psi = g.isAvailable(kGuestPressure) && g.pressure_full_avg10 >= kStallPsiFullPercent;
    if (!low && !psi) continue;
    in.push_back(Interval{g.t, gs[i + 1]->t,
                          {Evidence{g.t, kRecordGuestSample, "", "", 0,
                                    "MemAvailable " + formatSize(g.mem_available_bytes) +
                                        (low ? " (near zero: at most " + formatSize(near_zero) + ")" : "") +
                                        ", memory PSI full avg10 " + percentText(g.pressure_full_avg10)}}});
  }
  for (const auto& gap : t.gaps)
    if (gap.t + gap.length_sec > p0 && gap.cause.rfind(kGapSampler, 0) == 0)
      in.push_back(Interval{std::max(gap.t, p0), gap.t + gap.length_sec,
                            {Evidence{gap.t, kRecordObserverGap, "", "", 0,
                                      "no guest sample for " + seconds(gap.length_sec) + " (" + gap.cause + ")"}}});
  return merge(std::move(in));
}

// Stretches after the pressure phase in which the observer cannot say whether the guest
// was usable: holes in the samples, and samples that read neither MemAvailable nor PSI.
std::vector<Interval> unknowns(const CheckContext& ctx) {
  const double p0 = ctx.index.pressureT();
  std::vector<Interval> in;
  for (const auto& h : ctx.index.sampleHoles())
    if (h.t + h.length_sec > p0)
      in.push_back(Interval{std::max(h.t, p0), h.t + h.length_sec,
                            {Evidence{h.t, kRecordGuestSample, "", "", 0, h.cause}}});
  // Unknown only where the other file was unreadable too.
  for (const auto& b : ctx.blind) {
    if (b.file != kGuestMeminfo || b.to <= p0) continue;
    for (const auto& o : ctx.blind)
      if (o.file == kGuestPressure && o.from < b.to && o.to > b.from)
        in.push_back(Interval{std::max({b.from, o.from, p0}), std::min(b.to, o.to), {b.evidence}});
  }
  return merge(std::move(in));
}

// The first kill (the kernel's or systemd-oomd's) after the pressure phase; -1 if none.
double firstKillT(const CheckContext& ctx, Evidence& evidence) {
  const double p0 = ctx.index.pressureT();
  for (const AnyKill& k : allKills(ctx.index))
    if (k.t >= p0) {
      evidence = evidenceOf(k);
      return k.t;
    }
  return -1;
}

}  // namespace

static void checkMaxStall(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  const auto& limit = ctx.scenario.expect.max_stall;
  if (!limit) return;
  CheckResult c{.name = "max_stall",
                .outcome = CheckOutcome::pass,
                .expected = "the guest is never unusable (MemAvailable near zero, memory PSI full avg10 at " +
                    percentText(kStallPsiFullPercent) + " or more, or no guest sample) for more than " + seconds(*limit)};
  if (ctx.index.timeline().guest_samples.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "no guest samples: this recording cannot say how long the guest was unusable";
    out.push_back(std::move(c));
    return;
  }
  const auto all = stalls(ctx);
  const auto longest = std::max_element(all.begin(), all.end(), [](const Interval& a, const Interval& b) {
    return a.end - a.start < b.end - b.start;
  });
  // The longest stretch that may have been a stall: stalls seen and stretches unseen, joined.
  std::vector<Interval> maybe = all;
  const auto unseen = unknowns(ctx);
  maybe.insert(maybe.end(), unseen.begin(), unseen.end());
  maybe = merge(std::move(maybe));
  const auto longest_maybe = std::max_element(maybe.begin(), maybe.end(), [](const Interval& a, const Interval& b) {
    return a.end - a.start < b.end - b.start;
  });
  const bool known_over = longest != all.end() && longest->end - longest->start > *limit;
  const Interval* blind = nullptr;  // the unseen stretch inside the longest possible stall
  if (longest_maybe != maybe.end())
    for (const auto& u : unseen)
      if (u.start <= longest_maybe->end && u.end >= longest_maybe->start && !blind) blind = &u;
  if (!known_over && blind && longest_maybe->end - longest_maybe->start > *limit) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = (longest == all.end() ? std::string("no stall seen")
                                       : "longest stall seen " + seconds(longest->end - longest->start)) +
                 ", but the guest was not observed for " + seconds(blind->end - blind->start) + " from " +
                 ctx.since(blind->start) + ": the stretch from " + ctx.since(longest_maybe->start) +
                 " to " + ctx.since(longest_maybe->end) + " (" + seconds(longest_maybe->end - longest_maybe->start) +
                 ") may have been one stall";
    c.evidence = blind->evidence;
    c.why = "a stretch without readable samples can hide a stall: " + blind->evidence.front().text;
  } else if (longest == all.end()) {
    c.observed = "never unusable after the pressure phase";
  } else {
    const double length = longest->end - longest->start;
    c.observed = "longest stall " + seconds(length) + ", from " + ctx.since(longest->start) + " to " +
                 ctx.since(longest->end) + " (" + std::to_string(all.size()) + " stall(s) in all)";
    c.evidence = longest->evidence;
    if (length > *limit) {
      c.outcome = CheckOutcome::fail;
      Evidence kill;
      const double k = firstKillT(ctx, kill);
      c.why = k >= longest->start && k <= longest->end + 1
                  ? "the OOM policy acted only at " + ctx.since(k) + ", after the guest had been unusable for " +
                        seconds(k - longest->start)
                  : "nothing was killed to end it: the guest stayed unusable until it recovered on its own or the run ended";
    }
  }
  out.push_back(std::move(c));
}

static void checkTimeToKill(const CheckContext& ctx, const std::string& /*scenario-wide*/, Checks& out) {
  const auto& limit = ctx.scenario.expect.time_to_kill;
  if (!limit) return;
  CheckResult c{.name = "time_to_kill",
                .outcome = CheckOutcome::pass,
                .expected = "the first kill comes within " + seconds(*limit) + " of the guest becoming unusable"};
  if (ctx.index.timeline().guest_samples.empty()) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "no guest samples: this recording cannot say when the guest became unusable";
    out.push_back(std::move(c));
    return;
  }
  Evidence kill;
  const double k = firstKillT(ctx, kill);
  const auto all = stalls(ctx);
  if (k < 0) {
    c.observed = "no kill at all" + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn("", c);
    if (!all.empty()) {
      c.evidence.push_back(all.front().evidence.front());
      c.observed += "; the guest was first unusable at " + ctx.since(all.front().start);
    }
    out.push_back(std::move(c));
    return;
  }
  c.evidence.push_back(kill);
  // The stall the kill ended (or that ran up to it).
  const Interval* before = nullptr;
  for (const auto& i : all)
    if (i.start <= k && i.end >= k - 1) before = &i;
  if (!before) {
    c.observed = "first kill at " + ctx.since(k) + ", with no stall before it";
  } else {
    const double wait = k - before->start;
    c.evidence.insert(c.evidence.begin(), before->evidence.front());
    c.observed = seconds(wait) + " from the stall at " + ctx.since(before->start) + " to the first kill at " +
                 ctx.since(k);
    if (wait > *limit) c.outcome = CheckOutcome::fail;
  }
  out.push_back(std::move(c));
}

static void checkThrottledNotKilled(const CheckContext& ctx, const std::string& svc,
                             Checks& out) {
  const UnitExpectation& e = ctx.expected(svc);
  const std::string unit = unitName(svc);
  const ServiceSpec* spec = ctx.scenario.service(svc);
  const std::string high = spec ? spec->directive("MemoryHigh").value_or("") : "";
  CheckResult c{.name = svc + ".throttled_not_killed",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = unit + " is not held at MemoryHigh=" + high + " (memory.events high rising, growing under 1 MiB/s) "
                    "without being killed for more than " + seconds(*e.throttled_not_killed)};
  // MemoryHigh= as the guest read it back: a limit that never reached the unit cannot hold it.
  const UnitSetup* setup = ctx.index.setupOf(unit);
  const auto applied = setup ? setup->applied.find("MemoryHigh") : decltype(setup->applied.end()){};
  if (!setup || applied == setup->applied.end() || applied->second == std::to_string(UINT64_MAX)) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = !setup ? "no setup record of " + unit + ": nothing shows MemoryHigh= was applied"
                        : "MemoryHigh= did not reach " + unit + " (systemd shows " +
                              (applied == setup->applied.end() ? std::string("no value") : std::string("infinity")) +
                              "): nothing could hold it";
    if (setup) c.evidence.push_back(Evidence{setup->t, "setup", unit, "", 0, c.observed});
    out.push_back(std::move(c));
    return;
  }
  const auto samples = ctx.index.samplesOf(unit);
  std::vector<double> kills;
  for (const auto* k : ctx.index.killsIn(unit)) kills.push_back(k->t);
  for (const auto* k : ctx.index.oomdKillsIn(unit)) kills.push_back(k->t);
  std::vector<Interval> in;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const MemorySample& a = *samples[i - 1];
    const MemorySample& b = *samples[i];
    if (!a.isAvailable(kCgroupMemoryCurrent) || !b.isAvailable(kCgroupMemoryCurrent)) continue;  // unseen (below)
    const auto ha = a.memory_events.find("high"), hb = b.memory_events.find("high");
    if (ha == a.memory_events.end() || hb == b.memory_events.end() || hb->second <= ha->second) continue;
    const double dt = b.t - a.t;
    const double growth = dt > 0 ? (static_cast<double>(b.memory_current) - static_cast<double>(a.memory_current)) / dt : 0;
    const bool killed = std::any_of(kills.begin(), kills.end(), [&](double k) { return k > a.t && k <= b.t; });
    if (growth >= kNoProgressBytesPerSec || killed) continue;
    in.push_back(Interval{a.t, b.t,
                          {Evidence{b.t, kRecordSample, unit, "", 0,
                                    unit + " memory.current " + formatSize(b.memory_current) + ", memory.events high " +
                                        std::to_string(ha->second) + " -> " + std::to_string(hb->second) + " in " +
                                        seconds(dt)}}});
  }
  const auto all = merge(std::move(in));
  const auto longest = std::max_element(all.begin(), all.end(), [](const Interval& x, const Interval& y) {
    return x.end - x.start < y.end - y.start;
  });
  // A stretch in which the unit's memory.events or memory.current could not be read
  // (or no sample was taken) may hide a throttled stretch.
  const double p0 = ctx.index.pressureT(), end = ctx.index.endT();
  const BlindSpot* blind = unseen(ctx, kCgroupMemoryEvents, unit, p0, end);
  if (!blind) blind = unseen(ctx, kCgroupMemoryCurrent, unit, p0, end);
  const bool held_too_long = longest != all.end() && longest->end - longest->start > *e.throttled_not_killed;
  if (blind && !held_too_long && blind->to - blind->from > *e.throttled_not_killed) {
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "not seen for " + seconds(blind->to - blind->from) + ": " + blind->what;
    c.evidence.push_back(blind->evidence);
  } else if (longest == all.end()) {
    c.observed = samples.empty() ? "no sample of " + unit : "never throttled without progress";
    if (samples.empty()) c.outcome = CheckOutcome::inconclusive;
  } else {
    const double length = longest->end - longest->start;
    c.observed = "held at MemoryHigh for " + seconds(length) + ", from " + ctx.since(longest->start) + " to " +
                 ctx.since(longest->end);
    c.evidence = longest->evidence;
    if (length > *e.throttled_not_killed) {
      c.outcome = CheckOutcome::fail;
      c.why = "MemoryHigh= throttles instead of killing: without swap to reclaim into, the unit crawls at its "
              "limit, alive and useless (docs/kernel-and-systemd.md#memoryhigh-without-swap)";
    }
  }
  out.push_back(std::move(c));
}

extern const CheckDef kCheck_max_stall{
    .name = "max_stall",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "the guest is never unusable for longer than this: MemAvailable near zero, memory PSI `full` "
                   "avg10 at 10 % or more, or no guest sample",
    .evidence = "the first and last guest sample (or sampler gap) of the longest stall",
    .judge = checkMaxStall,
};

extern const CheckDef kCheck_time_to_kill{
    .name = "time_to_kill",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "from the start of a stall to the first kill (the kernel's or systemd-oomd's) takes at most "
                   "this long",
    .evidence = "the stall's first guest sample and the first kill",
    .judge = checkTimeToKill,
};

extern const CheckDef kCheck_throttled_not_killed{
    .name = "throttled_not_killed",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindRecordsOnly,
    .passes_when = "the unit is never held at its `MemoryHigh=` (memory.events `high` rising, its memory not "
                   "growing) without a kill for longer than this: the MemoryHigh-without-swap livelock",
    .evidence = "the unit's samples at the start and end of the longest throttled stretch",
    .judge = checkThrottledNotKilled,
};

}  // namespace oom
