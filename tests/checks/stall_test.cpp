// max_stall and time_to_kill on the recorded thrash-no-swap runs (bookworm and
// trixie, 2026-11-29): a batch job leaking 1 MiB/s in 768M with no swap left the
// guest with MemAvailable near zero for about 90 s before the kernel killed it.
#include "fixtures.hpp"

using namespace oom;
using namespace oomtest;

namespace {

Verdict judged(const std::string& recording, const std::string& max_stall, const std::string& time_to_kill) {
  const Scenario s = scenario("thrash-no-swap.json", "", [&](nlohmann::ordered_json& doc) {
    doc["expect"]["max_stall"] = max_stall;
    doc["expect"]["time_to_kill"] = time_to_kill;
  });
  return evaluate(s, timeline(recording));
}

TEST(Stall, AThrashingGuestFailsMaxStallAndTimeToKillOnBothReleases) {
  for (const char* file : {"recorded-thrash-no-swap-bookworm.jsonl", "recorded-thrash-no-swap-trixie.jsonl"}) {
    SCOPED_TRACE(file);
    const Verdict v = judged(file, "60s", "30s");
    const auto* stall = find(v, "max_stall");
    ASSERT_NE(stall, nullptr);
    EXPECT_EQ(stall->outcome, CheckOutcome::fail);
    EXPECT_TRUE(has(stall->observed, "longest stall ")) << stall->observed;
    EXPECT_TRUE(has(stall->why, "the OOM policy acted only at")) << stall->why;
    ASSERT_FALSE(stall->evidence.empty());
    EXPECT_TRUE(has(stall->evidence.front().text, "(near zero: at most")) << stall->evidence.front().text;
    const auto* ttk = find(v, "time_to_kill");
    ASSERT_NE(ttk, nullptr);
    EXPECT_EQ(ttk->outcome, CheckOutcome::fail);
    EXPECT_TRUE(has(ttk->observed, "to the first kill at")) << ttk->observed;
    EXPECT_TRUE(has(ttk->evidence.back().text, "Killed process")) << ttk->evidence.back().text;
  }
}

// The same runs with limits above what happened pass: the checks measure, they
// do not fail by construction. Bookworm stalled 106 s, the kill came 95 s in.
TEST(Stall, LimitsAboveWhatHappenedPass) {
  const Verdict v = judged("recorded-thrash-no-swap-bookworm.jsonl", "120s", "100s");
  EXPECT_EQ(outcome(v, "max_stall"), CheckOutcome::pass);
  EXPECT_EQ(outcome(v, "time_to_kill"), CheckOutcome::pass);
  const Verdict tight = judged("recorded-thrash-no-swap-bookworm.jsonl", "105s", "94s");
  EXPECT_EQ(outcome(tight, "max_stall"), CheckOutcome::fail);
  EXPECT_EQ(outcome(tight, "time_to_kill"), CheckOutcome::fail);
}

// A recording without guest samples (an older observer) cannot say: inconclusive.
TEST(Stall, NoGuestSamplesIsInconclusiveNotAPass) {
  const Scenario s = scenario("three-services.json", "", [](nlohmann::ordered_json& doc) {
    doc["expect"]["max_stall"] = "60s";
    doc["expect"]["time_to_kill"] = "30s";
  });
  const Verdict v = evaluate(s, timeline("recorded-three-services-bookworm.jsonl"));
  EXPECT_EQ(outcome(v, "max_stall"), CheckOutcome::inconclusive);
  EXPECT_EQ(outcome(v, "time_to_kill"), CheckOutcome::inconclusive);
}

}  // namespace

namespace {

// scenarios/examples/memoryhigh-livelock.json, recorded on bookworm and trixie (2026-11-29):
// a cache leaking into MemoryHigh=224M with no swap, held there about 51 s and never killed.
Verdict livelock(const std::string& limit, const std::string& release = "bookworm") {
  auto c = loadScenarioFile(source() / "scenarios/examples/memoryhigh-livelock.json");
  EXPECT_TRUE(c.ok());
  auto doc = c.scenario->document;
  doc["expect"]["units"]["cache"]["throttled_not_killed"] = limit;
  auto again = parseScenario(doc.dump(), "memoryhigh-livelock.json");
  EXPECT_TRUE(again.ok());
  return evaluate(*again.scenario, timeline("recorded-memoryhigh-livelock-" + release + ".jsonl"));
}

TEST(Stall, AUnitHeldAtMemoryHighWithoutAKillIsCaught) {
  for (const std::string release : {"bookworm", "trixie"}) {
  SCOPED_TRACE(release);
  const Verdict v = livelock("20s", release);
  const auto* c = find(v, "cache.throttled_not_killed");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::fail) << dump(v);
  EXPECT_TRUE(has(c->observed, "held at MemoryHigh for ")) << c->observed;
  ASSERT_FALSE(c->evidence.empty());
  EXPECT_TRUE(has(c->evidence.front().text, "memory.events high")) << c->evidence.front().text;
  EXPECT_TRUE(find(v, "pressure") && outcome(v, "pressure") == CheckOutcome::pass);
  EXPECT_EQ(outcome(livelock("120s", release), "cache.throttled_not_killed"), CheckOutcome::pass);
  }
}

}  // namespace
