// restarts_within on real recordings: report-worker is killed and restarted with
// RestartSec=5s on both releases; the restart loop on trixie is killed again and again.
#include <cmath>

#include "fixtures.hpp"
#include "plan/planner.hpp"

using namespace oom;
using namespace oomtest;

namespace {

const char* const kThreeServices[] = {"recorded-three-services-bookworm.jsonl", "recorded-three-services-trixie.jsonl"};

std::string within(const std::string& window) {
  return R"({"first_killed": "report-worker", "units": {"report-worker": {"restarts_within": ")" + window + R"("}}})";
}

// Seconds from the recording's first kill of report-worker to its next `active` state.
double restartLatency(const Records& recs) {
  double kill = -1;
  for (const auto& r : recs) {
    if (kill < 0 && r["type"] == "oom_kill" && r.value("unit", "") == "report-worker.service") kill = r["t"];
    if (kill >= 0 && r["type"] == "unit_state" && r.value("unit", "") == "report-worker.service" &&
        r.value("ActiveState", "") == "active" && r["t"].get<double>() > kill)
      return r["t"].get<double>() - kill;
  }
  return -1;
}

}  // namespace

TEST(RestartsWithin, PassesWhenTheNextInvocationIsActiveInTimeAndFailsWhenItIsLate) {
  for (const char* file : kThreeServices) {
    SCOPED_TRACE(file);
    const Records recs = records(file);
    const double latency = restartLatency(recs);
    ASSERT_GT(latency, 5.0);  // RestartSec=5s, then oomstress's baseline before READY=1
    {
      const Verdict v = evaluate(scenario("three-services.json", within(std::to_string(latency + 1) + "s")), fold(recs));
      const CheckResult* c = find(v, "report-worker.restarts_within");
      ASSERT_NE(c, nullptr) << dump(v);
      EXPECT_EQ(c->outcome, CheckOutcome::pass) << dump(v);
      EXPECT_NE(c->observed.find("active again after " + formatTenths(latency)), std::string::npos) << c->observed;
      ASSERT_EQ(c->evidence.size(), 2u);
      EXPECT_EQ(c->evidence[0].source, "kernel");
      EXPECT_EQ(c->evidence[1].source, "unit_state");
    }
    const Verdict v = evaluate(scenario("three-services.json", within(std::to_string(latency / 2) + "s")), fold(recs));
    const CheckResult* c = find(v, "report-worker.restarts_within");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->outcome, CheckOutcome::fail) << dump(v);
    EXPECT_NE(c->observed.find("active again only after " + formatTenths(latency)), std::string::npos) << c->observed;
    EXPECT_NE(c->why.find("RestartSec=5s"), std::string::npos) << c->why;
    EXPECT_EQ(v.verdict, VerdictKind::fail);
  }
}

TEST(RestartsWithin, ATimelineEndingInsideTheWindowIsInconclusiveNotAFailure) {
  Records recs = records(kThreeServices[0]);
  double kill = -1;
  for (const auto& r : recs)
    if (kill < 0 && r["type"] == "oom_kill" && r.value("unit", "") == "report-worker.service") kill = r["t"];
  ASSERT_GT(kill, 0);
  Records cut;
  for (const auto& r : recs)
    if (!r.contains("t") || r["t"].get<double>() <= kill + 1.0) cut.push_back(r);
  const Verdict v = evaluate(scenario("three-services.json", within("30s")), fold(cut));
  const CheckResult* c = find(v, "report-worker.restarts_within");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::inconclusive) << dump(v);
  EXPECT_NE(c->observed.find("inside the window"), std::string::npos) << c->observed;
}

TEST(RestartsWithin, AUnitThatIsNeverKilledFailsOncePressureIsProven) {
  const Verdict v = evaluate(
      scenario("three-services.json", R"({"units": {"api": {"restarts_within": "30s"}}})"), timeline(kThreeServices[1]));
  const CheckResult* c = find(v, "api.restarts_within");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::fail) << dump(v);
  EXPECT_EQ(c->observed, "no kill in api.service");
}

TEST(RestartsWithin, EachKillOfARestartLoopIsJudgedAndOneSystemdGaveUpOnFailsWhateverTheWindow) {
  const Records recs = records("recorded-restart-loop-trixie.jsonl");
  const auto base = scenario("restart-loop.json", "", restartLoopAsRun);
  ASSERT_FALSE(base.expect.units.empty());
  const std::string svc = base.expect.units.front().first;
  const Verdict v = evaluate(
      scenario("restart-loop.json", R"({"units": {")" + svc + R"(": {"restarts_within": "1h"}}})", restartLoopAsRun),
      fold(recs));
  const CheckResult* c = find(v, svc + ".restarts_within");
  ASSERT_NE(c, nullptr);
  std::size_t kills = 0, restarts = 0;
  for (const auto& e : c->evidence) {
    kills += e.source == "kernel";
    restarts += e.source == "unit_state";
  }
  // Three kills, one per invocation: the first two restarted within seconds, quoted each
  // with its latency; after the third systemd gave up (the start limit), whatever the window.
  EXPECT_EQ(kills, 3u) << dump(v);
  EXPECT_EQ(restarts, 3u) << dump(v);
  EXPECT_EQ(c->outcome, CheckOutcome::fail) << dump(v);
  std::size_t quoted = 0;
  for (auto at = c->observed.find("active again after"); at != std::string::npos;
       at = c->observed.find("active again after", at + 1))
    ++quoted;
  EXPECT_EQ(quoted, 0u) << c->observed;  // a failure quotes what failed
  EXPECT_NE(c->observed.find("systemd did not restart it; its last state is failed/failed"), std::string::npos)
      << c->observed;
  EXPECT_FALSE(c->why.empty());
}

TEST(RestartsWithin, TheScenarioSaysWhatItNeedsAndThePlanWaitsForTheWindow) {
  auto doc = scenario("three-services.json", within("30s")).document;
  doc["expect"]["units"]["report-worker"]["restarts_within"] = "0s";
  const auto bad = parseScenario(doc.dump(), "x.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.errors[0].str(), "x.json: $.expect.units['report-worker'].restarts_within: expected a duration greater than 0");
  const auto plan = makeGuestPlan(scenario("three-services.json", within("90s")));
  ASSERT_TRUE(plan);
  EXPECT_GE(plan->settle_sec, 90.0);  // the run does not end before the window closes
  EXPECT_GE(plan->decisive_kills, 1u);
}
