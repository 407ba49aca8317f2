#include "timeline/timeline.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "timeline/message_ids.hpp"

using namespace oom;

TEST(TimelineStream, FoldsRecordsAndNeedsTheEndSentinel) {
  Timeline t;
  KernelOomKill kill;
  kill.pid = 310;
  kill.comm = "oomstress";
  kill.unit = "worker.service";
  EXPECT_TRUE(applyStreamLine(t, toStreamRecord("oom_kill", kill).dump()));
  EXPECT_FALSE(t.complete);
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"end","status":0})"));
  ASSERT_EQ(t.kills.size(), 1u);
  EXPECT_EQ(t.kills[0].pid, 310);
  EXPECT_EQ(t.kills[0].unit, "worker.service");
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.guest_status, 0);
}

TEST(TimelineStream, ATruncatedLineIsSkippedNotFatal) {
  Timeline t;
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"oom_kill","pid":3)"));
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"no_such_record"})"));
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"phase","t":1.5,"name":"pressure"})"));
  ASSERT_EQ(t.phases.size(), 1u);
  EXPECT_EQ(t.phases[0].name, "pressure");
  EXPECT_TRUE(t.kills.empty());
  // Each line not understood is counted as a loss of the channel, timed when it can be.
  ASSERT_EQ(t.losses.size(), 2u);
  EXPECT_EQ(t.losses[0].source, "channel");
  EXPECT_EQ(t.losses[0].what, "unparsable_line");
  EXPECT_DOUBLE_EQ(t.losses[0].t, -1);
  EXPECT_EQ(t.losses[1].what, "unknown_record");
}

TEST(TimelineStream, RepeatedBadLinesAreCountedInOneLossAndEmptyLinesAreNotLosses) {
  Timeline t;
  EXPECT_FALSE(applyStreamLine(t, ""));
  EXPECT_FALSE(applyStreamLine(t, "  "));
  EXPECT_TRUE(t.losses.empty());
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(applyStreamLine(t, "garbage\x1b[2J"));
  ASSERT_EQ(t.losses.size(), 1u);
  EXPECT_EQ(t.losses[0].count, 3u);
  EXPECT_EQ(t.losses[0].detail, "garbage?[2J");  // no control character carried along
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"sample","t":12.5,"memory_current":"lots"})"));
  ASSERT_EQ(t.losses.size(), 2u);
  EXPECT_DOUBLE_EQ(t.losses[1].t, 12.5);
}

TEST(TimelineStream, EveryRecordTypeTheGuestWritesIsRead) {
  Timeline t;
  for (const char* type : {kRecordGuest, kRecordUnitSetup, kRecordOomKill, kRecordUnitState, kRecordJournal,
                           kRecordSample, kRecordPhase, kRecordKmsg, kRecordGuestSample, kRecordObserverGap,
                           kRecordLoss, kRecordOomd, kRecordPlan, kRecordProbe, kRecordEnd})
    EXPECT_TRUE(applyStreamLine(t, toStreamRecord(type, nlohmann::json::object()).dump())) << type;
  EXPECT_EQ(t.setup.size() + t.kills.size() + t.states.size() + t.journal.size() + t.samples.size() +
                t.phases.size() + t.raw_kernel_oom_lines.size() + t.guest_samples.size() + t.gaps.size() +
                t.losses.size() + t.probes.size(),
            11u);
  EXPECT_TRUE(t.complete);
}

TEST(TimelineStream, AProbeAttemptFoldsAndAMalformedOneIsALoss) {
  Timeline t;
  const ProbeAttempt a{12.5, "health", false, 0.3, "timeout", 0};
  EXPECT_TRUE(applyStreamLine(t, toStreamRecord(kRecordProbe, a).dump()));
  ASSERT_EQ(t.probes.size(), 1u);
  EXPECT_EQ(t.probes[0].probe, "health");
  EXPECT_EQ(t.probes[0].result, "timeout");
  EXPECT_DOUBLE_EQ(t.probes[0].latency_sec, 0.3);
  EXPECT_FALSE(t.probes[0].ok);
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"probe","t":13.5,"probe":"health","ok":"yes"})"));
  EXPECT_EQ(t.probes.size(), 1u);
  ASSERT_EQ(t.losses.size(), 1u);
  EXPECT_EQ(t.losses[0].what, "unparsable_line");
  EXPECT_DOUBLE_EQ(t.losses[0].t, 13.5);
  // A result past the text bound is kept cut, like any record's text.
  const ProbeAttempt long_result{14, "health", false, 0.1, std::string(70 * 1024, 'x'), 0};
  EXPECT_TRUE(applyStreamLine(t, toStreamRecord(kRecordProbe, long_result).dump()));
  ASSERT_EQ(t.probes.size(), 2u);
  EXPECT_LT(t.probes[1].result.size(), 65u * 1024 + 100);
  // A Timeline written before probes existed reads back with none.
  nlohmann::json old = t;
  old.erase("probes");
  EXPECT_TRUE(old.get<Timeline>().probes.empty());
}

TEST(TimelineStream, ThePlanRecordKeepsItsFingerprintAndFacts) {
  Timeline t;
  EXPECT_TRUE(t.plan.fingerprint.empty());  // a timeline recorded before the plan record
  const PlanRecord plan{1.25, "0123456789abcdef", {{"guest.memory", "768M"}, {"services.api.unit.OOMScoreAdjust", "500"}}};
  EXPECT_TRUE(applyStreamLine(t, toStreamRecord(kRecordPlan, plan).dump()));
  EXPECT_EQ(t.plan.fingerprint, "0123456789abcdef");
  EXPECT_EQ(t.plan.facts.at("services.api.unit.OOMScoreAdjust"), "500");
  EXPECT_EQ(t.plan.t, 1.25);
}

TEST(TimelineStream, LossAndGapRecordsKeepTheirFigures) {
  Timeline t;
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"loss","t":12.5,"source":"kmsg","what":"sequence_gap","count":7})"));
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"observer_gap","t":30.0,"length_sec":100.2,"cause":"sampler late"})"));
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"guest_sample","t":31,"mem_available_bytes":1048576,"oom_kill_total":2})"));
  ASSERT_EQ(t.losses.size(), 1u);
  EXPECT_EQ(t.losses[0].count, 7u);
  EXPECT_EQ(t.losses[0].what, "sequence_gap");
  ASSERT_EQ(t.gaps.size(), 1u);
  EXPECT_DOUBLE_EQ(t.gaps[0].length_sec, 100.2);
  ASSERT_EQ(t.guest_samples.size(), 1u);
  EXPECT_EQ(t.guest_samples[0].oom_kill_total, 2u);
}

TEST(MessageIds, AreSystemdsOwnAndEachIsKept) {
  // From systemd's src/systemd/sd-messages.h (252 and 257 alike).
  EXPECT_STREQ(kMsgUnitOutOfMemory, "fe6faa94e7774663a0da52717891d8ef");
  EXPECT_STREQ(kMsgUnitFailureResult, "d9b373ed55a64feb8242e02dbe79a49c");
  EXPECT_STREQ(kMsgUnitRestartScheduled, "5eb03494b6584870a536b337290809b3");
  EXPECT_STREQ(kMsgUnitProcessExit, "98e322203f7a4ed290d09fe03c09fe15");
  EXPECT_STREQ(kMsgUnitOomdKill, "d989611b15e44c9dbf31e3c81256e4ed");
  std::set<std::string> distinct;
  for (const char* id : kUnitMessageIds) {
    EXPECT_EQ(std::string(id).size(), 32u) << id;
    distinct.insert(id);
  }
  EXPECT_EQ(distinct.size(), kUnitMessageIds.size());
}

// Found by scripts/ci-fuzz (UBSan): memory_current as 1.6e82 reached an integer
// field as a float. A float no field can hold makes the record a channel loss.
TEST(TimelineStream, AFloatNoFieldCanHoldIsALossNotAConversion) {
  Timeline t;
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"sample","t":26.0,"unit":"api.service","memory_current":1.5e82})"));
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"oom_kill","t":3.0,"pid":-5.0,"anon_rss_kb":-2.5})"));
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"phase","t":1e300,"name":"pressure"})"));
  EXPECT_TRUE(t.samples.empty());
  EXPECT_TRUE(t.kills.empty());
  EXPECT_TRUE(t.phases.empty());
  ASSERT_FALSE(t.losses.empty());
  EXPECT_EQ(t.losses[0].what, "unparsable_line");
  // Times, lengths and PSI percentages still fold.
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"sample","t":26.5,"unit":"api.service","memory_current":159383552,"pressure_some_avg10":12.5})"));
  ASSERT_EQ(t.samples.size(), 1u);
  EXPECT_EQ(t.samples[0].memory_current, 159383552u);
}

namespace oom {
namespace {

TEST(ProcessLabel, NamesAProcessByItsOwnTitleWhenItGaveItselfOne) {
  EXPECT_EQ(processLabel("nginx", "nginx: worker process"), "nginx \"nginx: worker process\"");
  EXPECT_EQ(processLabel("redis-server", "redis-rdb-bgsave 127.0.0.1:6379"),
            "redis-server \"redis-rdb-bgsave 127.0.0.1:6379\"");
  // An exec line adds nothing to comm, whatever its path and arguments; comm is cut
  // at 15 bytes by the kernel.
  EXPECT_EQ(processLabel("oomstress", "/opt/oomharness/bin/oomstress --target 120M"), "oomstress");
  EXPECT_EQ(processLabel("redis-server", "redis-server 127.0.0.1:6379"), "redis-server");
  EXPECT_EQ(processLabel("systemd-journal", "/lib/systemd/systemd-journald"), "systemd-journal");
  EXPECT_EQ(processLabel("python3", "/usr/bin/python3 app.py"), "python3");
  EXPECT_EQ(processLabel("prefork: worker", "prefork: worker"), "prefork: worker");
  EXPECT_EQ(processLabel("nginx", ""), "nginx");  // never sampled: comm alone
  EXPECT_EQ(processLabel("", "gunicorn: worker [app]"), "\"gunicorn: worker [app]\"");
}

TEST(ProcessLabel, OlderRecordsWithoutATitleReadAsEmpty) {
  const auto sample = nlohmann::json::parse(R"({"pid":7,"comm":"nginx","oom_score":1,"oom_score_adj":0,"rss_bytes":1})")
                          .get<ProcessSample>();
  EXPECT_EQ(sample.cmdline, "");
  const auto kill = nlohmann::json::parse(R"({"t":1,"pid":7,"comm":"nginx"})").get<KernelOomKill>();
  EXPECT_EQ(kill.cmdline, "");
}

}  // namespace
}  // namespace oom
