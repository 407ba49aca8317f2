// The rooted filesystem layer against a fixture tree shaped like a guest's
// /proc, /sys/fs/cgroup and /etc (tests/guest/fixtures/root).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "guest/sysfs.hpp"

namespace oom {
namespace {

const SysFs& fixture() {
  static const SysFs fs(std::string(OOM_GUEST_FIXTURES) + "/root/");
  return fs;
}

TEST(SysFs, GuestInfoFiles) {
  EXPECT_EQ(fixture().osReleasePrettyName(), "Debian GNU/Linux 12 (bookworm)");
  const auto mem = fixture().meminfo();
  EXPECT_EQ(mem.at("MemTotal"), 1007616ull * 1024);
  EXPECT_EQ(mem.at("MemAvailable"), 823296ull * 1024);
  EXPECT_EQ(mem.at("SwapTotal"), 262140ull * 1024);
  EXPECT_EQ(mem.at("HugePages_Total"), 0u);  // a count, not kB
  EXPECT_EQ(fixture().readFile("/sys/fs/cgroup/cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids rdma misc\n");
}

TEST(SysFs, MissingFilesReadAsEmpty) {
  EXPECT_EQ(fixture().readFile("sys/fs/cgroup/system.slice/nope.service/memory.current"), "");
  EXPECT_TRUE(fixture().cgroupProcs("/system.slice/nope.service").empty());
  EXPECT_TRUE(fixture().cgroupProcs("").empty());
  EXPECT_FALSE(fixture().process(4242));
  EXPECT_FALSE(fixture().sample("gone.service", "/system.slice/gone.service", 1));  // garbage-collected unit
}

TEST(SysFs, WritesUnderItsRoot) {
  char dir[] = "/tmp/oomharness-sysfs-XXXXXX";
  ASSERT_TRUE(::mkdtemp(dir));
  const SysFs fs(dir);
  EXPECT_FALSE(fs.writeFile("proc/self/oom_score_adj", "-1000"));  // no such file: never created
  const std::string file = std::string(dir) + "/oom_score_adj";
  { std::ofstream(file) << "0"; }
  EXPECT_TRUE(fs.writeFile("oom_score_adj", "-1000"));
  EXPECT_EQ(fs.readFile("oom_score_adj"), "-1000");
  std::remove(file.c_str());
  ::rmdir(dir);
}

TEST(SysFs, CgroupProcsListsEveryProcess) {
  EXPECT_EQ(fixture().cgroupProcs("/system.slice/api.service"), (std::vector<int>{301, 302}));
  EXPECT_EQ(fixture().cgroupProcs("system.slice/worker.service"), (std::vector<int>{330, 331}));
}

TEST(SysFs, ProcessCarriesWhatTheOomKillerWeighs) {
  const auto p = fixture().process(330);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pid, 330);
  EXPECT_EQ(p->comm, "oomstress");
  EXPECT_EQ(p->oom_score, 550);
  EXPECT_EQ(p->oom_score_adj, 500);
  EXPECT_EQ(p->rss_bytes, 51200ull * 1024);
  EXPECT_EQ(fixture().process(301)->oom_score_adj, -300);
}

TEST(SysFs, SampleReadsCgroupFilesAndProcesses) {
  const auto sampled = fixture().sample("api.service", "/system.slice/api.service", 12.5);
  ASSERT_TRUE(sampled);
  const MemorySample& s = *sampled;
  EXPECT_DOUBLE_EQ(s.t, 12.5);
  EXPECT_EQ(s.unit, "api.service");
  EXPECT_EQ(s.memory_current, 211812352u);
  EXPECT_EQ(s.memory_peak, 230686720u);
  EXPECT_EQ(s.memory_events.at("high"), 12u);
  EXPECT_EQ(s.memory_events.at("max"), 3u);
  EXPECT_EQ(s.memory_events.at("oom_kill"), 1u);
  EXPECT_EQ(s.memory_events.at("oom_group_kill"), 0u);
  EXPECT_DOUBLE_EQ(s.pressure_some_avg10, 12.5);
  EXPECT_DOUBLE_EQ(s.pressure_full_avg10, 4.25);
  ASSERT_EQ(s.processes.size(), 2u);
  EXPECT_EQ(s.processes[0].pid, 301);
  EXPECT_EQ(s.processes[0].rss_bytes, 102400ull * 1024);
}

TEST(SysFs, SampleOnKernel61HasNoPeakAndSkipsExitedPids) {
  const auto sampled = fixture().sample("worker.service", "/system.slice/worker.service", 1);
  ASSERT_TRUE(sampled);
  const MemorySample& s = *sampled;
  EXPECT_EQ(s.memory_peak, 0u);  // memory.peak appeared after 6.1
  EXPECT_EQ(s.memory_current, 52428800u);
  EXPECT_EQ(s.memory_events.count("oom_group_kill"), 0u);
  ASSERT_EQ(s.processes.size(), 1u);  // 331 is listed but already gone from /proc
  EXPECT_EQ(s.processes[0].pid, 330);
  EXPECT_EQ(s.processes[0].oom_score, 550);
}

TEST(SysFs, CgroupProcsIncludesChildCgroups) {
  // 310 and 311 in the unit's own cgroup, 312 two levels down (payload/shard-a).
  EXPECT_EQ(fixture().cgroupProcs("/system.slice/report-worker.service"), (std::vector<int>{310, 311, 312}));
  EXPECT_EQ(fixture().cgroupProcs("/system.slice/report-worker.service/payload"), (std::vector<int>{312}));
}

TEST(SysFs, VanishedPidInCgroupProcsIsSkipped) {
  const auto sampled = fixture().sample("report-worker.service", "/system.slice/report-worker.service", 7.5);
  ASSERT_TRUE(sampled);
  ASSERT_EQ(sampled->processes.size(), 2u);  // 311 is listed but has no /proc entry
  EXPECT_EQ(sampled->processes[0].pid, 310);
  EXPECT_EQ(sampled->processes[0].comm, "report-worker");
  EXPECT_EQ(sampled->processes[0].oom_score, 833);
  EXPECT_EQ(sampled->processes[0].oom_score_adj, 600);
  EXPECT_EQ(sampled->processes[0].rss_bytes, 135208ull * 1024);
  EXPECT_EQ(sampled->processes[1].pid, 312);
  EXPECT_EQ(sampled->processes[1].comm, "shard");
  EXPECT_FALSE(fixture().process(311));
  EXPECT_FALSE(fixture().oomScoreAdj(311));
}

TEST(SysFs, CgroupFilesOneByOne) {
  const std::string cg = "/system.slice/report-worker.service";
  EXPECT_EQ(fixture().cgroupUint(cg, "memory.current"), 157286400u);
  EXPECT_EQ(fixture().cgroupUint(cg, "memory.peak"), 167772160u);
  EXPECT_FALSE(fixture().cgroupUint("/system.slice/worker.service", "memory.peak"));
  EXPECT_FALSE(fixture().cgroupUint("/system.slice/gone.service", "memory.current"));
  const auto events = fixture().memoryEvents(cg);
  EXPECT_EQ(events.at("high"), 7u);
  EXPECT_EQ(events.at("oom_group_kill"), 1u);
  EXPECT_TRUE(fixture().memoryEvents("/system.slice/gone.service").empty());
  const auto [some, full] = fixture().pressureAvg10(cg);
  EXPECT_DOUBLE_EQ(some, 31.07);
  EXPECT_DOUBLE_EQ(full, 18.40);
  EXPECT_EQ(fixture().pressureAvg10("/system.slice/gone.service"), (std::pair<double, double>{0, 0}));
  EXPECT_EQ(fixture().oomScoreAdj(310), 600);
  EXPECT_EQ(fixture().oomScoreAdj(301), -300);
}

TEST(SysFs, DefaultRootIsTheRealSystem) {
  const SysFs real;
  EXPECT_NE(real.readFile("proc/self/status").find("VmRSS:"), std::string::npos);
  EXPECT_TRUE(real.process(::getpid()));
  EXPECT_FALSE(real.meminfo().empty());
}

TEST(SysFsParsers, Pressure) {
  EXPECT_EQ(parsePressureAvg10("some avg10=1.50 avg60=0 avg300=0 total=1\n", "some"), 1.5);
  EXPECT_FALSE(parsePressureAvg10("some avg10=1.50 avg60=0 avg300=0 total=1\n", "full"));
  EXPECT_FALSE(parsePressureAvg10("", "some"));
}

TEST(SysFsParsers, OsReleaseQuotingAndPidLists) {
  EXPECT_EQ(parseOsReleaseValue("ID=debian\nPRETTY_NAME='Debian trixie'\n", "PRETTY_NAME"), "Debian trixie");
  EXPECT_EQ(parseOsReleaseValue("ID=debian\n", "ID"), "debian");
  EXPECT_EQ(parseOsReleaseValue("IDX=1\n", "ID"), "");
  EXPECT_EQ(parsePidList("1\n22\n\n333"), (std::vector<int>{1, 22, 333}));
}

}  // namespace
}  // namespace oom
