// timeline/limits.hpp at each limit: exactly at it is folded whole, one past it is
// cut or left out, and the cut is a loss {source "channel", what "over_budget"}.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "timeline/limits.hpp"
#include "timeline/timeline.hpp"

using namespace oom;
using namespace oom::timeline_limits;

namespace {

std::size_t overBudgetLosses(const Timeline& t) {
  std::size_t n = 0;
  for (const auto& l : t.losses) n += l.source == "channel" && l.what == "over_budget";
  return n;
}

// A record's charge: its bytes as result.json writes it, at $.timeline.LIST[i]
// (timeline/limits.hpp), at least kMinRecordCharge.
std::uint64_t writtenCost(const nlohmann::json& folded) {
  const std::string text = folded.dump(2);
  const auto lines = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  return std::max<std::uint64_t>(text.size() + 6 * lines + 2, kMinRecordCharge);
}

// A sample record of `processes` processes.
std::string sampleLine(std::size_t processes, double t = 1.0) {
  std::string line = R"({"type":"sample","t":)" + std::to_string(t) + R"(,"unit":"api.service","processes":[)";
  for (std::size_t i = 0; i < processes; ++i)
    line += std::string(i ? "," : "") + R"({"pid":)" + std::to_string(1000 + i) +
            R"(,"comm":"oomstress","oom_score":500,"oom_score_adj":0,"rss_bytes":1048576})";
  return line + "]}";
}

// A phase record of about `bytes` bytes (its detail padded).
std::string phaseLine(std::size_t bytes, const std::string& detail_char) {
  const std::string head = R"({"type":"phase","t":1.0,"name":"pressure","detail":")", tail = "\"}";
  std::string detail;
  while (head.size() + detail.size() + tail.size() < bytes) detail += detail_char;
  return head + detail + tail;
}

}  // namespace

TEST(TimelineBudget, ProcessesAtTheLimitAreKeptOnePastIsCutWithALoss) {
  Timeline at;
  ASSERT_TRUE(applyStreamLine(at, sampleLine(kMaxArrayItems)));
  EXPECT_EQ(at.samples.at(0).processes.size(), kMaxArrayItems);
  EXPECT_EQ(overBudgetLosses(at), 0u);

  Timeline over;
  ASSERT_TRUE(applyStreamLine(over, sampleLine(kMaxArrayItems + 1, 7.5)));
  EXPECT_EQ(over.samples.at(0).processes.size(), kMaxArrayItems);
  ASSERT_EQ(overBudgetLosses(over), 1u);
  EXPECT_DOUBLE_EQ(over.losses[0].t, 7.5) << "the cut is a blind spot at the record's time";
  EXPECT_NE(over.losses[0].detail.find("cut to 8192 items"), std::string::npos) << over.losses[0].detail;
}

TEST(TimelineBudget, TextAtTheLimitIsKeptOnePastIsCutWithALoss) {
  const std::string head = R"({"type":"phase","t":1.0,"name":"pressure","detail":")";
  Timeline at;
  ASSERT_TRUE(applyStreamLine(at, head + std::string(kMaxStringBytes, 'x') + "\"}"));
  EXPECT_EQ(at.phases.at(0).detail.size(), kMaxStringBytes);
  EXPECT_EQ(overBudgetLosses(at), 0u);

  Timeline over;
  ASSERT_TRUE(applyStreamLine(over, head + std::string(kMaxStringBytes + 1, 'x') + "\"}"));
  EXPECT_EQ(over.phases.at(0).detail.substr(0, kMaxStringBytes), std::string(kMaxStringBytes, 'x'));
  EXPECT_NE(over.phases.at(0).detail.find("(1 bytes cut)"), std::string::npos);
  EXPECT_EQ(overBudgetLosses(over), 1u);
}

TEST(TimelineBudget, ACutNeverSplitsACharacter) {
  Timeline t;
  ASSERT_TRUE(applyStreamLine(t, phaseLine(kMaxStringBytes + 200, "\xc3\xa9")));  // é, 2 bytes
  const std::string& d = t.phases.at(0).detail;
  const std::string kept = d.substr(0, d.find("..."));
  EXPECT_EQ(kept.size() % 2, 0u) << "an é cut in half";
}

TEST(TimelineBudget, ALineAtTheRecordLimitIsFoldedOnePastIsNot) {
  // Within the string limit: a record of exactly kMaxRecordBytes made of many fields.
  std::string line = R"({"type":"journal","t":2.0,"unit":"api.service","fields":{)";
  for (int i = 0; line.size() < kMaxRecordBytes - 70000; ++i)
    line += std::string(i ? "," : "") + "\"F" + std::to_string(i) + "\":\"" + std::string(1000, 'v') + "\"";
  line += ",\"LAST\":\"";
  const std::string tail = "\"}}";
  line += std::string(kMaxRecordBytes - line.size() - tail.size(), 'w') + tail;
  ASSERT_EQ(line.size(), kMaxRecordBytes);
  Timeline at;
  EXPECT_TRUE(applyStreamLine(at, line));
  EXPECT_EQ(at.journal.size(), 1u);

  Timeline over;
  line.insert(line.size() - tail.size(), "w");
  EXPECT_FALSE(applyStreamLine(over, line));
  EXPECT_TRUE(over.journal.empty());
  ASSERT_EQ(overBudgetLosses(over), 1u);
  EXPECT_DOUBLE_EQ(over.losses[0].t, -1);
}

TEST(TimelineBudget, TheWholeTimelineStopsAtItsBudgetButKeepsTheEnd) {
  // Phases that each cost exactly 64 KiB as result.json writes them: exactly
  // kMaxTimelineBytes of them are folded.
  const std::uint64_t empty = writtenCost(Phase{1.0, "pressure", std::string(300, 'x')}) - 300;
  const std::string detail(64 * KiB - empty, 'x');
  ASSERT_EQ(writtenCost(Phase{1.0, "pressure", detail}), 64 * KiB);
  const std::string line = toStreamRecord(kRecordPhase, Phase{1.0, "pressure", detail}).dump();
  Timeline t;
  const std::uint64_t fit = kMaxTimelineBytes / (64 * KiB);
  for (std::uint64_t i = 0; i < fit; ++i) ASSERT_TRUE(applyStreamLine(t, line)) << i;
  EXPECT_EQ(t.folded_bytes, kMaxTimelineBytes);
  EXPECT_EQ(overBudgetLosses(t), 0u);
  EXPECT_FALSE(applyStreamLine(t, line));
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"phase","t":3})"));
  EXPECT_FALSE(applyStreamLine(t, "not a record"));
  EXPECT_EQ(t.phases.size(), fit);
  ASSERT_EQ(overBudgetLosses(t), 1u) << "one loss counts every record left out";
  EXPECT_EQ(t.losses.back().count, 3u);
  EXPECT_DOUBLE_EQ(t.losses.back().t, -1) << "any record of the run may have been left out";
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"end","status":0})"));
  EXPECT_TRUE(t.complete);
}

// What a record costs is what result.json writes for it, defaults included: a
// list of empty objects would be written as processes of five fields each, more
// than kMaxRecordExpansion times its line, and is not folded. A short record the
// guest does write (a kill printed without its report) is.
TEST(TimelineBudget, ARecordThatWouldBeWrittenManyTimesItsSizeIsNotFolded) {
  std::string line = R"({"type":"sample","t":4.5,"unit":"api.service","processes":[)";
  for (std::size_t i = 0; i < 1000; ++i) line += i ? ",{}" : "{}";
  line += "]}";
  Timeline t;
  EXPECT_FALSE(applyStreamLine(t, line));
  EXPECT_TRUE(t.samples.empty());
  ASSERT_EQ(overBudgetLosses(t), 1u);
  EXPECT_DOUBLE_EQ(t.losses[0].t, 4.5);
  EXPECT_NE(t.losses[0].detail.find("more than 8 times its line"), std::string::npos) << t.losses[0].detail;
  EXPECT_TRUE(applyStreamLine(t, R"({"type":"oom_kill","t":5,"pid":310})"));
  EXPECT_EQ(t.kills.size(), 1u);
}

TEST(TimelineBudget, TinyLinesAreChargedTheirFixedFields) {
  Timeline t;
  std::uint64_t folded = 0;
  while (applyStreamLine(t, R"({"type":"sample","t":1})")) ++folded;
  MemorySample tiny;
  tiny.t = 1;
  EXPECT_EQ(folded, kMaxTimelineBytes / writtenCost(tiny));
  EXPECT_EQ(t.samples.size(), folded);
}

TEST(TimelineBudget, ARecordNestedAtItsDepthLimitIsFoldedOneDeeperIsNot) {
  // The record's object is one level; an extra key (ignored by the fold) holds the rest.
  const auto nested = [](std::size_t depth) {
    return R"({"type":"phase","t":1,"name":"pressure","extra":)" + std::string(depth - 1, '[') +
           std::string(depth - 1, ']') + "}";
  };
  Timeline t;
  EXPECT_TRUE(applyStreamLine(t, nested(kMaxRecordDepth)));
  EXPECT_EQ(t.phases.size(), 1u);
  EXPECT_FALSE(applyStreamLine(t, nested(kMaxRecordDepth + 1)));
  EXPECT_FALSE(applyStreamLine(t, R"({"type":"phase","t":1,"x":)" + std::string(100000, '[')));
  EXPECT_EQ(t.phases.size(), 1u);
  ASSERT_EQ(t.losses.size(), 1u) << "both untimed: one loss, counted twice";
  EXPECT_EQ(t.losses[0].what, "unparsable_line");
  EXPECT_EQ(t.losses[0].count, 2u);
}
