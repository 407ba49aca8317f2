// systemd-oomd's kills, on a recording of scenarios/oomd-swap.json in a real
// bookworm guest (systemd 252) and a trixie guest (257), 2026-11-29: oomd killed the
// leaking unit on swap use before the kernel ran out, and the kernel killed nothing.
#include "guest/oomd.hpp"

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

}  // namespace
