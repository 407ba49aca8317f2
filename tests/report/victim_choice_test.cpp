// Why this victim: the kernel's own task dump, ranked as the kernel ranks it, and
// for a CONSTRAINT_MEMCG kill only the tasks of that cgroup, on recordings of
// kernel 6.1 (bookworm) and 6.12 (trixie).
#include <gtest/gtest.h>

#include <sstream>

#include "checks/timeline_index.hpp"
#include "recorded_run.hpp"
#include "checks/victim_choice.hpp"
#include "timeline/task_dump.hpp"

using namespace oom;
using namespace oomtest;

TEST(TaskDumpRow, ReadsBothKernelsFormats) {
  // 6.1: uid tgid total_vm rss pgtables_bytes swapents oom_score_adj name
  auto a = parseTaskDumpRow("[    207]     0   207   132785   132051  1101824        0           600 oomstress");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pid, 207);
  EXPECT_EQ(a->rss_pages, 132051u);
  EXPECT_EQ(a->pgtables_bytes, 1101824u);
  EXPECT_EQ(a->swapents, 0u);
  EXPECT_EQ(a->oom_score_adj, 600);
  EXPECT_EQ(a->name, "oomstress");
  // 6.12: rss_anon rss_file rss_shmem between rss and pgtables_bytes.
  auto b = parseTaskDumpRow("[    214]     0   214    66100    65655    65376      279         0   577536       12           200 oomstress");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->rss_pages, 65655u);
  EXPECT_EQ(b->pgtables_bytes, 577536u);
  EXPECT_EQ(b->swapents, 12u);
  EXPECT_EQ(b->oom_score_adj, 200);
  // A name with a space, a negative adj, and the header is no row.
  auto c = parseTaskDumpRow("[    115]     0   115     4776      848    81920        0          -250 systemd journal");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->oom_score_adj, -250);
  EXPECT_EQ(c->name, "systemd journal");
  EXPECT_FALSE(parseTaskDumpRow("[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"));
  EXPECT_FALSE(parseTaskDumpRow("Tasks state (memory values in pages):"));
  EXPECT_FALSE(parseTaskDumpRow("[ 1] 0 1 2"));
}

// Global OOM on both kernels: the worker (adj 600) first, its badness what the
// kernel computes, -1000 tasks left out, the others below it in kernel order.
TEST(VictimChoice, GlobalKillRanksTheKernelsTaskDumpOnBothReleases) {
  for (const char* fixture : {"recorded-three-services-bookworm.jsonl", "recorded-three-services-trixie.jsonl"}) {
    SCOPED_TRACE(fixture);
    const RunReport r = recordedRun("three-services.json", fixture);
    const TimelineIndex index(r.timeline);
    ASSERT_EQ(index.events().size(), 1u);
    const VictimChoice c = explainVictim(index, index.events()[0]);
    EXPECT_EQ(c.source, VictimChoice::Source::task_dump);
    EXPECT_FALSE(c.memcg);
    ASSERT_GE(c.candidates.size(), 3u);
    EXPECT_TRUE(c.candidates[0].victim);
    EXPECT_EQ(c.candidates[0].unit, "report-worker.service");
    EXPECT_EQ(c.candidates[0].oom_score_adj, 600);
    EXPECT_EQ(c.candidates[1].unit, "redis.service");
    for (std::size_t i = 1; i < c.candidates.size(); ++i) {
      EXPECT_GE(c.candidates[i - 1].badness, c.candidates[i].badness);
      EXPECT_FALSE(c.candidates[i].victim);
      EXPECT_GT(c.candidates[i].oom_score_adj, -1000);
    }
    EXPECT_EQ(c.unkillable, 4u) << "udevd, journalctl, oomharness-job and the observer have -1000";
    // The computed oom_score is /proc's: the samples just before the kill said 1418/1420.
    EXPECT_NEAR(c.candidates[0].oom_score, 1419, 3);
    EXPECT_TRUE(has(c.sentence, "report-worker had the highest score")) << c.sentence;
    EXPECT_TRUE(has(c.sentence, "redis")) << c.sentence;
  }
}

// The bug: a MemoryMax kill's candidates must be the cgroup's own tasks,
// never a bystander outside it with a higher score.
TEST(VictimChoice, MemcgKillListsOnlyTheTasksOfThatCgroupOnBothReleases) {
  const std::vector<Recording> memcg = {{"recorded-memorymax-contained-trixie.jsonl", "memorymax-contained.json"},
                                        {"recorded-memorymax-contained-bookworm.jsonl", "memorymax-contained.json"},
                                        {"recorded-burst-many-small-bookworm.jsonl", "burst-many-small.json"},
                                        {"recorded-burst-many-small-trixie.jsonl", "burst-many-small.json"}};
  for (const auto& rec : memcg) {
    SCOPED_TRACE(rec.fixture);
    const RunReport r = recordedRun(rec.scenario, rec.fixture);
    const TimelineIndex index(r.timeline);
    std::size_t with_dump = 0;
    for (const auto& e : index.events()) {
      if (e.victim->constraint != "CONSTRAINT_MEMCG") continue;
      const VictimChoice c = explainVictim(index, e);
      EXPECT_TRUE(c.memcg);
      if (c.source == VictimChoice::Source::none) {
        EXPECT_TRUE(has(c.sentence, "no report")) << c.sentence;
        continue;
      }
      ++with_dump;
      EXPECT_EQ(c.source, VictimChoice::Source::task_dump);
      EXPECT_EQ(c.scope, e.victim->oom_memcg);
      for (const auto& cand : c.candidates) EXPECT_EQ(cand.unit, e.unit) << "pid " << cand.pid << " " << cand.unit;
      EXPECT_TRUE(has(c.sentence, "confined to " + e.victim->oom_memcg)) << c.sentence;
      // The kernel chose the first of its own ranking, or passed over an earlier victim still exiting.
      if (!c.candidates[0].victim) {
        EXPECT_TRUE(has(c.sentence, "a near tie") || has(c.sentence, "already killed")) << c.sentence;
      }
    }
    EXPECT_GT(with_dump, 0u);
  }
}

TEST(VictimChoice, SummaryNamesNoBystanderOutsideTheMemcg) {
  for (const char* fixture : {"recorded-memorymax-contained-trixie.jsonl", "recorded-memorymax-contained-bookworm.jsonl"}) {
    const std::string s = summarize(recordedRun("memorymax-contained.json", fixture));
    std::istringstream lines(s);
    std::size_t why_lines = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.find("    why: ") != 0) continue;
      ++why_lines;
      EXPECT_FALSE(has(line, "api.service")) << line;
      EXPECT_FALSE(has(line, "redis.service")) << line;
    }
    EXPECT_GT(why_lines, 0u) << s;
  }
  const std::string burst = summarize(recordedRun("burst-many-small.json", "recorded-burst-many-small-bookworm.jsonl"));
  EXPECT_FALSE(has(burst, "other candidates: api")) << burst;
  EXPECT_TRUE(has(burst, "other candidates in /system.slice/shards.service (kernel's task dump): shards.service pid"))
      << burst;
}

// A recording without task dumps (synthetic): the samples, still only the memcg's.
TEST(VictimChoice, WithoutATaskDumpTheSamplesOfTheMemcgOnly) {
  const RunReport r = recordedRun("memorymax-contained.json", "synthetic-memorymax-contained.jsonl");
  const TimelineIndex index(r.timeline);
  ASSERT_FALSE(index.events().empty());
  const VictimChoice c = explainVictim(index, index.events()[0]);
  ASSERT_TRUE(c.memcg);
  EXPECT_NE(c.source, VictimChoice::Source::task_dump);
  for (const auto& cand : c.candidates) EXPECT_EQ(cand.unit, index.events()[0].unit);
}

TEST(VictimChoice, GroupMembersAndReportlessKillsSayWhatIsNotKnown) {
  const RunReport r = recordedRun("burst-many-small.json", "recorded-burst-many-small-trixie.jsonl");
  const TimelineIndex index(r.timeline);
  std::size_t reportless = 0;
  for (const auto& e : index.events()) {
    const VictimChoice c = explainVictim(index, e);
    if (c.source != VictimChoice::Source::none) continue;
    ++reportless;
    EXPECT_TRUE(c.candidates.empty());
    EXPECT_TRUE(has(c.sentence, "printed no report")) << c.sentence;
  }
  EXPECT_EQ(reportless, 2u) << "the recording's 2 kills without a report";
}
