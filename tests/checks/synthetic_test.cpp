// Checks against the synthetic fixtures (fixtures/synthetic-*.jsonl, written by
// fixtures/make_fixtures.py): only cases no recorded run covers yet. Whatever a
// recording covers is tested on the recording (recorded_test.cpp) and its
// mutations (mutation_test.cpp).
#include "fixtures.hpp"

using namespace oom;
using namespace oomtest;

TEST(Synthetic, ContinuePolicyLeavesUnitHalfAlive) {
  const Verdict v = evaluate(scenario("half-alive-continue.json"), timeline("synthetic-half-alive-continue.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  const auto* half = find(v, "web.half_alive");
  ASSERT_NE(half, nullptr);
  EXPECT_EQ(half->outcome, CheckOutcome::pass);
  EXPECT_TRUE(has(half->observed, "with 3 of 4 process(es) left")) << half->observed;
  // The proof: systemd's last state by the grace's end (active), and the cgroup before and after.
  bool active_state = false, before = false, after = false;
  for (const auto& e : half->evidence) {
    active_state = active_state || (e.source == "unit_state" && has(e.text, "active/running"));
    before = before || has(e.text, "4 process(es) in web.service before the kill");
    after = after || has(e.text, "3 process(es) still running");
  }
  EXPECT_TRUE(active_state && before && after) << nlohmann::json(*half).dump(2);

  const Verdict strict = evaluate(scenario("half-alive-continue.json", R"({"units": {"web": {"half_alive": false}}})"),
                                  timeline("synthetic-half-alive-continue.jsonl"));
  EXPECT_EQ(strict.verdict, VerdictKind::fail);
  const auto* c = find(strict, "web.half_alive");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::fail);
  EXPECT_TRUE(has(c->why, "OOMPolicy=continue leaves the unit running")) << c->why;
}

TEST(Synthetic, HalfAliveNeedsFewerProcessesThanBeforeTheKill) {
  Records recs = records("synthetic-half-alive-continue.jsonl");
  for (auto& r : recs)  // the unit refilled: four processes again after the grace
    if (r["type"] == "sample" && r["unit"] == "web.service" && r["t"].get<double>() > 46)
      r["processes"].push_back({{"pid", 404}, {"comm", "oomstress"}, {"oom_score", 490}, {"oom_score_adj", 300}, {"rss_bytes", 1}});
  const Verdict v = evaluate(scenario("half-alive-continue.json"), fold(recs));
  const auto* c = find(v, "web.half_alive");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::fail) << dump(v);
  EXPECT_TRUE(has(c->observed, "as many processes after the grace as before the kill")) << c->observed;
}

TEST(Synthetic, HalfAliveNeedsTheInvocationActiveAfterTheGrace) {
  Records recs = records("synthetic-half-alive-continue.jsonl");
  for (auto& r : recs)  // systemd said the unit went down right after the kill
    if (r["type"] == "unit_state" && r["unit"] == "web.service" && r["t"].get<double>() > 44) {
      r["ActiveState"] = "deactivating";
      r["SubState"] = "stop-sigterm";
    }
  const Verdict v = evaluate(scenario("half-alive-continue.json"), fold(recs));
  EXPECT_EQ(outcome(v, "web.half_alive"), CheckOutcome::fail) << dump(v);
}

TEST(Synthetic, RestartLoopHitsTheStartLimitAndSaysWhy) {
  const Verdict v = evaluate(scenario("restart-loop.json"), timeline("synthetic-restart-loop-start-limit.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  const auto* clean = find(v, "exporter.clean_restart");
  ASSERT_NE(clean, nullptr);
  EXPECT_TRUE(has(clean->observed, "start limit hit")) << clean->observed;
  EXPECT_EQ(find(v, "exporter.oom_kills")->observed.substr(0, 10), "3 kill(s) ");

  const Verdict strict = evaluate(scenario("restart-loop.json", R"({"units": {"exporter": {"clean_restart": true}}})"),
                                  timeline("synthetic-restart-loop-start-limit.jsonl"));
  const auto* c = find(strict, "exporter.clean_restart");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::fail);
  EXPECT_TRUE(has(c->why, "more than StartLimitBurst=3 times within StartLimitIntervalSec=300s")) << c->why;
}

TEST(Synthetic, ResultSignalAfterARestartIsWhatSystemd252CanReport) {
  // The second kill came after a restart; systemd 252 ended that invocation with Result=signal.
  const auto expect = R"({"units": {"exporter": {"Result": "oom-kill"}}})";
  const Verdict v = evaluate(scenario("restart-loop.json", expect), timeline("synthetic-restart-loop-start-limit.jsonl"));
  const auto* r = find(v, "exporter.Result");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->outcome, CheckOutcome::pass) << r->observed;
  EXPECT_TRUE(has(r->observed, "signal (accepted: systemd 252 after a restart)")) << r->observed;

  Timeline newer = timeline("synthetic-restart-loop-start-limit.jsonl");
  newer.guest.systemd_version = "257.13-1~deb13u1";  // a version that reports it as oom-kill
  const Verdict strict = evaluate(scenario("restart-loop.json", expect), newer);
  const auto* s = find(strict, "exporter.Result");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->outcome, CheckOutcome::fail) << s->observed;
}

TEST(Synthetic, WitnessesNoteTheKillSystemdDidNotReport) {
  const Verdict v = evaluate(scenario("restart-loop.json"), timeline("synthetic-restart-loop-start-limit.jsonl"));
  const auto* w = find(v, "witnesses");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->outcome, CheckOutcome::note) << w->observed;
  EXPECT_TRUE(has(w->observed, "the kernel killed 1 time(s), systemd reported 0")) << w->observed;
  bool kernel = false, systemd = false;
  for (const auto& e : w->evidence) {
    kernel = kernel || (e.source == "kernel" && e.pid == 510);
    systemd = systemd || (e.source == "journal" && has(e.text, "systemd side"));
  }
  EXPECT_TRUE(kernel && systemd) << nlohmann::json(*w).dump(2);
}

TEST(Synthetic, SetupMismatchIsInconclusiveWithTheMismatchAsEvidence) {
  const Verdict v = evaluate(scenario("three-services.json"), timeline("synthetic-setup-mismatch.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::inconclusive);
  const auto* setup = find(v, "setup");
  ASSERT_NE(setup, nullptr);
  ASSERT_EQ(setup->evidence.size(), 1u);
  EXPECT_TRUE(has(setup->evidence[0].text, "oom_score_adj 0"));
}

TEST(Synthetic, MemoryMaxKillHasMemcgConstraintAndSaysWhyItWasChosen) {
  const Verdict v = evaluate(scenario("memorymax-contained.json"), timeline("synthetic-memorymax-contained.jsonl"));
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  EXPECT_TRUE(has(find(v, "cache-loader.constraint")->observed, "CONSTRAINT_MEMCG"));

  const Verdict wrong = evaluate(scenario("memorymax-contained.json", R"({"never_killed": ["cache-loader"]})"),
                                 timeline("synthetic-memorymax-contained.jsonl"));
  const auto* c = find(wrong, "never_killed", "cache-loader");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::fail);
  EXPECT_TRUE(has(c->why, "confined to /system.slice/cache-loader.service (the unit's MemoryMax= was hit)")) << c->why;
}
