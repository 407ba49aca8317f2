// The kernel log as /dev/kmsg returns it (one record per read, dictionary lines
// indented), recorded in the shapes of 6.1 (bookworm) and 6.12 (trixie).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "guest/kmsg_parser.hpp"

namespace oom {
namespace {

std::vector<std::string> kmsgRecords(const std::string& name) {
  std::ifstream in(std::string(OOM_GUEST_FIXTURES) + "/kmsg/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<std::string> records;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() == '#') continue;  // fixture notes
    if (!line.empty() && line.front() == ' ' && !records.empty()) records.back() += line + "\n";
    else records.push_back(line + "\n");
  }
  return records;
}

struct Parsed {
  std::vector<KernelOomKill> kills;
  std::vector<std::string> related;
};

Parsed parseFixture(const std::string& name) {
  OomKillParser parser;
  Parsed out;
  for (const auto& raw : kmsgRecords(name)) {
    auto record = parseKmsgRecord(raw);
    EXPECT_TRUE(record) << raw;
    if (!record) continue;
    auto fed = parser.feed(*record);
    if (fed.oom_related) out.related.push_back(record->text);
    for (auto& k : fed.finished) out.kills.push_back(std::move(k));
  }
  for (auto& k : parser.flushAll()) out.kills.push_back(std::move(k));
  return out;
}

bool hasLine(const KernelOomKill& k, const std::string& part) {
  for (const auto& l : k.lines)
    if (l.find(part) != std::string::npos) return true;
  return false;
}

TEST(KmsgRecord, ParsesPrefixAndDropsDictionary) {
  auto r = parseKmsgRecord("6,1891,40980127,-;virtio_net virtio0 enp0s2: renamed from eth0\n SUBSYSTEM=net\n DEVICE=n2\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->priority, 6);
  EXPECT_EQ(r->seq, 1891u);
  EXPECT_DOUBLE_EQ(r->t, 40.980127);
  EXPECT_EQ(r->text, "virtio_net virtio0 enp0s2: renamed from eth0");
}

TEST(KmsgRecord, AcceptsExtraPrefixFieldsOfNewerKernels) {
  auto r = parseKmsgRecord("4,2001,41234567,-,caller=T331;oomstress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)\n");
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->t, 41.234567);
  EXPECT_EQ(r->text.substr(0, 9), "oomstress");
}

TEST(KmsgRecord, RejectsGarbage) {
  EXPECT_FALSE(parseKmsgRecord("no semicolon here"));
  EXPECT_FALSE(parseKmsgRecord("6,12;text without a timestamp"));
}

TEST(KmsgParser, GlobalKillFromFieldNotes) {
  const auto p = parseFixture("global-single-6.1.kmsg");
  ASSERT_EQ(p.kills.size(), 1u);
  const auto& k = p.kills[0];
  EXPECT_EQ(k.pid, 310);
  EXPECT_EQ(k.comm, "eat");
  EXPECT_DOUBLE_EQ(k.t, 30.10013);
  EXPECT_EQ(k.constraint, "CONSTRAINT_NONE");
  EXPECT_EQ(k.oom_memcg, "");
  EXPECT_EQ(k.invoker_comm, "eat");
  EXPECT_EQ(k.invoker_pid, 310);
  EXPECT_EQ(k.total_vm_kb, 140260u);
  EXPECT_EQ(k.anon_rss_kb, 135208u);
  EXPECT_EQ(k.file_rss_kb, 0u);
  EXPECT_EQ(k.shmem_rss_kb, 0u);
  EXPECT_EQ(k.oom_score_adj, 600);
  EXPECT_FALSE(k.group_kill);
}

TEST(KmsgParser, AttributesToUnitFromTaskMemcg) {
  const auto p = parseFixture("global-single-6.1.kmsg");
  ASSERT_EQ(p.kills.size(), 1u);
  EXPECT_EQ(p.kills[0].task_memcg, "/system.slice/worker.service");
  EXPECT_EQ(p.kills[0].unit, "worker.service");
}

TEST(KmsgParser, UnitFromCgroupTakesTheLastUnitComponent) {
  EXPECT_EQ(unitFromCgroup("/system.slice/worker.service"), "worker.service");
  EXPECT_EQ(unitFromCgroup("/system.slice/worker.service/payload"), "worker.service");
  EXPECT_EQ(unitFromCgroup("/user.slice/user-0.slice/session-1.scope"), "session-1.scope");
  EXPECT_EQ(unitFromCgroup("/system.slice/a.service/b.scope"), "b.scope");
  EXPECT_EQ(unitFromCgroup("/"), "");
  EXPECT_EQ(unitFromCgroup("/batch.slice"), "");
}

TEST(KmsgParser, GroupKillListsEveryMember) {
  const auto p = parseFixture("global-group-kill-6.1.kmsg");
  ASSERT_EQ(p.kills.size(), 2u);
  EXPECT_EQ(p.kills[0].pid, 331);
  EXPECT_FALSE(p.kills[0].group_kill);
  EXPECT_EQ(p.kills[1].pid, 330);
  EXPECT_TRUE(p.kills[1].group_kill);
  for (const auto& k : p.kills) {
    EXPECT_EQ(k.unit, "image-worker.service");
    EXPECT_EQ(k.task_memcg, "/system.slice/image-worker.service");
    EXPECT_EQ(k.constraint, "CONSTRAINT_NONE");
    EXPECT_EQ(k.invoker_comm, "oomstress");
    EXPECT_EQ(k.invoker_pid, 331);
    EXPECT_EQ(k.oom_score_adj, 500);
  }
  EXPECT_EQ(p.kills[1].anon_rss_kb, 246132u);
  EXPECT_DOUBLE_EQ(p.kills[1].t, 41.23485);
}

TEST(KmsgParser, ChosenVictimIsNotCountedTwice) {
  const auto p = parseFixture("global-group-kill-6.1.kmsg");
  int seen331 = 0;
  for (const auto& k : p.kills) seen331 += k.pid == 331;
  EXPECT_EQ(seen331, 1);
  // The repeat is kept as evidence on the chosen victim's record, with the group line.
  const auto& chosen = p.kills[0];
  int killed_lines = 0;
  for (const auto& l : chosen.lines) killed_lines += l.find("Killed process 331") != std::string::npos;
  EXPECT_EQ(killed_lines, 2);
  EXPECT_TRUE(hasLine(chosen, "are going to be killed due to memory.oom.group set"));
}

TEST(KmsgParser, RecordedBookwormGroupKill) {
  // Real guest output: the invoker was journald, not the leaking unit.
  const auto p = parseFixture("recorded-bookworm-group-kill.kmsg");
  ASSERT_EQ(p.kills.size(), 2u);
  EXPECT_EQ(p.kills[0].pid, 202);
  EXPECT_FALSE(p.kills[0].group_kill);
  EXPECT_EQ(p.kills[0].invoker_comm, "systemd-journal");
  EXPECT_EQ(p.kills[0].invoker_pid, 114);
  EXPECT_EQ(p.kills[0].anon_rss_kb, 343972u);
  EXPECT_EQ(p.kills[0].unit, "image-worker.service");
  EXPECT_EQ(p.kills[1].pid, 204);
  EXPECT_TRUE(p.kills[1].group_kill);
  EXPECT_EQ(p.kills[1].unit, "image-worker.service");
  EXPECT_DOUBLE_EQ(p.kills[1].t, 36.851077);
  EXPECT_TRUE(hasLine(p.kills[0], "[    173]     0   173     2847     2817    65536        0         -1000 oomharness-gues"));
}

TEST(KmsgParser, ReaperLineIsAttachedToItsKill) {
  const auto p = parseFixture("global-group-kill-6.1.kmsg");
  ASSERT_EQ(p.kills.size(), 2u);
  EXPECT_TRUE(hasLine(p.kills[0], "oom_reaper: reaped process 331"));
  EXPECT_TRUE(hasLine(p.kills[1], "oom_reaper: reaped process 330"));
  EXPECT_FALSE(hasLine(p.kills[1], "reaped process 331"));
}

TEST(KmsgParser, ChosenVictimCarriesTheCandidateTable) {
  const auto p = parseFixture("global-group-kill-6.1.kmsg");
  const auto& chosen = p.kills[0];
  EXPECT_TRUE(hasLine(chosen, "invoked oom-killer"));
  EXPECT_TRUE(hasLine(chosen, "Tasks state (memory values in pages)"));
  EXPECT_TRUE(hasLine(chosen, "[    301]     0   301    52301    51233"));
  EXPECT_TRUE(hasLine(chosen, "oom-kill:constraint=CONSTRAINT_NONE"));
  // Noise stays out: call trace, Mem-Info, unrelated records.
  EXPECT_FALSE(hasLine(chosen, "dump_stack_lvl"));
  EXPECT_FALSE(hasLine(chosen, "Mem-Info"));
  EXPECT_FALSE(hasLine(chosen, "renamed from eth0"));
}

TEST(KmsgParser, OomRelatedLinesAreRawEvidence) {
  const auto p = parseFixture("global-group-kill-6.1.kmsg");
  auto related = [&](const std::string& part) {
    for (const auto& l : p.related)
      if (l.find(part) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(related("invoked oom-killer"));
  EXPECT_TRUE(related("oom-kill:constraint"));
  EXPECT_TRUE(related("Killed process 330"));
  EXPECT_TRUE(related("memory.oom.group"));
  EXPECT_TRUE(related("oom_reaper: reaped process 330"));
  EXPECT_TRUE(related("[    331]"));
  EXPECT_FALSE(related("dump_stack_lvl"));
  EXPECT_FALSE(related("renamed from eth0"));
  EXPECT_FALSE(related("Started image-worker.service"));
}

TEST(KmsgParser, MemcgConstraintNamesTheLimitedCgroup) {
  const auto p = parseFixture("memcg-restarts-6.12.kmsg");
  ASSERT_EQ(p.kills.size(), 2u);
  const auto& k = p.kills[0];
  EXPECT_EQ(k.constraint, "CONSTRAINT_MEMCG");
  EXPECT_EQ(k.oom_memcg, "/system.slice/api.service");
  EXPECT_EQ(k.unit, "api.service");
  EXPECT_EQ(k.pid, 411);
  EXPECT_EQ(k.invoker_pid, 412);  // 6.12's "CPU: 0 UID: 0 PID: 412" line
  EXPECT_EQ(k.anon_rss_kb, 65536u);
  EXPECT_EQ(k.file_rss_kb, 1436u);
  EXPECT_TRUE(hasLine(k, "memory: usage 131072kB, limit 131072kB"));
  EXPECT_TRUE(hasLine(k, "oom_reaper: reaped process 411"));
}

TEST(KmsgParser, LimitOnASliceIsNotTheVictimsUnit) {
  OomKillParser parser;
  for (const char* raw : {
           "4,1,10000000,-;oomstress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n",
           "6,2,10000100,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
           "oom_memcg=/batch.slice,task_memcg=/batch.slice/report.service,task=oomstress,pid=77,uid=0\n",
           "3,3,10000200,-;Memory cgroup out of memory: Killed process 77 (oomstress) total-vm:1000kB, "
           "anon-rss:900kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:-100\n"})
    parser.feed(*parseKmsgRecord(raw));
  auto kills = parser.flushAll();
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].oom_memcg, "/batch.slice");
  EXPECT_EQ(kills[0].task_memcg, "/batch.slice/report.service");
  EXPECT_EQ(kills[0].unit, "report.service");
  EXPECT_EQ(kills[0].oom_score_adj, -100);
}

TEST(KmsgParser, NextInvocationCompletesThePreviousKill) {
  OomKillParser parser;
  std::vector<KernelOomKill> finished;
  double first_kill_seen_after = -1;
  for (const auto& raw : kmsgRecords("memcg-restarts-6.12.kmsg")) {
    auto record = parseKmsgRecord(raw);
    auto fed = parser.feed(*record);
    if (!fed.finished.empty() && first_kill_seen_after < 0) first_kill_seen_after = record->t;
    for (auto& k : fed.finished) finished.push_back(std::move(k));
  }
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].pid, 411);
  EXPECT_DOUBLE_EQ(first_kill_seen_after, 63.402);  // at the second "invoked oom-killer"
  auto rest = parser.flushAll();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].pid, 432);
  EXPECT_EQ(rest[0].invoker_pid, 433);
  // The second report's table, not the first one's.
  EXPECT_TRUE(hasLine(rest[0], "[    433]"));
  EXPECT_FALSE(hasLine(rest[0], "[    411]"));
}

TEST(KmsgParser, FlushWaitsForTheReaperWindow) {
  OomKillParser parser;
  parser.feed(*parseKmsgRecord(
      "3,3,20000000,-;Out of memory: Killed process 9 (x) total-vm:10kB, anon-rss:9kB, file-rss:0kB, "
      "shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0\n"));
  EXPECT_TRUE(parser.flush(20.5, 1.0).empty());
  auto kills = parser.flush(21.0, 1.0);
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].pid, 9);
  EXPECT_EQ(kills[0].unit, "");  // no oom-kill summary seen: not attributed
  EXPECT_TRUE(parser.flushAll().empty());
}

TEST(KmsgParser, CommWithSpacesAndParentheses) {
  OomKillParser parser;
  parser.feed(*parseKmsgRecord(
      "3,3,20000000,-;Out of memory: Killed process 12 (my (odd) proc) total-vm:10kB, anon-rss:9kB, "
      "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:-5\n"));
  auto kills = parser.flushAll();
  ASSERT_EQ(kills.size(), 1u);
  EXPECT_EQ(kills[0].comm, "my (odd) proc");
  EXPECT_EQ(kills[0].oom_score_adj, -5);
}

TEST(TaskRow, Parses61And612Shapes) {
  auto old_row = parseTaskRow("[    331]     0   331    68301    63201   548864        0           500 oomstress");
  ASSERT_TRUE(old_row);
  EXPECT_EQ(old_row->pid, 331);
  EXPECT_EQ(old_row->total_vm_pages, 68301u);
  EXPECT_EQ(old_row->rss_pages, 63201u);
  EXPECT_EQ(old_row->oom_score_adj, 500);
  EXPECT_EQ(old_row->name, "oomstress");
  auto new_row = parseTaskRow(
      "[    412]     0   412    35104    16610    16251      359         0   176128        0         -1000 oomharness-gues");
  ASSERT_TRUE(new_row);
  EXPECT_EQ(new_row->pid, 412);
  EXPECT_EQ(new_row->rss_pages, 16610u);
  EXPECT_EQ(new_row->oom_score_adj, -1000);
  EXPECT_EQ(new_row->name, "oomharness-gues");
  EXPECT_FALSE(parseTaskRow("[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"));
  EXPECT_FALSE(parseTaskRow("[    1] garbage"));
}

}  // namespace
}  // namespace oom
