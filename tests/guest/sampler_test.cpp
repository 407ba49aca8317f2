// The sampler thread: guest-wide files read from files recorded in real guests,
// samples written while the event loop is silent, a blocked loop recorded as an
// observer gap, and the hard end at the time limit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "guest/record_sink.hpp"
#include "guest/sampler.hpp"
#include "oom/clock.hpp"
#include "timeline/timeline.hpp"

namespace oom {
namespace {

const std::string kFixtures = OOM_GUEST_FIXTURES;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct TempFile {
  TempFile() {
    char p[] = "/tmp/oomharness-sampler-XXXXXX";
    const int fd = ::mkstemp(p);
    if (fd >= 0) ::close(fd);
    path = p;
  }
  ~TempFile() { ::unlink(path.c_str()); }
  Timeline fold() const {
    Timeline t;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) applyStreamLine(t, line);
    return t;
  }
  std::string path;
};

void sleepFor(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

// A sampler over the fixture root, writing to `out`, sampling every 50 ms.
struct FixtureSampler {
  explicit FixtureSampler(const std::string& out, double loop_stall_sec = 1.0)
      : sink(out), fs(kFixtures + "/root"), sampler(sink, fs, options(loop_stall_sec)) {}
  static Sampler::Options options(double loop_stall_sec) {
    Sampler::Options o;
    o.interval_sec = 0.05;
    o.loop_stall_sec = loop_stall_sec;
    return o;
  }
  RecordSink sink;
  const SysFs fs;
  Sampler sampler;
};

TEST(GuestFileParsers, ReadRecordedProcFilesOfBothReleases) {
  for (const char* release : {"bookworm", "trixie"}) {
    SCOPED_TRACE(release);
    const std::string dir = kFixtures + "/guest-files/" + release + "/proc/";
    const std::string meminfo = slurp(dir + "meminfo");
    const std::string vmstat = slurp(dir + "vmstat");
    ASSERT_FALSE(meminfo.empty());
    ASSERT_FALSE(vmstat.empty());
    EXPECT_GT(meminfoKb(meminfo, "MemAvailable").value_or(0), 100'000u);
    EXPECT_GT(meminfoKb(meminfo, "MemTotal").value_or(0), meminfoKb(meminfo, "MemAvailable").value_or(0));
    EXPECT_EQ(meminfoKb(meminfo, "SwapFree"), 0u);  // the guest ran without swap
    EXPECT_EQ(vmstatValue(vmstat, "oom_kill"), 0u);
    // A key must be the whole key: "oom" is not "oom_kill", nor "MemAvail" "MemAvailable".
    EXPECT_FALSE(vmstatValue(vmstat, "oom").has_value());
    EXPECT_FALSE(meminfoKb(meminfo, "MemAvail").has_value());
    EXPECT_GT(vmstatValue(vmstat, "nr_free_pages").value_or(0), 0u);
  }
}

TEST(GuestFileParsers, PressureTotalAndSchedstat) {
  const std::string pressure = slurp(kFixtures + "/guest-files/trixie/proc/pressure/memory");
  EXPECT_EQ(pressureTotalUsec(pressure, "some"), 91u);
  EXPECT_EQ(pressureTotalUsec("some avg10=1.50 avg60=0.20 avg300=0.04 total=2083354\n", "some"), 2083354u);
  EXPECT_FALSE(pressureTotalUsec("some avg10=1.50\n", "some").has_value());
  // /proc/thread-self/schedstat: ns on a CPU, ns runnable and waiting, slices.
  const auto cpu = parseSchedstat("615394 2783952000 2\n");
  ASSERT_TRUE(cpu.has_value());
  EXPECT_DOUBLE_EQ(cpu->running, 0.000615394);
  EXPECT_DOUBLE_EQ(cpu->waiting, 2.783952);
  EXPECT_FALSE(parseSchedstat("garbage").has_value());
  // /proc/stat of a 2-CPU guest, USER_HZ 100.
  const auto stat = parseProcStatCpu(
      "cpu  1200 30 450 9000 120 15 35 0 0 0\ncpu0 600 15 225 4500 60 8 17 0 0 0\nintr 1\n", 100);
  ASSERT_TRUE(stat.has_value());
  EXPECT_DOUBLE_EQ(stat->user, 12.3);
  EXPECT_DOUBLE_EQ(stat->kernel, 5.0);
  EXPECT_DOUBLE_EQ(stat->idle, 91.2);
  EXPECT_FALSE(parseProcStatCpu("cpu0 1 2 3\n", 100).has_value());
}

TEST(GuestFiles, SampleTheWholeGuestFromDescriptorsOpenedOnce) {
  const SysFs fs(kFixtures + "/guest-files/trixie");
  GuestFiles files(fs);
  const GuestSample g = files.read(12.5);
  EXPECT_EQ(g.t, 12.5);
  EXPECT_TRUE(g.unavailable.empty());
  EXPECT_EQ(g.mem_available_bytes, 856876u * 1024);
  EXPECT_EQ(g.swap_free_bytes, 0u);
  EXPECT_EQ(g.oom_kill_total, 0u);
  EXPECT_EQ(files.memoryStallUsec(), 91u);
  ASSERT_TRUE(files.kernelWork().has_value());
  EXPECT_EQ(*files.kernelWork(), (KernelWork{0, 0, 182, 0, 0}));  // pgmajfault 182, as recorded
  EXPECT_EQ(std::string(files.slowestFile()).rfind("proc/", 0), 0u);  // which file to blame for a slow round
  // Read twice from the same descriptors: pread at 0 starts the file again.
  EXPECT_EQ(files.read(13).mem_available_bytes, g.mem_available_bytes);
}

TEST(GuestFiles, AFileThatCannotBeReadIsNamedNotZeroed) {
  const SysFs fs(kFixtures + "/root");  // has proc/meminfo, no vmstat, no pressure
  GuestFiles files(fs);
  const GuestSample g = files.read(1);
  EXPECT_GT(g.mem_available_bytes, 0u);
  EXPECT_EQ(g.unavailable, (std::vector<std::string>{"proc/vmstat", "proc/pressure/memory"}));
}

TEST(Sampler, SamplesTheGuestAndEachUnitOnItsOwnThread) {
  TempFile out;
  {
    FixtureSampler f(out.path);
    Sampler& sampler = f.sampler;
    sampler.setControlGroup("worker.service", "/system.slice/worker.service");
    sampler.start();
    sleepFor(0.4);  // nobody calls heartbeat(): the loop is not needed for sampling
    sampler.stop();
  }
  const Timeline t = out.fold();
  EXPECT_GE(t.guest_samples.size(), 4u);
  EXPECT_GE(t.samples.size(), 4u);
  for (const auto& s : t.samples) EXPECT_EQ(s.unit, "worker.service");
  EXPECT_TRUE(t.gaps.empty());  // a loop that never beat is not a blocked loop
}

TEST(Sampler, ABlockedEventLoopIsRecordedAsAGapWithItsLength) {
  TempFile out;
  {
    FixtureSampler f(out.path, 0.2);
    Sampler& sampler = f.sampler;
    const double blocked_from = monotonicSeconds() - 1.0;
    sampler.heartbeat(blocked_from);  // the loop's last sign of life, a second ago
    sampler.start();
    sleepFor(0.3);
    sampler.heartbeat(monotonicSeconds());  // it runs again
    sleepFor(0.2);
    sampler.stop();
  }
  const Timeline t = out.fold();
  ASSERT_EQ(t.gaps.size(), 1u);
  EXPECT_EQ(t.gaps[0].cause.rfind(kGapEventLoop, 0), 0u) << t.gaps[0].cause;
  EXPECT_GE(t.gaps[0].length_sec, 1.25);
  EXPECT_LT(t.gaps[0].length_sec, 3.0);
  EXPECT_FALSE(t.guest_samples.empty());  // sampling went on meanwhile
}

// A root like the fixture's, plus a unit whose memory.current is a FIFO: opening it
// blocks the sampler's round until the test writes to it (as a cgroup or /proc read
// can block in a guest), and this thread's schedstat from the real /proc.
struct BlockingRoot {
  BlockingRoot() {
    char p[] = "/tmp/oomharness-sampler-root-XXXXXX";
    root = ::mkdtemp(p);
    std::filesystem::copy(kFixtures + "/root", root, std::filesystem::copy_options::recursive);
    std::filesystem::create_directory_symlink("/proc/thread-self", root + "/proc/thread-self");
    const std::string dir = root + "/sys/fs/cgroup/system.slice/slow.service";
    std::filesystem::create_directories(dir);
    fifo = dir + "/memory.current";
    ::mkfifo(fifo.c_str(), 0600);
  }
  ~BlockingRoot() { std::filesystem::remove_all(root); }
  // Lets the blocked open go on, and puts a plain file in the FIFO's place.
  void release() {
    const int fd = ::open(fifo.c_str(), O_WRONLY);  // the sampler is waiting to read: does not block
    std::ofstream(fifo + ".new") << "4096\n";
    std::filesystem::rename(fifo + ".new", fifo);
    [[maybe_unused]] auto n = ::write(fd, "4096\n", 5);
    ::close(fd);
  }
  std::string root, fifo;
};

TEST(Sampler, ALateRoundNamesWhereItsTimeWent) {
  TempFile out;
  BlockingRoot root;
  {
    RecordSink sink(out.path);
    const SysFs fs(root.root);
    Sampler sampler(sink, fs, FixtureSampler::options(1.0));
    sampler.setControlGroup("slow.service", "/system.slice/slow.service");
    sampler.start();
    sleepFor(1.2);  // its first round is blocked opening memory.current
    root.release();
    sleepFor(0.3);
    sampler.stop();
  }
  const Timeline t = out.fold();
  ASSERT_EQ(t.gaps.size(), 1u);
  const std::string& cause = t.gaps[0].cause;
  EXPECT_EQ(cause.rfind(kGapSampler, 0), 0u) << cause;
  EXPECT_GE(t.gaps[0].length_sec, 1.1);
  EXPECT_NE(cause.find("the round before took 1."), std::string::npos) << cause;
  EXPECT_NE(cause.find("slowest slow.service's cgroup and processes 1."), std::string::npos) << cause;
  // Blocked, not starved: it did not wait for a CPU, and its wake-up was on time.
  EXPECT_NE(cause.find("meanwhile it waited 0.0s for a CPU"), std::string::npos) << cause;
  EXPECT_EQ(cause.find("wake-up itself came late"), std::string::npos) << cause;
}

TEST(SamplerDeathTest, EndsTheRunAtTheHardLimitWhenTheLoopCannot) {
  GTEST_FLAG_SET(death_test_style, "fast");  // forked: the child writes the file the parent reads
  TempFile out;
  EXPECT_EXIT(
      {
        FixtureSampler f(out.path, 0.1);
        Sampler& sampler = f.sampler;
        sampler.heartbeat(monotonicSeconds());
        sampler.setHardEnd(monotonicSeconds() + 0.2, 7);
        sampler.start();
        sleepFor(5);  // the "event loop", blocked past the limit
        std::exit(0);
      },
      ::testing::ExitedWithCode(7), "hard end at the time limit");
  const Timeline t = out.fold();
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.guest_status, 7);
  ASSERT_FALSE(t.phases.empty());
  EXPECT_EQ(t.phases.back().name, kPhaseTimeLimit);
  EXPECT_NE(t.phases.back().detail.find("the sampler ended it"), std::string::npos);
  ASSERT_FALSE(t.gaps.empty());  // the loop had been silent since before the limit
  EXPECT_EQ(t.gaps.back().cause.rfind(kGapEventLoop, 0), 0u);
}

TEST(Sampler, TheLoopEndingFirstKeepsTheSamplerFromEndingAgain) {
  TempFile out;
  {
    FixtureSampler f(out.path);
    Sampler& sampler = f.sampler;
    sampler.heartbeat(monotonicSeconds());
    sampler.setHardEnd(monotonicSeconds() + 0.3, 7);
    sampler.start();
    EXPECT_TRUE(f.sink.end(0));  // the event loop ends the run in time
    sleepFor(0.5);
    sampler.stop();
    EXPECT_FALSE(f.sink.end(0));  // once only
  }
  const Timeline t = out.fold();
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.guest_status, 0);
  for (const auto& p : t.phases) EXPECT_NE(p.name, kPhaseTimeLimit);
}

}  // namespace
}  // namespace oom
