// The kernel log as /dev/kmsg returns it (one record per read, dictionary lines
// indented), recorded in the shapes of 6.1 (bookworm) and 6.12 (trixie).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "live/kmsg_parser.hpp"

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

TEST(KmsgParser, ParsesRecordHeaderAndSkipsContinuationLines) {
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

TEST(KmsgParser, GlobalOomBuildsTheChosenVictim) {
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

TEST(KmsgParser, KeepsTheCandidatesTable) {
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
  // The group member's record does not repeat the table: it was not weighed, it went with the group.
  EXPECT_FALSE(hasLine(p.kills[1], "Tasks state"));
}

TEST(KmsgParser, CandidatesTableIsParsed) {
  OomKillParser parser;
  for (const auto& raw : kmsgRecords("global-group-kill-6.1.kmsg")) parser.feed(*parseKmsgRecord(raw));
  const auto& rows = parser.candidates();
  ASSERT_EQ(rows.size(), 9u);
  EXPECT_EQ(rows.front().pid, 198);
  EXPECT_EQ(rows.front().name, "systemd-journal");
  EXPECT_EQ(rows.front().oom_score_adj, -250);
  EXPECT_EQ(rows.back().pid, 331);
  EXPECT_EQ(rows.back().rss_pages, 63201u);
  EXPECT_EQ(rows.back().total_vm_pages, 68301u);
  EXPECT_EQ(rows.back().oom_score_adj, 500);
  EXPECT_EQ(rows[7].pid, 330);
  EXPECT_EQ(rows[7].uid, 0);
  EXPECT_EQ(OomKillParser().candidates().size(), 0u);
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

TEST(KmsgParser, TwoReportsInARowStayApart) {
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
  EXPECT_FALSE(hasLine(rest[0], "Killed process 411"));
  EXPECT_FALSE(hasLine(finished[0], "Killed process 432"));
  EXPECT_DOUBLE_EQ(finished[0].t, 52.00116);
  // The candidates are the second report's, in 6.12's wider row shape.
  ASSERT_EQ(parser.candidates().size(), 2u);
  EXPECT_EQ(parser.candidates()[0].pid, 432);
  EXPECT_EQ(parser.candidates()[0].rss_pages, 16800u);
}

TEST(KmsgParser, SamePidInTwoReportsIsTwoKills) {
  // Dedup is per report: a pid reused (or a restarted unit) in the next OOM is a new kill.
  OomKillParser parser;
  std::vector<KernelOomKill> kills;
  for (const char* raw : {
           "4,1,10000000,-;a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n",
           "3,2,10000200,-;Out of memory: Killed process 77 (a) total-vm:1000kB, anon-rss:900kB, file-rss:0kB, "
           "shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0\n",
           "4,3,20000000,-;a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n",
           "3,4,20000200,-;Out of memory: Killed process 77 (a) total-vm:1000kB, anon-rss:800kB, file-rss:0kB, "
           "shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0\n"})
    for (auto& k : parser.feed(*parseKmsgRecord(raw)).finished) kills.push_back(std::move(k));
  for (auto& k : parser.flushAll()) kills.push_back(std::move(k));
  ASSERT_EQ(kills.size(), 2u);
  EXPECT_EQ(kills[0].anon_rss_kb, 900u);
  EXPECT_EQ(kills[1].anon_rss_kb, 800u);
}

TEST(KmsgParser, ReaperAfterItsKillWasEmittedIsOnlyEvidence) {
  OomKillParser parser;
  parser.feed(*parseKmsgRecord(
      "3,3,20000000,-;Out of memory: Killed process 9 (x) total-vm:10kB, anon-rss:9kB, file-rss:0kB, "
      "shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:0\n"));
  ASSERT_EQ(parser.flush(25.0, 1.0).size(), 1u);
  auto fed = parser.feed(*parseKmsgRecord(
      "6,4,25100000,-;oom_reaper: reaped process 9 (x), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB\n"));
  EXPECT_TRUE(fed.oom_related);
  EXPECT_TRUE(fed.finished.empty());
  EXPECT_TRUE(parser.flushAll().empty());
}

TEST(KmsgParser, IsOomRelatedJudgesALineAlone) {
  EXPECT_TRUE(isOomRelated("oomstress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"));
  EXPECT_TRUE(isOomRelated("Tasks state (memory values in pages):"));
  EXPECT_TRUE(isOomRelated("[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"));
  EXPECT_TRUE(isOomRelated("[    310]     0   310    35065    33802   303104        0           600 oomstress"));
  EXPECT_TRUE(isOomRelated("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
                           "task_memcg=/system.slice/worker.service,task=eat,pid=310,uid=0"));
  EXPECT_TRUE(isOomRelated("Memory cgroup out of memory: Killed process 411 (oomstress) total-vm:140416kB, "
                           "anon-rss:65536kB, file-rss:1436kB, shmem-rss:0kB, UID:0 pgtables:172kB oom_score_adj:0"));
  EXPECT_TRUE(isOomRelated("Tasks in /system.slice/x.service are going to be killed due to memory.oom.group set"));
  EXPECT_TRUE(isOomRelated("oom_reaper: reaped process 310 (eat), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB"));
  EXPECT_TRUE(isOomRelated("memory: usage 131072kB, limit 131072kB, failcnt 412"));
  EXPECT_FALSE(isOomRelated(" dump_stack_lvl+0x44/0x5c"));
  EXPECT_FALSE(isOomRelated("Mem-Info:"));
  EXPECT_FALSE(isOomRelated("CPU: 1 PID: 310 Comm: oomstress Not tainted 6.1.0-27-cloud-amd64 #1"));
  EXPECT_FALSE(isOomRelated("virtio_net virtio0 enp0s2: renamed from eth0"));
  EXPECT_FALSE(isOomRelated("[    1] garbage"));
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
  auto old_row = parseTaskDumpRow("[    331]     0   331    68301    63201   548864        0           500 oomstress");
  ASSERT_TRUE(old_row);
  EXPECT_EQ(old_row->pid, 331);
  EXPECT_EQ(old_row->total_vm_pages, 68301u);
  EXPECT_EQ(old_row->rss_pages, 63201u);
  EXPECT_EQ(old_row->oom_score_adj, 500);
  EXPECT_EQ(old_row->name, "oomstress");
  auto new_row = parseTaskDumpRow(
      "[    412]     0   412    35104    16610    16251      359         0   176128        0         -1000 oomharness-gues");
  ASSERT_TRUE(new_row);
  EXPECT_EQ(new_row->pid, 412);
  EXPECT_EQ(new_row->rss_pages, 16610u);
  EXPECT_EQ(new_row->oom_score_adj, -1000);
  EXPECT_EQ(new_row->name, "oomharness-gues");
  EXPECT_FALSE(parseTaskDumpRow("[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"));
  EXPECT_FALSE(parseTaskDumpRow("[    1] garbage"));
}

// The guest keeps a row of a task whose name is all digits: the observer and the
// report read rows with one parser (the guest's own used to drop such a row, so the
// report never saw that task among the candidates).
TEST(TaskRow, ARowWhoseNameIsDigitsIsKeptAndRead) {
  const std::string line = "[    331]     0   331    68301    63201   548864        0           500 1234";
  EXPECT_TRUE(isOomRelated(line));
  const auto row = parseTaskDumpRow(line);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->name, "1234");
  EXPECT_EQ(row->oom_score_adj, 500);
  EXPECT_EQ(row->uid, 0);
}

}  // namespace
TEST(KmsgParser, RecordedTrixieGlobalKill) {
  // Real guest output on 6.12: the CPU line carries "UID: 0", the task table has
  // rss_anon/rss_file/rss_shmem columns. The observer reported exactly this kill.
  const auto p = parseFixture("recorded-trixie-global-kill.kmsg");
  ASSERT_EQ(p.kills.size(), 1u);
  const auto& k = p.kills[0];
  EXPECT_EQ(k.pid, 216);
  EXPECT_FALSE(k.group_kill);
  EXPECT_EQ(k.unit, "report-worker.service");
  EXPECT_EQ(k.constraint, "CONSTRAINT_NONE");
  EXPECT_EQ(k.oom_score_adj, 600);
  EXPECT_EQ(k.anon_rss_kb, 529024u);
  EXPECT_EQ(k.invoker_comm, "oomstress");
  EXPECT_EQ(k.invoker_pid, 216);
  EXPECT_DOUBLE_EQ(k.t, 48.970225);
  EXPECT_TRUE(hasLine(k, "-1000 journalctl"));  // the candidates table, 6.12 shape
}

}  // namespace oom

namespace oom {
namespace {

TEST(KmsgParser, UndoesTheKernelLogEscapesInText) {
  // /dev/kmsg escapes control bytes, bytes from 127 and the backslash as \xNN.
  EXPECT_EQ(unescapeKmsgText("a\\x5cb"), "a\\b");
  EXPECT_EQ(unescapeKmsgText("\\x1b[31mred"), "\x1b[31mred");
  EXPECT_EQ(unescapeKmsgText("caf\\xc3\\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(unescapeKmsgText("\\xZZ and \\x4"), "\\xZZ and \\x4");  // not an escape: kept
  auto r = parseKmsgRecord("3,9,5000000,-;oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/system.slice/a\\x5cx2db.service\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/system.slice/a\\x2db.service");
}

// Synthetic: the kernel prints a report (dump_header) for at most 10 kills in 5 s;
// later kills print only their "Killed process" line. Lines in 6.1's format.
TEST(KmsgParser, AKillPrintedWithoutItsReportIsNotGivenThePreviousReportsUnit) {
  const char* records[] = {
      "4,100,10000000,-;eat invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
      "6,101,10000100,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
      "oom_memcg=/system.slice/a.service,task_memcg=/system.slice/a.service,task=eat,pid=300,uid=0",
      "3,102,10000200,-;Memory cgroup out of memory: Killed process 300 (eat) total-vm:10000kB, anon-rss:9000kB, "
      "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:60kB oom_score_adj:0",
      "3,103,10300000,-;Memory cgroup out of memory: Killed process 411 (eat) total-vm:10000kB, anon-rss:9000kB, "
      "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:60kB oom_score_adj:500",
  };
  OomKillParser parser;
  std::vector<KernelOomKill> kills;
  for (const char* raw : records) {
    auto r = parseKmsgRecord(std::string(raw) + "\n");
    ASSERT_TRUE(r);
    for (auto& k : parser.feed(*r).finished) kills.push_back(std::move(k));
  }
  for (auto& k : parser.flushAll()) kills.push_back(std::move(k));
  ASSERT_EQ(kills.size(), 2u);
  EXPECT_EQ(kills[0].unit, "a.service");
  EXPECT_EQ(kills[0].attribution, "");
  EXPECT_EQ(kills[1].pid, 411);
  EXPECT_EQ(kills[1].unit, "");  // not a.service: nothing says so
  EXPECT_EQ(kills[1].task_memcg, "");
  EXPECT_EQ(kills[1].attribution, kAttributionUnknown);
  EXPECT_EQ(kills[1].constraint, "CONSTRAINT_MEMCG");  // its own line says "Memory cgroup"
  EXPECT_EQ(kills[1].oom_score_adj, 500);
  EXPECT_EQ(kills[1].lines.size(), 1u);
  EXPECT_FALSE(kills[1].group_kill);
}

}  // namespace
}  // namespace oom
