// What the observer did not see: its gaps (no sample for longer than it should)
// and every loss it or the host counted (kernel log records overwritten, journal
// gaps, D-Bus errors, channel lines not understood). Each is listed; one that
// overlaps a decisive moment makes the checks that moment decided inconclusive.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>

#include "check_context.hpp"
#include "checks/limits.hpp"
#include "oom/units.hpp"
#include "oom/text.hpp"

namespace oom {
namespace {

// A loss is detected after the fact: the records it stands for were written at
// most this long before it was noticed (longer stalls are observer gaps, which
// the observer records separately), and the clocks of the sources differ by
// far less than the margin after it.
constexpr double kLossLookbackSec = 5.0;
constexpr double kLossAfterSec = 1.0;
// Evidence this close to a blind spot counts as inside it (ordering between
// sources is only as good as their timestamps).
constexpr double kMarginSec = 1.0;


unsigned blindnessOf(const CheckResult& c) {
  const CheckDef* d = checkDefOf(c);
  return d ? d->blind : kBlindRecordsOnly;
}
constexpr unsigned kBlindClaimsNoKill = kBlindNoKillInUnit | kBlindNoKillAnywhere | kBlindNoEarlierKill;

bool blinds(const BlindSpot& b, const std::string& source) {
  if (!b.file.empty()) return false;  // an unreadable file: the checks that read it leave its values out
  if (source == "kernel") return b.stalled || b.kernel;
  if (source == kRecordUnitState || source == kRecordJournal) return b.stalled || b.systemd;
  if (source == kRecordSample) return b.stalled || b.samples;
  return false;  // setup records, phases: before the pressure, or the runner's own
}

// Expectations (and safeguards) are what a blind spot can undo; the run's checks say so themselves.
bool isExpectation(const CheckResult& c) {
  const CheckDef* d = checkDefOf(c);
  return d && (d->kind == CheckKind::expectation || d->kind == CheckKind::safeguard);
}

std::uint64_t cgroupKills(const MemorySample& s) {
  auto get = [&](const char* k) {
    auto it = s.memory_events.find(k);
    return it == s.memory_events.end() ? 0 : it->second;
  };
  return get("oom_group_kill") > 0 ? get("oom_group_kill") : get("oom_kill");
}

// No kill in [from, to] that the kernel log could have lost: the guest's own
// OOM kill counter did not move across it, or (for one unit) the same cgroup was
// sampled before and after it with its kill counter unchanged.
bool noKillHidden(const CheckContext& ctx, const BlindSpot& b, const std::string& unit) {
  const Timeline& t = ctx.index.timeline();
  const GuestSample *before = nullptr, *after = nullptr;
  for (const auto& g : t.guest_samples) {
    if (!g.isAvailable(kGuestVmstat)) continue;  // its counter is no evidence
    if (g.t <= b.from && (!before || g.t > before->t)) before = &g;
    if (g.t >= b.to && (!after || g.t < after->t)) after = &g;
  }
  if (before && after && before->oom_kill_total == after->oom_kill_total) return true;
  if (unit.empty()) return false;
  const MemorySample *s_before = nullptr, *s_after = nullptr;
  for (const auto* s : ctx.index.samplesOf(unit)) {
    if (!s->isAvailable(kCgroupMemoryEvents) || s->memory_events.empty()) continue;
    if (s->t <= b.from) s_before = s;
    if (s->t >= b.to && !s_after) s_after = s;
  }
  if (!s_before || !s_after) return false;
  auto pidsOf = [](const MemorySample* s) {
    std::vector<int> pids;
    for (const auto& p : s->processes) pids.push_back(p.pid);
    return pids;
  };
  const Invocation* a = ctx.index.invocationAt(unit, s_before->t, pidsOf(s_before));
  const Invocation* z = ctx.index.invocationAt(unit, s_after->t, pidsOf(s_after));
  return a && a == z && cgroupKills(*s_before) == cgroupKills(*s_after);
}

// Files whose values the checks read; any other file a sample names as unavailable
// (memory.peak absent on an older kernel, a process gone mid-read) decides nothing.
constexpr const char* kGuestFilesRead[] = {kGuestMeminfo, kGuestVmstat, kGuestPressure};
constexpr const char* kCgroupFilesRead[] = {kCgroupMemoryCurrent, kCgroupMemoryEvents, kCgroupMemoryPressure,
                                            kCgroupProcs};

// One stretch of consecutive samples in which a file could not be read: from the last
// sample that read it (or the first that did not) to the next that did (or the last).
template <typename Sample, typename Unreadable>
void unreadableStretches(const std::vector<const Sample*>& samples, const char* file, const std::string& unit,
                         Unreadable isUnreadable, const std::function<std::string(double)>& since,
                         std::vector<BlindSpot>& out) {
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (!isUnreadable(*samples[i])) continue;
    std::size_t j = i;
    while (j + 1 < samples.size() && isUnreadable(*samples[j + 1])) ++j;
    BlindSpot b;
    b.from = i > 0 ? samples[i - 1]->t : samples[i]->t;
    b.to = j + 1 < samples.size() ? samples[j + 1]->t : samples[j]->t;
    b.file = file;
    b.unit = unit;
    b.what = (unit.empty() ? "" : unit + " ") + file + " unreadable in " + std::to_string(j - i + 1) +
             " sample(s) from " + since(samples[i]->t) + " to " + since(samples[j]->t);
    b.evidence = Evidence{samples[i]->t, unit.empty() ? kRecordGuestSample : kRecordSample, unit, "", 0, b.what};
    out.push_back(std::move(b));
    i = j;
  }
}

void unreadable(const Timeline& t, const std::function<std::string(double)>& since, std::vector<BlindSpot>& out) {
  std::vector<const GuestSample*> gs;
  for (const auto& g : t.guest_samples) gs.push_back(&g);
  std::stable_sort(gs.begin(), gs.end(), [](auto* a, auto* b) { return a->t < b->t; });
  for (const char* file : kGuestFilesRead)
    unreadableStretches(gs, file, "", [&](const GuestSample& g) { return !g.isAvailable(file); }, since, out);
  std::map<std::string, std::vector<const MemorySample*>> per_unit;
  for (const auto& s : t.samples) per_unit[s.unit].push_back(&s);
  for (auto& [unit, samples] : per_unit) {
    std::stable_sort(samples.begin(), samples.end(), [](auto* a, auto* b) { return a->t < b->t; });
    for (const char* file : kCgroupFilesRead)
      unreadableStretches(samples, file, unit, [&](const MemorySample& s) { return !s.isAvailable(file); }, since,
                          out);
  }
}

}  // namespace

const BlindSpot* unseen(const CheckContext& ctx, const char* file, const std::string& unit, double from, double to) {
  const BlindSpot* longest = nullptr;
  for (const auto& b : ctx.blind) {
    if (b.to < from || b.from > to) continue;
    // the sampler did not run, its records are missing, or the file was unreadable
    const bool hides = (b.stalled && b.samples) || (!b.file.empty() && b.file == file && b.unit == unit);
    if (hides && (!longest || b.to - b.from > longest->to - longest->from)) longest = &b;
  }
  return longest;
}

std::vector<BlindSpot> blindSpots(const TimelineIndex& index) {
  const Timeline& t = index.timeline();
  const double p0 = index.pressureT();
  const std::function<std::string(double)> since = [&](double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.1fs", x - p0);
    return std::string(buf);
  };
  std::vector<BlindSpot> out;
  for (const auto& g : t.gaps) {
    BlindSpot b;
    b.from = g.t;
    b.to = g.t + std::max(0.0, g.length_sec);
    if (g.cause.rfind(kGapEventLoop, 0) == 0) {
      // The sampler kept sampling and reading the kernel log; systemd's records of
      // the stretch carry the time they were read, not when they happened.
      b.systemd = true;
    } else {
      b.stalled = b.samples = true;  // kmsg keeps its records meanwhile: a lost one is a loss record
    }
    b.what = "observer gap of " + formatTenths(g.length_sec) + " from " + since(g.t) +
             (g.cause.empty() ? "" : " (" + g.cause + ")");
    b.evidence = Evidence{g.t, kRecordObserverGap, "", "", 0, b.what};
    out.push_back(std::move(b));
  }
  for (const auto& h : index.sampleHoles()) {
    BlindSpot b;
    b.from = h.t;
    b.to = h.t + h.length_sec;
    b.stalled = b.samples = true;
    b.what = "no samples for " + formatTenths(h.length_sec) + " from " + since(h.t) + " (" + h.cause + ")";
    b.evidence = Evidence{h.t, kRecordGuestSample, "", "", 0, b.what};
    out.push_back(std::move(b));
  }
  unreadable(t, since, out);
  for (const auto& l : t.losses) {
    BlindSpot b;
    const bool timed = l.t > 0;
    b.from = timed ? l.t - kLossLookbackSec : -std::numeric_limits<double>::infinity();
    b.to = timed ? l.t + kLossAfterSec : std::numeric_limits<double>::infinity();
    b.kernel = l.source == "kmsg";
    b.systemd = l.source == "journal" || l.source == "dbus";
    if (!b.kernel && !b.systemd) b.stalled = b.kernel = b.systemd = b.samples = true;  // a channel line: any record
    b.what = l.source + " " + l.what + (l.count > 1 ? " x" + std::to_string(l.count) : "") +
             (timed ? " at " + since(l.t) : " (time unknown: the whole run)") +
             (l.detail.empty() ? "" : ": " + l.detail);
    b.evidence = Evidence{timed ? l.t : -1, kRecordLoss, "", "", 0, b.what};
    out.push_back(std::move(b));
  }
  std::stable_sort(out.begin(), out.end(), [](const BlindSpot& a, const BlindSpot& b) { return a.from < b.from; });
  return out;
}

ObserverStats observerStats(const Timeline& t) {
  ObserverStats s;
  std::vector<const GuestSample*> gs;
  for (const auto& g : t.guest_samples) gs.push_back(&g);
  std::stable_sort(gs.begin(), gs.end(), [](auto* a, auto* b) { return a->t < b->t; });
  s.guest_samples = gs.size();
  s.near_zero_bytes = nearZeroAvailableBytes(t.guest.mem_total_bytes);
  for (std::size_t i = 0; i < gs.size(); ++i) {
    const GuestSample& g = *gs[i];
    if (g.pressure_full_avg10 > s.peak_psi_full) {
      s.peak_psi_full = g.pressure_full_avg10;
      s.peak_psi_full_at = g.t;
    }
    s.peak_psi_some = std::max(s.peak_psi_some, g.pressure_some_avg10);
    if (i == 0) continue;
    const GuestSample& prev = *gs[i - 1];
    if (g.t - prev.t > s.longest_sample_interval_sec) {
      s.longest_sample_interval_sec = g.t - prev.t;
      s.longest_sample_interval_at = prev.t;
    }
    const bool meminfo = prev.isAvailable(kGuestMeminfo);
    if (meminfo && t.guest.mem_total_bytes > 0 && prev.mem_available_bytes <= s.near_zero_bytes)
      s.near_zero_sec += g.t - prev.t;
  }
  for (const auto& k : t.kills) {
    if (k.seen_t <= 0) continue;
    ++s.kills_timed;
    s.slowest_kill_sec = std::max(s.slowest_kill_sec, k.seen_t - k.t);
  }
  return s;
}

namespace {

// The first check_limits::kMaxBlindSpotsCited blind spots as evidence, then how many more.
void citeBlindSpots(const std::vector<BlindSpot>& blind, CheckResult& c) {
  using check_limits::kMaxBlindSpotsCited;
  for (std::size_t i = 0; i < blind.size() && i < kMaxBlindSpotsCited; ++i) c.evidence.push_back(blind[i].evidence);
  if (blind.size() <= kMaxBlindSpotsCited) return;
  c.evidence.push_back(Evidence{-1, kRecordLoss, "", "", 0,
                                "... and " + std::to_string(blind.size() - kMaxBlindSpotsCited) +
                                    " more blind spots, not cited (at most " + std::to_string(kMaxBlindSpotsCited) +
                                    " are): timeline.gaps and timeline.losses list them all"});
}

}  // namespace

CheckResult observationCheck(const CheckContext& ctx) {
  CheckResult c{.name = "observation",
                .outcome = CheckOutcome::pass,
                .expected = "the observer saw the whole run: no observer gap, no hole in the samples, no file "
                            "unreadable, no kernel log, journal, D-Bus or channel record lost"};
  const Timeline& t = ctx.index.timeline();
  if (ctx.blind.empty()) {
    c.observed = "no observer gap, no loss";
    return c;
  }
  c.outcome = CheckOutcome::note;  // the checks a blind spot touched say so themselves
  double longest = 0;
  for (const auto& g : t.gaps) longest = std::max(longest, g.length_sec);
  std::uint64_t lost = 0;
  for (const auto& l : t.losses) lost += l.count;
  std::size_t unreadable = 0;
  for (const auto& b : ctx.blind) unreadable += b.file.empty() ? 0 : 1;
  const auto& holes = ctx.index.sampleHoles();
  c.observed = std::to_string(t.gaps.size()) + " observer gap(s)" +
               (t.gaps.empty() ? "" : " (longest " + formatTenths(longest) + ")") + ", " +
               std::to_string(t.losses.size()) + " loss record(s) (" + std::to_string(lost) + " item(s) lost)";
  if (!holes.empty()) c.observed += ", " + std::to_string(holes.size()) + " stretch(es) with no sample and no gap record";
  if (unreadable > 0) c.observed += ", " + std::to_string(unreadable) + " stretch(es) with a file unreadable";
  citeBlindSpots(ctx.blind, c);
  return c;
}

void applyBlindness(const CheckContext& ctx, Checks& checks) {
  if (ctx.blind.empty()) return;
  const double p0 = ctx.index.pressureT();
  for (auto& c : checks) {
    if (!isExpectation(c)) continue;
    const unsigned blind = blindnessOf(c);
    if (c.outcome != CheckOutcome::pass &&
        !(c.outcome == CheckOutcome::fail && (blind & kBlindFailureMayBeALoss)))
      continue;
    std::string reason;
    const BlindSpot* hit = nullptr;
    // A decisive moment (the records this check cites) inside a blind spot of the
    // witness that recorded it (or of the whole observer).
    for (const auto& e : c.evidence) {
      if (e.t < 0) continue;
      for (const auto& b : ctx.blind)
        if (blinds(b, e.source) && e.t >= b.from - kMarginSec && e.t <= b.to + kMarginSec) {
          hit = &b;
          reason = b.what + " overlaps the " + e.source + " record at " + ctx.since(e.t) + " that decided it";
          break;
        }
      if (hit) break;
    }
    // A claim that no kill (or no earlier kill) happened, while the kernel log was incomplete.
    if (!hit && c.outcome == CheckOutcome::pass && (blind & kBlindClaimsNoKill)) {
      double until = std::numeric_limits<double>::infinity();
      if (blind & kBlindNoEarlierKill)
        for (const auto& e : c.evidence)
          if (e.source == "kernel") until = std::min(until, e.t);
      const std::string unit = c.unit.empty() ? "" : unitName(c.unit);
      for (const auto& b : ctx.blind) {
        if (!b.kernel || b.to < p0 || b.from > until) continue;
        if (noKillHidden(ctx, b, (blind & kBlindNoKillInUnit) ? unit : ""))
          continue;
        hit = &b;
        reason = b.what + ": a kill then would be missing from the kernel log, and neither /proc/vmstat oom_kill "
                          "nor the unit's memory.events rules one out";
        break;
      }
    }
    if (!hit) continue;
    c.outcome = CheckOutcome::inconclusive;
    c.observed = "observer blind: " + reason + "; as recorded: " + c.observed;
    if (c.why.empty()) c.why = "a loss or gap at a decisive moment: the records that would decide it may be missing";
    c.evidence.push_back(hit->evidence);
  }
}

extern const CheckDef kCheck_observation{
    .name = "observation",
    .kind = CheckKind::run,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "no observer gap and no loss. Otherwise a note listing each; the checks a blind spot touches turn "
                   "inconclusive (see Blind spots). Whatever the outcome, the summary's `observer:` line gives the "
                   "longest interval between guest samples and how long the slowest kill took from the kernel's line to "
                   "the timeline, and its `stall:` line the peak memory PSI and how long MemAvailable was near zero",
    .evidence = "each `observer_gap` and `loss` record",
    .judge = [](const CheckContext& ctx, const std::string&, Checks& out) { out.push_back(observationCheck(ctx)); },
};

}  // namespace oom
