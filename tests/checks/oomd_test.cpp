// systemd-oomd's kills, on a recording of scenarios/oomd-swap.json in a real
// bookworm guest (systemd 252) and a trixie guest (257), 2026-11-29: oomd killed the
// leaking unit on swap use before the kernel ran out, and the kernel killed nothing.
#include "guest/oomd.hpp"

#include <algorithm>

#include "checks/timeline_index.hpp"
#include "fixtures.hpp"

using namespace oom;
using namespace oomtest;

namespace {

constexpr const char* kRecording = "recorded-oomd-swap-bookworm.jsonl";

TEST(Oomd, TheRecordingsPassTheirScenarioWithOomdsOwnReasonAsEvidence) {
  for (const char* file : {kRecording, "recorded-oomd-swap-trixie.jsonl"}) {
    SCOPED_TRACE(file);
    const Timeline t = timeline(file);
    ASSERT_TRUE(t.complete);
    EXPECT_TRUE(t.kills.empty());  // the kernel killed nothing
    const Verdict v = evaluate(scenario("oomd-swap.json"), t);
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    const auto* by = find(v, "leaker.killed_by");
    ASSERT_NE(by, nullptr);
    EXPECT_EQ(by->observed, "0 kill(s) by the kernel, 1 by systemd-oomd");
    bool reason = false;
    for (const auto& e : by->evidence)
      reason = reason || (has(e.text, "systemd-oomd killed 1 process(es) in this unit") &&
                          has(e.text, "swap used") && has(e.text, "being more than 80.00%"));
    EXPECT_TRUE(reason) << dump(v);
    EXPECT_EQ(outcome(v, "pressure"), CheckOutcome::pass);
    EXPECT_EQ(outcome(v, "witnesses"), CheckOutcome::pass);  // Result=oom-kill is oomd's witness
    EXPECT_EQ(outcome(v, "leaker.Result"), CheckOutcome::pass);
  }
}

TEST(Oomd, ExpectationsThatDisagreeWithOomdsKillFail) {
  const Timeline t = timeline(kRecording);
  {
    const Verdict v = evaluate(
        scenario("oomd-swap.json", R"({"units": {"leaker": {"killed_by": "kernel"}}})"), t);
    const auto* c = find(v, "leaker.killed_by");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::fail);
    EXPECT_TRUE(has(c->why, "systemd-oomd acted first: Killed /system.slice/leaker.service"))
        << c->why;
  }
  {
    const Verdict v = evaluate(scenario("oomd-swap.json", R"({"never_killed": ["leaker"]})"), t);
    const auto* c = find(v, "never_killed", "leaker");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::fail);
    EXPECT_EQ(c->observed, "systemd-oomd killed leaker.service 1 time(s)");
  }
  {
    const Verdict v = evaluate(scenario("oomd-swap.json", R"({"first_killed": "api"})"), t);
    const auto* c = find(v, "first_killed");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::fail);
    EXPECT_EQ(c->observed, "first victim: leaker.service (killed by systemd-oomd)");
    EXPECT_TRUE(has(c->why, "systemd-oomd acted before the kernel")) << c->why;
  }
}

// What oomd monitored, as the guest recorded it from oomctl before the pressure:
// the root cgroup (Debian's default) and the unit that set ManagedOOMSwap=kill.
TEST(Oomd, OomctlsMonitoredCgroupsAreParsedFromItsRecordedOutput) {
  const Timeline t = timeline(kRecording);
  ASSERT_EQ(t.oomd.size(), 2u);
  EXPECT_EQ(t.oomd[0].when, "before_pressure");
  const OomdStatus again = parseOomctl(t.oomd[0].text);
  EXPECT_EQ(again.swap_cgroups, (std::vector<std::string>{"/", "/system.slice/leaker.service"}));
  EXPECT_TRUE(again.pressure_cgroups.empty());
  EXPECT_EQ(again.swap_cgroups, t.oomd[0].swap_cgroups);
}

// scenarios/oomd-protected-slice: the cache (400M, idle, ManagedOOMPreference=avoid on
// its own cgroup) holds most of the swap, yet systemd-oomd kills the leaking batch job.
// Recorded on bookworm (252: 11 cgroups weighed, the top 10 listed, the avoided cache
// not among them) and trixie (257: only the slices' units weighed, the list stops at
// the one it killed).
TEST(Oomd, AnAvoidedUnitWithTheMostSwapIsPassedOverAndTheRankingShowsIt) {
  struct Case {
    const char* file;
    std::size_t considered, listed;
  };
  for (const Case& rc : {Case{"recorded-oomd-protected-slice-bookworm.jsonl", 11, 10},
                         Case{"recorded-oomd-protected-slice-trixie.jsonl", 2, 1}}) {
    SCOPED_TRACE(rc.file);
    const Timeline t = timeline(rc.file);
    const Scenario sc = scenario("oomd-protected-slice.json");
    const Verdict v = evaluate(sc, t);
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    EXPECT_TRUE(t.kills.empty());
    const TimelineIndex index(t);
    ASSERT_EQ(index.oomdKills().size(), 1u);
    const OomdKill& k = index.oomdKills()[0];
    EXPECT_EQ(k.unit, "batch.service");
    ASSERT_NE(k.ranking, nullptr);
    EXPECT_EQ(k.ranking->considered, rc.considered);
    ASSERT_EQ(k.ranking->candidates.size(), rc.listed);
    EXPECT_EQ(k.ranking->candidates[0].cgroup, "/batch.slice/batch.service");
    EXPECT_EQ(k.ranking->candidates[0].figures.at(0).first, "Swap Usage");
    EXPECT_EQ(k.ranking->find("cache.service"), nullptr);  // avoided: ranked after every other
    // The observer's own reading: the cache held more swap than the unit oomd killed.
    const MemorySample* cache = nullptr;
    const MemorySample* batch = nullptr;
    for (const auto* s : index.samplesBefore(k.reason->t)) {
      if (s->unit == "cache.service") cache = s;
      if (s->unit == "batch.service") batch = s;
    }
    ASSERT_TRUE(cache && batch);
    ASSERT_TRUE(cache->memory_swap_current && batch->memory_swap_current);
    EXPECT_GT(*cache->memory_swap_current, *batch->memory_swap_current);
    const std::string before = oomdSwapBefore(index, sc, k);
    EXPECT_TRUE(has(before, "cache.service ") && has(before, "(ManagedOOMPreference=avoid), batch.service")) << before;
  }
}

// examples/oomd-slice-avoid-only: the same run with avoid on critical.slice alone.
// systemd-oomd reads no parent's mark, so it kills the cache; the failed checks say
// whom it ranked first and why the slice's mark did not count.
TEST(Oomd, APreferenceOnTheSliceAloneDoesNotProtectTheUnitInIt) {
  for (const char* file : {"recorded-oomd-slice-avoid-only-bookworm.jsonl", "recorded-oomd-slice-avoid-only-trixie.jsonl"}) {
    SCOPED_TRACE(file);
    const Timeline t = timeline(file);
    const Verdict v = evaluate(scenario("examples/oomd-slice-avoid-only.json"), t);
    EXPECT_EQ(v.verdict, VerdictKind::fail) << dump(v);
    const auto* first = find(v, "first_killed");
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->observed, "first victim: cache.service (killed by systemd-oomd)");
    EXPECT_TRUE(has(first->why, "listed first: /critical.slice/cache.service (Swap Usage ")) << first->why;
    EXPECT_TRUE(has(first->why, "cache.service has ManagedOOMPreference=none on its own cgroup, and systemd-oomd "
                                "does not read critical.slice's preference"))
        << first->why;
    EXPECT_TRUE(has(first->why, "just before, the observer read cache.service ")) << first->why;
    EXPECT_EQ(outcome(v, "never_killed", "cache"), CheckOutcome::fail);
    EXPECT_EQ(outcome(v, "collateral"), CheckOutcome::pass);  // ranking lines are not kills
  }
}

// A ranking line that arrives without its header (the journal lost it) is dropped,
// not glued to an earlier ranking.
TEST(Oomd, RankingLinesWithoutTheirHeaderAreNotAttachedToAKill) {
  Records recs = records("recorded-oomd-protected-slice-trixie.jsonl");
  recs.erase(std::remove_if(recs.begin(), recs.end(),
                            [](const nlohmann::json& r) {
                              return r["type"] == "journal" && r["MESSAGE"].get<std::string>().rfind("Considered ", 0) == 0;
                            }),
             recs.end());
  const Timeline t = fold(recs);
  const TimelineIndex index(t);
  ASSERT_EQ(index.oomdKills().size(), 1u);
  EXPECT_EQ(index.oomdKills()[0].ranking, nullptr);
  EXPECT_TRUE(index.oomdRankings().empty());
}

// scenarios/oomd-memory-pressure: capped.slice asks for pressure kills (limit 30%); the
// cache held at MemoryHigh without swap drives the slice's PSI full past it, and
// systemd-oomd kills it on pressure, with its reclaim figures in the ranking.
TEST(Oomd, APressureKillCarriesThePressureFigureAndTheReclaimItWeighed) {
  for (const char* file : {"recorded-oomd-memory-pressure-bookworm.jsonl", "recorded-oomd-memory-pressure-trixie.jsonl"}) {
    SCOPED_TRACE(file);
    const Timeline t = timeline(file);
    const Scenario sc = scenario("oomd-memory-pressure.json");
    const Verdict v = evaluate(sc, t);
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    const TimelineIndex index(t);
    ASSERT_EQ(index.oomdKills().size(), 1u);
    const OomdKill& k = index.oomdKills()[0];
    ASSERT_NE(k.reason, nullptr);
    EXPECT_TRUE(has(k.reason->MESSAGE, "due to memory pressure for /capped.slice being ")) << k.reason->MESSAGE;
    EXPECT_TRUE(has(k.reason->MESSAGE, "> 30.00% for > 10s with reclaim activity")) << k.reason->MESSAGE;
    ASSERT_NE(k.ranking, nullptr);
    const OomdCandidate* cache = k.ranking->find("cache.service");
    ASSERT_NE(cache, nullptr);
    bool pgscan = false, pressure = false;
    for (const auto& [name, value] : cache->figures) {
      pgscan = pgscan || name == "Pgscan";
      pressure = pressure || (name == "Pressure" && has(value, "Avg10: "));
    }
    EXPECT_TRUE(pgscan && pressure) << oomdRankingText(k);
    EXPECT_EQ(oomdSwapBefore(index, sc, k), "");  // no swap in this guest: nothing to show
    EXPECT_TRUE(t.kills.empty());  // the kernel never acted
  }
}

}  // namespace

