// The rooted filesystem layer against a fixture tree shaped like a guest's
// /proc, /sys/fs/cgroup and /etc (tests/guest/fixtures/root).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "live/sysfs.hpp"

namespace oom {
namespace {

const SysFs& fixture() {
  static const SysFs fs(std::string(OOM_GUEST_FIXTURES) + "/root/");
  return fs;
}

TEST(SysFs, GuestInfoFiles) {
  EXPECT_EQ(fixture().osReleasePrettyName(), "Debian GNU/Linux 12 (bookworm)");
  const auto mem = fixture().meminfo();
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->at("MemTotal"), 1007616ull * 1024);
  EXPECT_EQ(mem->at("MemAvailable"), 823296ull * 1024);
  EXPECT_EQ(mem->at("SwapTotal"), 262140ull * 1024);
  EXPECT_EQ(mem->at("HugePages_Total"), 0u);  // a count, not kB
  EXPECT_EQ(fixture().readFile("/sys/fs/cgroup/cgroup.controllers"),
            "cpuset cpu io memory hugetlb pids rdma misc\n");
}

TEST(SysFs, AMissingFileIsAbsentNotEmpty) {
  const auto missing = fixture().readFile("sys/fs/cgroup/system.slice/nope.service/memory.current");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errnum, ENOENT);
  EXPECT_TRUE(missing.error().absent());
  EXPECT_EQ(missing.error().str(), "sys/fs/cgroup/system.slice/nope.service/memory.current: absent");
  EXPECT_TRUE(fixture().cgroupProcs("/system.slice/nope.service").error().absent());
  EXPECT_TRUE(fixture().cgroupProcs("")->empty());  // no cgroup, no processes
  EXPECT_TRUE(fixture().process(4242).error().absent());
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
  EXPECT_EQ(*fs.readFile("oom_score_adj"), "-1000");
  std::remove(file.c_str());
  ::rmdir(dir);
}

TEST(SysFs, CgroupProcsListsEveryProcess) {
  EXPECT_EQ(*fixture().cgroupProcs("/system.slice/api.service"), (std::vector<int>{301, 302}));
  EXPECT_EQ(*fixture().cgroupProcs("system.slice/worker.service"), (std::vector<int>{330, 331}));
}

TEST(SysFs, AProcessTitleIsItsArgumentsOnOneLine) {
  // An exec line: NULs between arguments become spaces.
  EXPECT_EQ(fixture().processTitle(301).value_or("?"), "/opt/oomharness/bin/oomstress --target 120M");
  // A program that rewrote its argv (as nginx and Redis do) leaves NUL padding behind.
  EXPECT_EQ(fixture().processTitle(312).value_or("?"), "shard: replica 2 (catching up)");
  EXPECT_TRUE(fixture().processTitle(310).error().absent());  // none recorded: unknown, not ""
  EXPECT_EQ(processTitleFrom(std::string("a\0b\x01\0", 5)), "a b\\x01");  // control bytes escaped
  EXPECT_EQ(processTitleFrom(std::string(kProcessTitleMax + 40, 'x')).size(), kProcessTitleMax);
  EXPECT_EQ(processTitleFrom(std::string(8, '\0')), "");  // a kernel thread's is empty
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
  EXPECT_EQ(s.memory_swap_current, std::optional<std::uint64_t>(4096u));
  EXPECT_EQ(nlohmann::json(s)["memory_swap_current"], 4096u);
  EXPECT_EQ(s.memory_events.at("high"), 12u);
  EXPECT_EQ(s.memory_events.at("max"), 3u);
  EXPECT_EQ(s.memory_events.at("oom_kill"), 1u);
  EXPECT_EQ(s.memory_events.at("oom_group_kill"), 0u);
  EXPECT_DOUBLE_EQ(s.pressure_some_avg10, 12.5);
  EXPECT_DOUBLE_EQ(s.pressure_full_avg10, 4.25);
  EXPECT_TRUE(s.unavailable.empty());
  ASSERT_EQ(s.processes.size(), 2u);
  EXPECT_EQ(s.processes[0].pid, 301);
  EXPECT_EQ(s.processes[0].rss_bytes, 102400ull * 1024);
}

TEST(SysFs, SampleOnKernel61HasNoPeakAndSkipsExitedPids) {
  const auto sampled = fixture().sample("worker.service", "/system.slice/worker.service", 1);
  ASSERT_TRUE(sampled);
  const MemorySample& s = *sampled;
  // No memory.peak here: marked absent and left out of the record, not written as 0.
  EXPECT_FALSE(s.isAvailable(kCgroupMemoryPeak));
  EXPECT_EQ(s.unavailable, (std::map<std::string, std::string>{{kCgroupMemoryPeak, "absent"}}));
  const nlohmann::json record = s;
  EXPECT_FALSE(record.contains("memory_peak"));
  EXPECT_EQ(record["unavailable"]["memory.peak"], "absent");
  EXPECT_TRUE(record.contains("memory_current"));
  EXPECT_EQ(s.memory_current, 52428800u);
  EXPECT_EQ(s.memory_events.count("oom_group_kill"), 0u);
  ASSERT_EQ(s.processes.size(), 1u);  // 331 is listed but already gone from /proc
  EXPECT_EQ(s.processes[0].pid, 330);
  EXPECT_EQ(s.processes[0].oom_score, 550);
}

TEST(SysFs, CgroupProcsIncludesChildCgroups) {
  // 310 and 311 in the unit's own cgroup, 312 two levels down (payload/shard-a).
  EXPECT_EQ(*fixture().cgroupProcs("/system.slice/report-worker.service"), (std::vector<int>{310, 311, 312}));
  EXPECT_EQ(*fixture().cgroupProcs("/system.slice/report-worker.service/payload"), (std::vector<int>{312}));
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
  EXPECT_TRUE(fixture().process(311).error().absent());
  EXPECT_TRUE(fixture().oomScoreAdj(311).error().absent());
  EXPECT_TRUE(sampled->unavailable.empty());  // an exited process is not a failed read
}

TEST(SysFs, CgroupFilesOneByOne) {
  const std::string cg = "/system.slice/report-worker.service";
  EXPECT_EQ(fixture().cgroupUint(cg, "memory.current"), 157286400u);
  EXPECT_EQ(fixture().cgroupUint(cg, "memory.peak"), 167772160u);
  EXPECT_TRUE(fixture().cgroupUint("/system.slice/worker.service", "memory.peak").error().absent());
  EXPECT_TRUE(fixture().cgroupUint("/system.slice/gone.service", "memory.current").error().absent());
  const auto events = fixture().memoryEvents(cg);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->at("high"), 7u);
  EXPECT_EQ(events->at("oom_group_kill"), 1u);
  EXPECT_TRUE(fixture().memoryEvents("/system.slice/gone.service").error().absent());
  const auto pressure = fixture().pressureAvg10(cg);
  ASSERT_TRUE(pressure);
  EXPECT_DOUBLE_EQ(pressure->first, 31.07);
  EXPECT_DOUBLE_EQ(pressure->second, 18.40);
  // Missing is missing, not "no pressure".
  EXPECT_TRUE(fixture().pressureAvg10("/system.slice/gone.service").error().absent());
  EXPECT_EQ(fixture().oomScoreAdj(310), 600);
  EXPECT_EQ(fixture().oomScoreAdj(301), -300);
}

// A guest tree built in a temporary folder. A file that cannot be read even by
// root is a folder where the file should be: open(2) works, read(2) says EISDIR.
class BrokenTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/oomharness-sysfs-XXXXXX";
    ASSERT_TRUE(::mkdtemp(dir));
    root_ = dir;
    cg_ = root_ / "sys/fs/cgroup/system.slice/x.service";
    std::filesystem::create_directories(cg_);
    write(cg_ / "memory.current", "1048576\n");
    write(cg_ / "memory.events", "low 0\nhigh 2\nmax 0\noom 0\noom_kill 0\n");
    std::filesystem::create_directories(cg_ / "memory.pressure");  // unreadable
    write(cg_ / "memory.peak", "max\n");                          // not a number
    write(cg_ / "cgroup.procs", "500\n501\n");
    const auto proc = root_ / "proc/500";
    std::filesystem::create_directories(proc);
    write(proc / "status", "Name:\tx\nVmRSS:\t  1024 kB\n");
    write(proc / "comm", "x\n");
    write(proc / "oom_score_adj", "0\n");
    std::filesystem::create_directories(proc / "oom_score");  // unreadable
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  static void write(const std::filesystem::path& file, const std::string& text) { std::ofstream(file) << text; }

  std::filesystem::path root_, cg_;
};

TEST_F(BrokenTree, AFileThatCannotBeReadKeepsItsErrno) {
  const SysFs fs(root_.string());
  const auto pressure = fs.pressureAvg10("/system.slice/x.service");
  ASSERT_FALSE(pressure);  // never {0, 0}
  EXPECT_EQ(pressure.error().errnum, EISDIR);
  EXPECT_FALSE(pressure.error().absent());
  EXPECT_EQ(pressure.error().str(), "sys/fs/cgroup/system.slice/x.service/memory.pressure: " +
                                        std::string(std::strerror(EISDIR)));
  const auto peak = fs.cgroupUint("/system.slice/x.service", "memory.peak");
  ASSERT_FALSE(peak);
  EXPECT_EQ(peak.error().errnum, EINVAL);  // read, but not a number
  EXPECT_EQ(fs.process(500).error().errnum, EISDIR);
  EXPECT_EQ(fs.process(500).error().file, "proc/500/oom_score");
  EXPECT_TRUE(fs.process(501).error().absent());
}

TEST_F(BrokenTree, ASampleMarksWhatItCouldNotReadAndLeavesItOut) {
  const SysFs fs(root_.string());
  const auto s = fs.sample("x.service", "/system.slice/x.service", 3);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->memory_current, 1048576u);
  EXPECT_EQ(s->memory_events.at("high"), 2u);
  EXPECT_EQ(s->unavailable, (std::map<std::string, std::string>{{"memory.pressure", std::strerror(EISDIR)},
                                                                 {"memory.peak", std::strerror(EINVAL)},
                                                                 {"memory.swap.current", "absent"},
                                                                 {"proc/500/oom_score", std::strerror(EISDIR)}}));
  EXPECT_TRUE(s->processes.empty());  // 500 could not be read, 501 exited
  // The record has no made-up values: the fields those files feed are not in it.
  const nlohmann::json record = *s;
  EXPECT_FALSE(s->memory_swap_current);  // no swap accounting here: absent, not 0
  for (const char* field : {"memory_peak", "memory_swap_current", "pressure_some_avg10", "pressure_full_avg10"})
    EXPECT_FALSE(record.contains(field)) << field;
  EXPECT_EQ(record["memory_current"], 1048576u);
  const auto back = record.get<MemorySample>();
  EXPECT_EQ(back.unavailable, s->unavailable);
  EXPECT_FALSE(back.isAvailable(kCgroupMemoryPressure));
  EXPECT_EQ(back.memory_current, 1048576u);
}

TEST_F(BrokenTree, APressureFileWithoutItsFullLineIsNotZero) {
  std::filesystem::remove(cg_ / "memory.pressure");
  write(cg_ / "memory.pressure", "some avg10=3.00 avg60=1.00 avg300=0.20 total=12345\n");
  const auto pressure = SysFs(root_.string()).pressureAvg10("/system.slice/x.service");
  ASSERT_FALSE(pressure);
  EXPECT_EQ(pressure.error().errnum, EINVAL);
}

TEST(MemorySampleRecord, OlderRecordsWithoutUnavailableReadAsBefore) {
  const auto old = nlohmann::json::parse(
      R"({"t":1.5,"unit":"w.service","memory_current":10,"memory_peak":0,"memory_events":{"oom":1},)"
      R"("pressure_some_avg10":0.5,"pressure_full_avg10":0.25,"processes":[]})");
  const auto s = old.get<MemorySample>();
  EXPECT_TRUE(s.unavailable.empty());
  EXPECT_TRUE(s.isAvailable(kCgroupMemoryPeak));
  EXPECT_EQ(s.memory_current, 10u);
  EXPECT_FALSE(s.memory_swap_current);
  EXPECT_DOUBLE_EQ(s.pressure_full_avg10, 0.25);
  EXPECT_EQ(nlohmann::json(s), old);  // written back unchanged
}

TEST(SysFs, DefaultRootIsTheRealSystem) {
  const SysFs real;
  EXPECT_NE(real.readFile("proc/self/status")->find("VmRSS:"), std::string::npos);
  EXPECT_TRUE(real.process(::getpid()));
  EXPECT_FALSE(real.meminfo()->empty());
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
