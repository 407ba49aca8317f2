// Did the scenario's pressure happen? A PASS needs evidence recorded after the
// `pressure` phase: the baseline ramp (units growing to the sizes the plan gave
// them, before and around the phase) is not pressure.
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include "check_context.hpp"
#include "oom/units.hpp"

namespace oom {
namespace {

// MemAvailable at or below this share of MemTotal is "near zero": the kernel's
// watermarks on a 1 GiB guest are tens of MiB, and OOM kills there happened
// with 20..50 MiB available.
constexpr double kNearZeroShare = 0.05;
constexpr std::uint64_t kNearZeroFloorBytes = 16 * MiB;
constexpr double kPsiFullPercent = kStallPsiFullPercent;
// Recordings without guest samples: the units held this much above their planned
// baselines, and what was available at the start, less what the units held, left
// at most this share of MemTotal.
constexpr std::uint64_t kGrowthAboveBaselineBytes = 32 * MiB;
constexpr double kEstimatedNearZeroShare = 0.10;


// A guest-wide signal proves pressure only when it holds in this many consecutive
// readable guest samples spanning at least this long (README: what proves pressure).
constexpr std::size_t kSustainedSamples = 3;
constexpr double kSustainedSec = 1.0;

// The first run after p0 of consecutive samples for which holds() is true (a sample
// whose file was unreadable breaks it), at least kSustainedSamples long over
// kSustainedSec; its evidence cites the run's first sample.
template <typename Holds, typename Describe>
void sustained(const std::vector<const GuestSample*>& gs, double p0, Holds holds, Describe describe,
               std::vector<Evidence>& ev) {
  for (std::size_t i = 0; i < gs.size(); ++i) {
    if (gs[i]->t <= p0 || !holds(*gs[i])) continue;
    std::size_t j = i;
    while (j + 1 < gs.size() && holds(*gs[j + 1])) ++j;
    if (j - i + 1 >= kSustainedSamples && gs[j]->t - gs[i]->t >= kSustainedSec) {
      ev.push_back(Evidence{gs[i]->t, kRecordGuestSample, "", "", 0, describe(*gs[i], *gs[j], j - i + 1)});
      return;
    }
    i = j;
  }
}

}  // namespace

std::string percentText(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v);
  return buf;
}

std::uint64_t nearZeroAvailableBytes(std::uint64_t mem_total) {
  return std::max<std::uint64_t>(kNearZeroFloorBytes, static_cast<std::uint64_t>(kNearZeroShare * mem_total));
}

PressureProof provePressure(const Scenario& scenario, const TimelineIndex& index) {
  const Timeline& t = index.timeline();
  const double p0 = index.pressureT();
  PressureProof proof;
  auto& ev = proof.evidence;

  // 1. The kernel's OOM killer acted after the phase; or systemd-oomd did, on the
  //    pressure or swap figure its own line gives.
  for (const auto& e : index.events())
    if (e.t >= p0) {
      ev.push_back(killEvidence(*e.victim));
      break;
    }
  for (const auto& k : index.oomdKills())
    if (k.t >= p0) {
      ev.push_back(oomdKillEvidence(k));
      break;
    }

  // 2. The whole guest, where the observer sampled it: the kernel's kill counter
  //    rising (a kill is an event: one reading shows it), or a sustained stall
  //    (one reading of a 10 s average is a moment, not the scenario's pressure).
  if (!t.guest_samples.empty()) {
    std::vector<const GuestSample*> gs;
    for (const auto& g : t.guest_samples) gs.push_back(&g);
    std::stable_sort(gs.begin(), gs.end(), [](auto* a, auto* b) { return a->t < b->t; });
    std::optional<std::uint64_t> kills_before;
    for (const auto* g : gs)
      if (g->isAvailable(kGuestVmstat) && (g->t <= p0 || !kills_before)) kills_before = g->oom_kill_total;
    const std::uint64_t mem_total = t.guest.mem_total_bytes;
    const std::uint64_t near_zero = nearZeroAvailableBytes(mem_total);
    for (const auto* g : gs)
      if (g->t > p0 && kills_before && g->isAvailable(kGuestVmstat) && g->oom_kill_total > *kills_before) {
        ev.push_back(Evidence{g->t, kRecordGuestSample, "", "", 0,
                              "/proc/vmstat oom_kill rose from " + std::to_string(*kills_before) + " to " +
                                  std::to_string(g->oom_kill_total) + " after the pressure phase"});
        break;
      }
    if (mem_total > 0)
      sustained(gs, p0, [&](const GuestSample& g) { return g.isAvailable(kGuestMeminfo) && g.mem_available_bytes <= near_zero; },
                [&](const GuestSample& g, const GuestSample& last, std::size_t n) {
                  return "MemAvailable " + formatSize(g.mem_available_bytes) + " of MemTotal " + formatSize(mem_total) +
                         " (near zero: at most " + formatSize(near_zero) + ") in " + std::to_string(n) +
                         " consecutive guest samples over " + formatTenths(last.t - g.t);
                },
                ev);
    sustained(gs, p0, [&](const GuestSample& g) { return g.isAvailable(kGuestPressure) && g.pressure_full_avg10 >= kPsiFullPercent; },
              [&](const GuestSample& g, const GuestSample& last, std::size_t n) {
                return "/proc/pressure/memory full avg10=" + percentText(g.pressure_full_avg10) + " (at least " +
                       percentText(kPsiFullPercent) + ": every task stalled on memory) in " + std::to_string(n) +
                       " consecutive guest samples over " + formatTenths(last.t - g.t);
              },
              ev);
  }

  // 3. One of the scenario's own units hit its limit or the OOM killer: memory.events
  //    max, oom or oom_kill rose after the phase (counters start again with each new
  //    cgroup). A cgroup outside the scenario proves nothing about it.
  std::set<std::string> scenario_units;
  for (const auto& svc : scenario.services) scenario_units.insert(unitName(svc.name));
  std::map<std::string, std::map<std::string, std::uint64_t>> last;  // unit -> event -> value
  std::set<std::string> proven_units;
  std::vector<const MemorySample*> samples;
  for (const auto& s : t.samples)
    if (scenario_units.count(s.unit) && s.isAvailable(kCgroupMemoryEvents)) samples.push_back(&s);
  std::stable_sort(samples.begin(), samples.end(), [](auto* a, auto* b) { return a->t < b->t; });
  for (const auto* s : samples) {
    auto& prev = last[s->unit];
    for (const char* name : {"max", "oom", "oom_kill"}) {
      auto it = s->memory_events.find(name);
      if (it == s->memory_events.end()) continue;
      const std::uint64_t before = prev.count(name) ? prev[name] : 0;
      if (s->t > p0 && it->second > before && !proven_units.count(s->unit)) {
        proven_units.insert(s->unit);
        ev.push_back(Evidence{s->t, kRecordSample, s->unit, "", 0,
                              std::string("memory.events ") + name + " rose from " + std::to_string(before) +
                                  " to " + std::to_string(it->second) + " in " + s->unit});
      }
      prev[name] = it->second;
    }
  }

  // 4. Recordings without guest samples (older observers): the units grew above
  //    their planned baselines until, by their own size, little was left.
  if (t.guest_samples.empty() && t.guest.mem_available_at_start_bytes > 0 && t.guest.mem_total_bytes > 0) {
    std::map<std::string, std::uint64_t> baseline;
    for (const auto& svc : scenario.services) baseline[unitName(svc.name)] = svc.baselineBytes();
    std::map<long long, std::vector<const MemorySample*>> rounds;  // sampled together (same t, to the ms)
    for (const auto* s : samples)
      if (s->t > p0 && baseline.count(s->unit)) rounds[static_cast<long long>(s->t * 1000)].push_back(s);
    const std::uint64_t start = t.guest.mem_available_at_start_bytes;
    const auto limit = static_cast<std::uint64_t>(kEstimatedNearZeroShare * t.guest.mem_total_bytes);
    for (const auto& [ms, round] : rounds) {
      std::uint64_t held = 0, above = 0;
      for (const auto* s : round) {
        held += s->memory_current;
        if (s->memory_current > baseline[s->unit]) above += s->memory_current - baseline[s->unit];
      }
      const std::uint64_t left = start > held ? start - held : 0;
      if (above >= kGrowthAboveBaselineBytes && left <= limit) {
        ev.push_back(Evidence{round.front()->t, kRecordSample, "", "", 0,
                              "the units held " + formatSize(held) + ", " + formatSize(above) +
                                  " above their planned baselines; of the " + formatSize(start) +
                                  " available at the start about " + formatSize(left) +
                                  " was left (estimated; this recording has no guest MemAvailable)"});
        break;
      }
    }
  }

  proof.proven = !ev.empty();
  if (proof.proven) {
    proof.observed = "proven by " + ev.front().text;
    if (ev.size() > 1) proof.observed += " (and " + std::to_string(ev.size() - 1) + " more)";
  } else {
    proof.observed = "no evidence of pressure after the pressure phase: no kernel or systemd-oomd kill, no memory.events "
                     "max/oom/oom_kill rise in a scenario unit, ";
    proof.observed += t.guest_samples.empty()
                          ? "no growth above the planned baselines that exhausted memory (no guest samples)"
                          : "no MemAvailable near zero or PSI full sustained over 3 readable samples, no /proc/vmstat oom_kill rise in " +
                                std::to_string(t.guest_samples.size()) + " guest sample(s)";
  }
  return proof;
}

CheckResult pressureCheck(const CheckContext& ctx) {
  CheckResult c{.name = "pressure",
                .outcome = ctx.pressure.proven ? CheckOutcome::pass : CheckOutcome::inconclusive,
                .expected = "evidence that the scenario's pressure happened after the pressure phase: a kernel OOM kill, "
                    "a systemd-oomd kill, "
                    "memory.events max/oom/oom_kill in a scenario unit, MemAvailable near zero or PSI full sustained (or, "
                    "without guest samples, "
                    "growth above the planned baselines that exhausted memory)",
                .observed = ctx.pressure.observed,
                .evidence = ctx.pressure.evidence};
  if (!ctx.pressure.proven)
    c.why = "without pressure the expectations were not put to the test: a negative expectation "
            "(never_killed, oom_kills 0, active_at_end) holds trivially";
  return c;
}

extern const CheckDef kCheck_pressure{
    .name = "pressure",
    .kind = CheckKind::run,
    .naming = CheckNaming::scenario,
    .blind = kBlindRecordsOnly,
    .passes_when = "evidence after the `pressure` phase: a kernel OOM kill; `/proc/vmstat oom_kill` rising, "
                   "`MemAvailable` at most 5 % of MemTotal, or memory PSI `full` avg10 ≥ 10 %, each in at least 3 "
                   "consecutive readable guest samples spanning at least 1 s; a scenario unit's "
                   "`memory.events` `max`/`oom`/`oom_kill` rising. A value the guest could not read is no evidence. Recordings without guest samples may instead show the "
                   "units grown ≥ 32 MiB above their *planned baselines* until, by their size, at most 10 % of MemTotal "
                   "was left of what was available at the start. The baseline ramp never counts. Without it: "
                   "inconclusive",
    .evidence = "the strongest proof first: the kill line, the guest or unit sample",
    .judge = [](const CheckContext& ctx, const std::string&, Checks& out) { out.push_back(pressureCheck(ctx)); },
};

}  // namespace oom
