// What the observer did not see decides nothing (issue 22's classes, on real
// recordings of both releases): a hole in the samples, a file the guest could not
// read, a moment of pressure, a cgroup outside the scenario, a setting that never
// reached the guest, a kill the kernel log lost, a timeline cut short after a kill,
// and a gap before the pressure under a check about the end. Each case changes one
// thing in a recording that passes, and names the check that must catch it.
#include <algorithm>

#include "fixtures.hpp"
#include "oom/units.hpp"

using namespace oom;
using namespace oomtest;

namespace {

constexpr const char* kReleases[] = {"bookworm", "trixie"};

std::string file(const std::string& scenario, const std::string& release) {
  return "recorded-" + scenario + "-" + release + ".jsonl";
}

// Every record with a time in (from, to) of the given types removed.
Records without(const Records& recs, std::initializer_list<const char*> types, double from, double to) {
  Records out;
  for (const auto& r : recs) {
    const bool typed = std::any_of(types.begin(), types.end(), [&](const char* t) { return r["type"] == t; });
    if (typed && r.contains("t") && r["t"].get<double>() > from && r["t"].get<double>() < to) continue;
    out.push_back(r);
  }
  return out;
}

}  // namespace

// A 32 s stretch with no sample and no observer_gap record: max_stall (30 s) cannot
// pass over it, and the observation note lists it.
TEST(BlindSpots, AHoleInTheSamplesIsBlindAndMayHideAStall) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    const Records full = records(file("oomd-swap", release));
    const double p0 = phaseT(full, "pressure");
    ASSERT_EQ(evaluate(scenario("oomd-swap.json"), fold(full)).verdict, VerdictKind::pass);
    const Records holed = without(full, {"guest_sample", "sample"}, p0 + 1, p0 + 33);
    const Verdict v = evaluate(scenario("oomd-swap.json"), fold(holed));
    EXPECT_NE(v.verdict, VerdictKind::pass) << dump(v);
    EXPECT_EQ(outcome(v, "max_stall"), CheckOutcome::inconclusive) << find(v, "max_stall")->observed;
    EXPECT_TRUE(has(find(v, "max_stall")->observed, "not observed for")) << find(v, "max_stall")->observed;
    EXPECT_TRUE(has(find(v, "observation")->observed, "1 stretch(es) with no sample and no gap record"))
        << find(v, "observation")->observed;
  }
}

// A hole the sampler itself recorded (observer_gap, sampler late) is a stall, as before:
// no hole is inferred on top of it.
TEST(BlindSpots, AGapTheSamplerRecordedIsNoHole) {
  const Records full = records(file("oomd-swap", "bookworm"));
  const double p0 = phaseT(full, "pressure");
  Records holed = without(full, {"guest_sample", "sample"}, p0 + 1, p0 + 33);
  holed = withRecord(holed, {{"type", "observer_gap"}, {"t", p0 + 0.9}, {"length_sec", 32.2},
                             {"cause", "sampler late: no sample for 32.2s"}});
  const Verdict v = evaluate(scenario("oomd-swap.json"), fold(holed));
  EXPECT_FALSE(has(find(v, "observation")->observed, "no sample and no gap record")) << find(v, "observation")->observed;
  EXPECT_EQ(outcome(v, "max_stall"), CheckOutcome::fail) << find(v, "max_stall")->observed;
}

// MemAvailable and PSI unreadable (their fields 0): no stall can be read from them,
// and none can be ruled out.
TEST(BlindSpots, UnreadableGuestFilesAreNoEvidence) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    Records recs = records(file("oomd-swap", release));
    const double p0 = phaseT(recs, "pressure");
    for (auto& r : recs)
      if (r["type"] == "guest_sample" && r["t"].get<double>() > p0 + 1 && r["t"].get<double>() < p0 + 33) {
        r["mem_available_bytes"] = 0;
        r["pressure_full_avg10"] = 0.0;
        r["unavailable"] = {"proc/meminfo", "proc/pressure/memory"};
      }
    const Verdict v = evaluate(scenario("oomd-swap.json"), fold(recs));
    EXPECT_EQ(outcome(v, "max_stall"), CheckOutcome::inconclusive) << find(v, "max_stall")->observed;
    EXPECT_TRUE(has(find(v, "observation")->observed, "with a file unreadable")) << find(v, "observation")->observed;
  }
}

// A kernel log loss that the oom_kill counter would rule out, with the counter
// unreadable across it: a kill may hide there.
TEST(BlindSpots, AnUnreadableKillCounterRulesNothingOut) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    Records recs = records(file("thrash-no-swap", release));
    const double p0 = phaseT(recs, "pressure");
    recs = withRecord(recs, {{"type", "loss"}, {"t", p0 + 5}, {"source", "kmsg"}, {"what", "sequence_gap"},
                             {"count", 12}, {"detail", "seq 4100 after 4087"}});
    EXPECT_EQ(evaluate(scenario("thrash-no-swap.json"), fold(recs)).verdict, VerdictKind::pass);
    for (auto& r : recs)
      if (r["type"] == "guest_sample") {
        r["oom_kill_total"] = 0;
        r["unavailable"] = {"proc/vmstat"};
      }
    const Verdict v = evaluate(scenario("thrash-no-swap.json"), fold(recs));
    EXPECT_EQ(v.verdict, VerdictKind::inconclusive) << dump(v);
    EXPECT_EQ(outcome(v, "first_killed"), CheckOutcome::inconclusive);
  }
}

// The unit's memory.events unreadable for longer than the limit: throttled_not_killed
// cannot say it was never held there.
TEST(BlindSpots, UnreadableMemoryEventsLeaveThrottlingUnknown) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    Records recs = records(file("oomd-memory-pressure", release));
    const double p0 = phaseT(recs, "pressure");
    const Verdict before = evaluate(scenario("oomd-memory-pressure.json"), fold(recs));
    ASSERT_EQ(outcome(before, "cache.throttled_not_killed"), CheckOutcome::pass);
    for (auto& r : recs)
      if (r["type"] == "sample" && r["unit"] == "cache.service" && r["t"].get<double>() > p0) {
        r.erase("memory_events");
        r["unavailable"] = {{"memory.events", "Input/output error"}};
      }
    const Verdict v = evaluate(scenario("oomd-memory-pressure.json"), fold(recs));
    const auto* c = find(v, "cache.throttled_not_killed");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::inconclusive) << c->observed;
    EXPECT_TRUE(has(c->observed, "memory.events unreadable")) << c->observed;
  }
}

// MemoryHigh= that did not reach the guest cannot have held the unit.
TEST(BlindSpots, ThrottledNotKilledNeedsMemoryHighApplied) {
  Records recs = records(file("oomd-memory-pressure", "trixie"));
  for (auto& r : recs)
    if (r["type"] == "unit_setup" && r["unit"] == "cache.service") r["applied"]["MemoryHigh"] = "18446744073709551615";
  const Verdict v = evaluate(scenario("oomd-memory-pressure.json"), fold(recs));
  EXPECT_EQ(v.verdict, VerdictKind::inconclusive);
  EXPECT_EQ(outcome(v, "setup"), CheckOutcome::inconclusive);
  const auto* c = find(v, "cache.throttled_not_killed");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::inconclusive) << c->observed;
  EXPECT_TRUE(has(c->observed, "MemoryHigh= did not reach cache.service")) << c->observed;
}

// Pressure is the scenario's: a limit hit in a cgroup outside it proves nothing;
// the same rise in one of its units does.
TEST(BlindSpots, PressureInAForeignCgroupProvesNothing) {
  const Records full = records(file("three-services", "bookworm"));
  const double p0 = phaseT(full, "pressure");
  Records cut;
  for (const auto& r : full)
    if (!r.contains("t") || r["t"].get<double>() <= p0 + 1) cut.push_back(r);
  auto sample = [&](const std::string& unit, double t, int max) {
    return nlohmann::json{{"type", "sample"}, {"t", t}, {"unit", unit}, {"memory_current", 10 << 20},
                          {"memory_events", {{"high", 0}, {"max", max}, {"oom", 0}, {"oom_kill", 0}}}};
  };
  const auto negative = R"({"never_killed": ["api", "redis"]})";
  const Records foreign = withRecord(withRecord(cut, sample("sshd.service", p0 - 1, 0)), sample("sshd.service", p0 + 0.5, 7));
  const Verdict v = evaluate(scenario("three-services.json", negative), fold(foreign));
  EXPECT_EQ(outcome(v, "pressure"), CheckOutcome::inconclusive) << find(v, "pressure")->observed;
  const Records own = withRecord(cut, sample("api.service", p0 + 0.9, 7));
  const Verdict w = evaluate(scenario("three-services.json", negative), fold(own));
  EXPECT_EQ(outcome(w, "pressure"), CheckOutcome::pass) << find(w, "pressure")->observed;
}

// killed_by systemd-oomd in a run where systemd-oomd never ran: not a failure of
// oomd, an expectation the run could not test.
TEST(BlindSpots, KilledBySystemdOomdNeedsOomdRunning) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    // oomd-swap's scenario (systemd-oomd on) judged on a run of swap-no-oomd (the same
    // units, no oomd): what evaluate --rejudge would show.
    const Verdict v = evaluate(scenario("oomd-swap.json"), timeline(file("swap-no-oomd", release)));
    const auto* c = find(v, "leaker.killed_by");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::inconclusive) << c->observed;
    EXPECT_TRUE(has(c->observed, "systemd-oomd did not run")) << c->observed;
    // Where it ran, the same expectation is judged.
    const Verdict w = evaluate(scenario("oomd-swap.json"), timeline(file("oomd-swap", release)));
    EXPECT_EQ(outcome(w, "leaker.killed_by"), CheckOutcome::pass);
  }
}

// The kernel log lost the kill (a loss record at that moment); memory.events and
// systemd saw it. "No kill" would be wrong: inconclusive, saying what they saw.
TEST(BlindSpots, AKillTheKernelLogLostIsNotNoKill) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    const Records full = records(file("three-services", release));
    const double k = firstKillT(full);
    Records recs;
    for (const auto& r : full)
      if (r["type"] != "oom_kill" && r["type"] != "kmsg") recs.push_back(r);
    recs = withRecord(recs, {{"type", "loss"}, {"t", k + 0.2}, {"source", "kmsg"}, {"what", "sequence_gap"},
                             {"count", 40}, {"detail", "seq 5200 after 5160"}});
    const Verdict v = evaluate(scenario("three-services.json"), fold(recs));
    EXPECT_EQ(v.verdict, VerdictKind::inconclusive) << dump(v);
    const auto* c = find(v, "report-worker.oom_kills");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::inconclusive) << c->observed;
    EXPECT_TRUE(has(c->observed, "but memory.events counted")) << c->observed;
    EXPECT_TRUE(has(c->why, "kmsg sequence_gap")) << c->why;
    EXPECT_EQ(outcome(v, "first_killed"), CheckOutcome::inconclusive);
  }
}

// The timeline ends half a second after the kill (end record kept): the restart was
// not yet due, so neither restarts nor active_at_end can fail.
TEST(BlindSpots, ATimelineCutShortAfterAKillCannotShowTheRestart) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    const Records full = records(file("three-services", release));
    const double k = firstKillT(full);
    Records cut;
    for (const auto& r : full)
      if (!r.contains("t") || r["t"].get<double>() <= k + 0.5) cut.push_back(r);
    const Verdict v = evaluate(scenario("three-services.json"), fold(cut));
    EXPECT_NE(v.verdict, VerdictKind::fail) << dump(v);
    for (const char* name : {"restarts", "active_at_end"}) {
      const auto* c = find(v, std::string("report-worker.") + name);
      ASSERT_NE(c, nullptr) << name;
      EXPECT_EQ(c->outcome, CheckOutcome::inconclusive) << name << ": " << c->observed;
      EXPECT_TRUE(has(c->observed, "before a restart was due")) << c->observed;
    }
  }
}

// An event-loop gap before the pressure over a unit's start record: the state at the
// end is read at the end (the unit's last sample), so active_at_end stays decided.
TEST(BlindSpots, AGapBeforeThePressureDoesNotBlindTheEnd) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    Records recs = records(file("three-services", release));
    const double p0 = phaseT(recs, "pressure");
    double api_t = -1;
    for (const auto& r : recs)
      if (r["type"] == "unit_state" && r["unit"] == "api.service") api_t = r["t"].get<double>();
    ASSERT_GT(api_t, 0);
    ASSERT_LT(api_t, p0);
    recs = withRecord(recs, {{"type", "observer_gap"}, {"t", api_t - 1}, {"length_sec", 2.0},
                             {"cause", "event loop blocked for 2.0s"}});
    const Verdict v = evaluate(scenario("three-services.json"), fold(recs));
    const auto* c = find(v, "api.active_at_end");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::pass) << c->observed;
    EXPECT_TRUE(has(c->observed, "process(es) in its cgroup at")) << c->observed;
  }
}

// Recorded on both releases: systemd's TEST-55-OOMD re-expressed with a baseline above
// the unit's own MemoryHigh= (scenarios/examples/oomd-baseline-above-high.json). The
// unit never became ready; the reason says so, with systemd-oomd's kill and the cause,
// not "settings not applied".
TEST(BlindSpots, AUnitThatNeverBecameReadyIsSaidWithItsKill) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    const Verdict v = evaluate(scenario("examples/oomd-baseline-above-high.json"),
                               timeline(file("oomd-baseline-above-high", release)));
    EXPECT_EQ(v.verdict, VerdictKind::inconclusive);
    const auto* setup = find(v, "setup");
    ASSERT_NE(setup, nullptr);
    EXPECT_EQ(setup->outcome, CheckOutcome::inconclusive);
    for (const char* part : {"bloat.service never became ready (start job ended with result 'failed')",
                             "killed while starting by systemd-oomd", "due to memory pressure for /workload.slice",
                             "its baseline 100MiB is above its own MemoryHigh=3M"})
      EXPECT_TRUE(has(setup->observed, part)) << part << "\n" << setup->observed;
    EXPECT_FALSE(has(v.reason, "settings not applied")) << v.reason;
    EXPECT_TRUE(std::any_of(setup->evidence.begin(), setup->evidence.end(),
                            [](const Evidence& e) { return has(e.text, "systemd-oomd killed 1 process(es)"); }));
  }
}

// A unit held at its own MemoryHigh= by design: a leak asked beyond it is stopped by the
// scenario's own limit, which is not a load the guest could not deliver.
TEST(BlindSpots, ALoadHeldAtItsOwnLimitIsNoShortfall) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    // (The cache's drop-ins are read relative to the scenario's file: edit the loaded scenario.)
    const auto leaking = [](const std::string& service) {
      Scenario s = scenario("oomd-memory-pressure.json");
      for (auto& svc : s.services)
        if (svc.name == service) svc.load->leak_bytes_per_sec = 400 * MiB;
      return s;
    };
    const Verdict v = evaluate(leaking("cache"), timeline(file("oomd-memory-pressure", release)));
    const auto* c = find(v, "load_fidelity");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::pass) << c->observed;
    EXPECT_TRUE(std::any_of(c->evidence.begin(), c->evidence.end(),
                            [](const Evidence& e) { return has(e.text, "held at its own limit 224MiB, by design"); }))
        << dump(v);
    // The same leak asked of the API, which has no limit of its own, is short.
    const Verdict w = evaluate(leaking("api"), timeline(file("oomd-memory-pressure", release)));
    EXPECT_NE(find(w, "load_fidelity")->outcome, CheckOutcome::pass) << find(w, "load_fidelity")->observed;
  }
}

// The host compares the kernel's cgroup files the guest read back with what systemd
// reported, as the guest does: a guest that reports no mismatch is not taken at its word.
TEST(BlindSpots, TheHostComparesTheCgroupFilesReadBack) {
  Records recs = records(file("oomd-memory-pressure", "trixie"));
  for (auto& r : recs)
    if (r["type"] == "unit_setup" && r["unit"] == "cache.service") {
      r["cgroup"] = {{"memory.high", "max"}, {"memory.max", "268435456"}};
      r["mismatches"] = nlohmann::json::array();
    }
  const Verdict v = evaluate(scenario("oomd-memory-pressure.json"), fold(recs));
  EXPECT_EQ(outcome(v, "setup"), CheckOutcome::inconclusive);
  EXPECT_TRUE(has(find(v, "setup")->observed, "the kernel's memory.high reads max (expected 234881024)"))
      << find(v, "setup")->observed;
}

// Recorded on both releases with the observer awaiting its D-Bus calls in its event
// loop: eleven units installed from drop-ins (one daemon-reload, eleven starts) leave no
// observer gap before the pressure (1.5-10 s of "event loop blocked" before), and the
// units that never changed state are judged active at the end from their last sample.
TEST(BlindSpots, StartingElevenUnitsNoLongerBlindsTheObserver) {
  for (const char* release : kReleases) {
    SCOPED_TRACE(release);
    const Records recs = records(file("many-units", release));
    EXPECT_EQ(std::count_if(recs.begin(), recs.end(), [](const auto& r) { return r["type"] == "observer_gap"; }), 0);
    const Verdict v = evaluate(scenario("many-units.json"), fold(recs));
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    for (const char* unit : {"web", "api", "cron"}) {
      const auto* c = find(v, std::string(unit) + ".active_at_end");
      ASSERT_NE(c, nullptr) << unit;
      EXPECT_EQ(c->outcome, CheckOutcome::pass) << c->observed;
      EXPECT_TRUE(has(c->observed, "process(es) in its cgroup at")) << c->observed;
    }
  }
}

// A short unreadable stretch first does not hide a long one after it: unseen() answers
// with the longest blind spot over the stretch a check depends on.
TEST(BlindSpots, ALongUnreadableStretchAfterAShortOneStillCounts) {
  Records recs = records(file("oomd-memory-pressure", "bookworm"));
  const double p0 = phaseT(recs, "pressure");
  std::vector<double> ts;
  for (const auto& r : recs)
    if (r["type"] == "sample" && r["unit"] == "cache.service" && r["t"].get<double>() > p0) ts.push_back(r["t"]);
  ASSERT_GT(ts.size(), 60u);
  for (auto& r : recs) {
    if (r["type"] != "sample" || r["unit"] != "cache.service") continue;
    const double t = r["t"].get<double>();
    if (t == ts[2] || (t >= ts[10] && t <= ts[60])) {  // one sample, then fifty-one (about 25 s)
      r.erase("memory_events");
      r["unavailable"] = {{"memory.events", "Input/output error"}};
    }
  }
  const Verdict v =
      evaluate(scenario("oomd-memory-pressure.json", R"({"units": {"cache": {"throttled_not_killed": "20s"}}})"),
               fold(recs));
  const auto* c = find(v, "cache.throttled_not_killed");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::inconclusive) << c->observed;
  EXPECT_TRUE(has(c->observed, "memory.events unreadable in 51 sample(s)")) << c->observed;
}
