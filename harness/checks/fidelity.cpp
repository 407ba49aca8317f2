// Load fidelity: did oomstress do what the scenario asked? Measured from the
// unit's own samples (the processes' RSS, summed) during its first invocation,
// before its first kill: the baseline held, the leak's rate, the spike's size.
// oomstress's periodic JSON reports stay in the guest (the observer keeps only
// its events), so the cgroup and /proc figures are the measurement.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>

#include "check_context.hpp"
#include "guest/containers.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

constexpr double kBaselineShare = 0.9;     // a baseline counts as held at 90 %
constexpr double kRateShare = 0.5;         // a leak counts as delivered at half its rate
constexpr double kSpikeShare = 0.5;        // a spike counts as delivered at half its size
constexpr double kRateWindowSec = 3.0;     // the leak rate is the best over windows this long

std::uint64_t held(const MemorySample& s) {
  std::uint64_t rss = 0;
  for (const auto& p : s.processes) rss += p.rss_bytes;
  return s.processes.empty() ? s.memory_current : rss;
}

// The unit's own memory limit, the lower of MemoryHigh= and MemoryMax=: as the guest
// read it back (the setup record), else as the scenario sets it; none when unset or
// infinity. A load held at it is held there by design, not short of what was asked.
std::optional<std::uint64_t> ownLimit(const ServiceSpec& svc, const TimelineIndex& index) {
  std::optional<std::uint64_t> limit;
  const auto take = [&](std::optional<std::uint64_t> v) {
    if (v && *v > 0 && *v != UINT64_MAX) limit = limit ? std::min(*limit, *v) : *v;
  };
  if (svc.container && svc.container->memory_bytes) take(*svc.container->memory_bytes);  // --memory
  const UnitSetup* setup = index.setupOf(unitName(svc.name));
  for (const char* directive : {"MemoryHigh", "MemoryMax"}) {
    if (setup) {
      const auto it = setup->applied.find(directive);
      if (it != setup->applied.end()) take(leadingNumber<std::uint64_t>(it->second));
    } else if (const auto v = svc.directive(directive)) {
      if (auto bytes = parseSize(*v)) take(*bytes);
    }
  }
  return limit;
}

std::string rate(double bytes_per_sec) { return formatSize(static_cast<std::uint64_t>(std::max(0.0, bytes_per_sec))) + "/s"; }

}  // namespace

LoadFidelity assessLoad(const Scenario& scenario, const TimelineIndex& index) {
  LoadFidelity f;
  const Expectations& x = scenario.expect;
  for (const auto& svc : scenario.services) {
    if (svc.runsOwnCommand()) continue;  // its own program: no load was asked of it
    const std::string unit = unitName(svc.name);
    const Load& load = *svc.load;
    const auto invocations = index.invocationsOf(unit);
    const auto events = index.eventsIn(unit);
    const double first_kill = events.empty() ? 1e300 : events.front()->t;
    // The first invocation's samples before its first kill: the load as started. A
    // container in a scope of its own holds the load there, outside the unit: the
    // first container's scope (its setup record) is sampled as a unit of its own.
    std::string held_in = unit;
    if (svc.container && svc.container->cgroups != kContainerCgroupsSplit)
      for (const auto& r : index.timeline().containers)
        if (r.unit == unit && r.when == kContainerAtSetup) {
          held_in = containerScopeUnit(r.id);
          break;
        }
    std::vector<const MemorySample*> samples;
    for (const auto* s : index.samplesOf(held_in)) {
      if (s->t >= first_kill || s->memory_events.empty()) continue;
      std::vector<int> pids;
      for (const auto& p : s->processes) pids.push_back(p.pid);
      const Invocation* inv = index.invocationAt(unit, s->t, pids);
      if (held_in == unit && !invocations.empty() && inv && inv != invocations.front()) continue;
      samples.push_back(s);
    }
    if (samples.empty()) {
      f.lines.push_back(svc.name + ": not measured (no sample before its first kill)");
      continue;
    }
    std::uint64_t peak = 0;
    const MemorySample* peak_at = nullptr;
    for (const auto* s : samples)
      if (held(*s) >= peak) { peak = held(*s); peak_at = s; }
    // The kernel's figure at the kill counts too: the last growth is rarely sampled.
    if (!events.empty()) {
      std::uint64_t at_kill = 0;
      for (const auto* m : events.front()->members) at_kill += (m->anon_rss_kb + m->file_rss_kb + m->shmem_rss_kb) * KiB;
      peak = std::max(peak, at_kill);
    }
    std::string line = svc.name + ":";
    // Held at its own limit (90 % of it reached): whatever the load asked beyond it, the
    // scenario's limit stopped it there.
    const auto limit = ownLimit(svc, index);
    const bool at_limit = limit && static_cast<double>(peak) >= kBaselineShare * static_cast<double>(*limit);
    const std::string by_design = at_limit ? " (held at its own limit " + formatSize(*limit) + ", by design)" : "";
    // Baseline.
    const double base_t = [&] {
      for (const auto* s : samples)
        if (static_cast<double>(held(*s)) >= kBaselineShare * static_cast<double>(load.baseline_bytes)) return s->t;
      return -1.0;
    }();
    line += " baseline " + formatSize(load.baseline_bytes) + " asked, " + formatSize(peak) + " at most";
    if (at_limit && *limit < load.baseline_bytes) line += by_design;
    if (load.baseline_bytes > 0 && base_t < 0 && peak < kBaselineShare * static_cast<double>(load.baseline_bytes) &&
        !at_limit) {
      const std::string s = svc.name + " reached at most " + formatSize(peak) + " of its " +
                            formatSize(load.baseline_bytes) + " baseline";
      f.shortfalls.push_back(s);
      f.delivered = false;
      // The kernel picks by size: a unit smaller than planned changes who is chosen.
      const bool about_kills = x.first_killed || !x.kill_order.empty() || !x.never_killed.empty() ||
                               std::any_of(x.units.begin(), x.units.end(), [](const auto& u) { return u.second.oom_kills.has_value(); });
      if (about_kills) f.changes_test = true;
      if (peak_at) f.evidence.push_back(Evidence{peak_at->t, kRecordSample, unit, "", 0, s});
    }
    // Leak: the best rate over any window of kRateWindowSec after the baseline.
    if (load.leak_bytes_per_sec > 0) {
      double best = -1;
      const MemorySample *from = nullptr, *to = nullptr;
      for (std::size_t i = 0; i < samples.size(); ++i) {
        if (base_t < 0 || samples[i]->t < base_t) continue;
        for (std::size_t j = i + 1; j < samples.size(); ++j) {
          const double dt = samples[j]->t - samples[i]->t;
          if (dt < kRateWindowSec) continue;
          const double r = (static_cast<double>(held(*samples[j])) - static_cast<double>(held(*samples[i]))) / dt;
          if (r > best) { best = r; from = samples[i]; to = samples[j]; }
          break;
        }
      }
      const double asked = static_cast<double>(load.leak_bytes_per_sec);
      if (best < 0) {
        line += "; leak " + rate(asked) + " asked, not measured (under " + formatDuration(Seconds(kRateWindowSec)) +
                " of leaking sampled)";
      } else {
        line += "; leak " + rate(asked) + " asked, " + rate(best) + " achieved (best " +
                formatDuration(Seconds(kRateWindowSec)) + ")";
        if (best < kRateShare * asked && at_limit) {
          line += by_design;
        } else if (best < kRateShare * asked) {
          const std::string s = svc.name + " leaked at most " + rate(best) + " of the " + rate(asked) + " asked";
          f.shortfalls.push_back(s);
          f.delivered = false;
          f.evidence.push_back(Evidence{to->t, kRecordSample, unit, "", 0,
                                        s + " (" + formatSize(held(*from)) + " to " + formatSize(held(*to)) + ")"});
        }
      }
    }
    // Spike: on top of the baseline, at its time after the process started.
    if (load.spike) {
      const double want = static_cast<double>(load.baseline_bytes) + kSpikeShare * static_cast<double>(load.spike->bytes);
      const double started = invocations.empty() ? samples.front()->t : invocations.front()->first_t;
      const double due = started + load.spike->at_sec;
      const bool observed_after = samples.back()->t >= due + 2 || (!events.empty() && first_kill >= due);
      line += "; spike " + formatSize(load.spike->bytes) + " asked";
      if (static_cast<double>(peak) >= want) {
        line += ", delivered (" + formatSize(peak) + " held at most)";
      } else if (at_limit) {
        line += by_design;
      } else if (!observed_after) {
        line += ", not measured (the run ended before it was due)";
      } else {
        const std::string s = svc.name + " held at most " + formatSize(peak) + " after its " +
                              formatSize(load.spike->bytes) + " spike (" + formatSize(load.baseline_bytes) +
                              " baseline)";
        line += ", short";
        f.shortfalls.push_back(s);
        f.delivered = false;
        f.evidence.push_back(Evidence{samples.back()->t, kRecordSample, unit, "", 0, s});
      }
    }
    f.lines.push_back(line);
  }
  // A load driver the guest could not start: the traffic that was to grow a service never came.
  for (const auto& ph : index.timeline().phases) {
    if (ph.name != kPhaseDriveFailed) continue;
    const std::string s = "a load driver was not started: " + ph.detail;
    f.shortfalls.push_back(s);
    f.delivered = false;
    f.changes_test = true;
    f.evidence.push_back(Evidence{ph.t, kRecordPhase, "", "", 0, s});
  }
  return f;
}

CheckResult loadFidelityCheck(const CheckContext& ctx) {
  const LoadFidelity& f = ctx.load;
  CheckResult c{.name = "load_fidelity",
                .outcome = CheckOutcome::pass,
                .expected = "each load as the scenario asked: baseline held (90 %), leak at half its rate or more, spike "
                    "delivered (half its size or more)",
                .evidence = f.evidence};
  for (const auto& line : f.lines) c.evidence.push_back(Evidence{-1, kRecordSample, "", "", 0, line});
  if (f.shortfalls.empty()) {
    c.observed = "every measured load delivered";
    return c;
  }
  for (const auto& s : f.shortfalls) c.observed += (c.observed.empty() ? "" : "; ") + s;
  if (f.changes_test || !ctx.pressure.proven) {
    c.outcome = CheckOutcome::inconclusive;
    c.why = f.changes_test ? "the kernel chooses victims by size: a unit smaller than planned changes who is chosen"
                           : "the guest could not deliver the load, and no pressure was proven: the scenario was not tested";
  } else {
    c.outcome = CheckOutcome::note;
  }
  return c;
}

extern const CheckDef kCheck_load_fidelity{
    .name = "load_fidelity",
    .kind = CheckKind::run,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "each unit held 90 % of its baseline, leaked at ≥ half its rate (best 3 s window) and its spike "
                   "reached half its size, measured from the unit's samples (process RSS) before its first kill; a unit "
                   "held at 90 % of its own MemoryHigh=/MemoryMax= is held there by design, not short. A "
                   "shortfall is a note; inconclusive when a unit named in a kill expectation stayed below its baseline "
                   "(the kernel chooses by size) or no pressure was proven",
    .evidence = "the unit's samples",
    .judge = [](const CheckContext& ctx, const std::string&, Checks& out) { out.push_back(loadFidelityCheck(ctx)); },
};

}  // namespace oom
