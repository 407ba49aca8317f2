// Runs the real oomstress binary and checks from outside what it claims: memory,
// rate, shapes, processes, signals, errors.
#include <sys/resource.h>

#include <algorithm>

#include "stressor_process.hpp"

using namespace oomstress_test;

TEST(OomstressProcess, RssReachesTargetWithinTwoPercent) {
  Stressor s({"--target", "128M", "--report-interval", "200ms"});
  const auto line = waitForPhase(s, "holding");
  ASSERT_FALSE(line.is_null());
  const double rss = vmRssBytes(s.pid());
  EXPECT_NEAR(rss, 128 * kMiB, 0.02 * 128 * kMiB) << "VmRSS seen from outside";
  EXPECT_NEAR(line["rss_bytes"].get<double>(), rss, 0.02 * 128 * kMiB) << "its own report agrees";
  EXPECT_EQ(line["bytes_allocated"], 128 * 1024 * 1024);
}

TEST(OomstressProcess, ReportLinesCarryWhatTheHarnessReads) {
  Stressor s({"--target", "8M", "--rate", "16M/s", "--report-interval", "100ms"});
  const auto line = s.nextLine();
  ASSERT_TRUE(line.is_object());
  for (const char* key : {"t", "pid", "phase", "processes_alive", "bytes_allocated", "rss_bytes",
                          "rss_scope", "rate_bps_interval", "rate_bps_overall"})
    EXPECT_TRUE(line.contains(key)) << key;
  EXPECT_EQ(line["phase"], "ramping");
  EXPECT_EQ(line["pid"], s.pid());
  EXPECT_TRUE(s.stderrTextNow().empty()) << "stderr is for errors only";
}

TEST(OomstressProcess, RateHoldsWithinThreePercent) {
  Stressor s({"--target", "64M", "--rate", "32M/s", "--hold", "0", "--report-interval", "500ms"});
  // Outside: from spawn until VmRSS reaches 64 MiB; the binary's own pages (rss
  // minus bytes_allocated in its last report) are taken out of the bytes counted.
  double outside = -1;
  while (s.elapsed() < 5) {
    if (vmRssBytes(s.pid()) >= 64 * kMiB) {
      outside = s.elapsed();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  nlohmann::json last;
  for (auto line = s.nextLine(); !line.is_null(); line = s.nextLine()) last = line;
  EXPECT_EQ(s.wait(), 0);
  ASSERT_TRUE(last.contains("time_to_target"));
  const double own = 64 * kMiB / last["time_to_target"].get<double>() / (32 * kMiB);
  EXPECT_GE(own, 0.97) << "own report";
  EXPECT_LE(own, 1.03) << "own report";
  ASSERT_GT(outside, 0);
  const double base = last["rss_bytes"].get<double>() - last["bytes_allocated"].get<double>();
  const double seen = (64 * kMiB - base) / outside / (32 * kMiB);
  EXPECT_GE(seen, 0.97) << "outside: " << outside << " s";
  EXPECT_LE(seen, 1.03) << "outside: " << outside << " s";
}

TEST(OomstressProcess, ProcessesSplitTheTarget) {
  Stressor s({"--target", "96M", "--processes", "3", "--report-interval", "200ms"});
  nlohmann::json line;
  do line = waitForPhase(s, "holding");
  while (!line.is_null() && line.value("process", -1) != 0);
  ASSERT_FALSE(line.is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 2u);
  for (pid_t pid : {s.pid(), kids[0], kids[1]})
    EXPECT_NEAR(vmRssBytes(pid), 32 * kMiB, 0.05 * 32 * kMiB) << "pid " << pid;
}

TEST(OomstressProcess, SigtermExitsZeroPromptlyWithALastLine) {
  Stressor s({"--target", "32M", "--report-interval", "200ms"});
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  const auto t0 = Clock::now();
  ::kill(s.pid(), SIGTERM);
  EXPECT_FALSE(waitForPhase(s, "exiting", 2).is_null());
  EXPECT_EQ(s.wait(2), 0);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.2);
}

TEST(OomstressProcess, ChildKilledIsReportedNotRespawned) {
  Stressor s({"--target", "32M", "--processes", "2", "--report-interval", "200ms"});
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 1u);
  ::kill(kids[0], SIGKILL);
  nlohmann::json event;
  for (auto line = s.nextLine(3); !line.is_null(); line = s.nextLine(3))
    if (line.value("event", "") == "child_exited") { event = line; break; }
  ASSERT_FALSE(event.is_null());
  EXPECT_EQ(event["signal"], 9);
  EXPECT_EQ(event["respawn"], false);
  EXPECT_EQ(event["pid"], kids[0]);
  EXPECT_EQ(event["processes_alive"], 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(childrenOf(s.pid()).empty());  // half-alive, as OOMPolicy=continue would leave it
  nlohmann::json report;
  do report = s.nextLine(1);
  while (report.is_object() && (report.value("process", -1) != 0 || report.contains("event")));
  ASSERT_TRUE(report.is_object()) << "the main process keeps running and reporting";
  EXPECT_EQ(report["processes_alive"], 1);
  EXPECT_NEAR(report["rss_bytes"].get<double>(), 16 * kMiB, 0.1 * 16 * kMiB) << "only what is left";
}

// Reports until every listed worker (process index) has said "holding".
bool workersHold(Stressor& s, std::vector<int> workers) {
  for (auto line = s.nextLine(15); !line.is_null() && !workers.empty(); line = s.nextLine(15))
    if (line.value("phase", "") == "holding")
      workers.erase(std::remove(workers.begin(), workers.end(), line.value("process", -1)), workers.end());
  return workers.empty();
}

TEST(OomstressProcess, ASupervisorHoldsNothingWhileItsWorkersSplitTheTarget) {
  Stressor s({"--target", "64M", "--processes", "2", "--supervisor", "--report-interval", "200ms"});
  ASSERT_TRUE(workersHold(s, {1, 2}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 2u) << "--processes workers, all forked";
  for (pid_t pid : kids) EXPECT_NEAR(vmRssBytes(pid), 32 * kMiB, 0.05 * 32 * kMiB) << "pid " << pid;
  EXPECT_LT(vmRssBytes(s.pid()), 8 * kMiB) << "the main process holds none of the load";
}

TEST(OomstressProcess, ASupervisorEndsWithItsLastWorkerFailingIfOneWasKilled) {
  {
    Stressor s({"--target", "16M", "--processes", "1", "--supervisor", "--hold", "300ms"});
    EXPECT_EQ(s.wait(10), 0) << "every worker held its share and exited 0";
  }
  Stressor s({"--target", "32M", "--processes", "2", "--supervisor", "--hold", "1500ms",
              "--report-interval", "200ms"});
  ASSERT_TRUE(workersHold(s, {1, 2}));
  const auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 2u);
  ::kill(kids[0], SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(::kill(s.pid(), 0), 0) << "one worker left: the main process stays";
  EXPECT_EQ(s.wait(10), 1) << "the last worker exited; one had been killed";
}

TEST(OomstressProcess, BadArgumentExitsTwoNamingTheFlag) {
  Stressor s({"--target", "lots"});
  EXPECT_EQ(s.wait(), 2);
  const auto err = s.stderrText();
  EXPECT_NE(err.find("--target"), std::string::npos) << err;
  EXPECT_NE(err.find("512M"), std::string::npos) << err;
}

TEST(OomstressProcess, StartAfterReportsWaitingThenRamps) {
  Stressor s({"--target", "8M", "--start-after", "300ms", "--report-interval", "100ms"});
  const auto first = s.nextLine();
  ASSERT_TRUE(first.is_object());
  EXPECT_EQ(first["phase"], "waiting");
  EXPECT_EQ(first["bytes_allocated"], 0);
  const auto holding = waitForPhase(s, "holding", 3);
  ASSERT_FALSE(holding.is_null());
  EXPECT_GE(holding["t"].get<double>(), 0.3);
}

TEST(OomstressProcess, SpikeAddsItsSizeAtOnceAtItsTime) {
  Stressor s({"--target", "16M", "--spike", "32M@400ms", "--report-interval", "100ms"});
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  EXPECT_LT(vmRssBytes(s.pid()), 24 * kMiB);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_NEAR(vmRssBytes(s.pid()), 48 * kMiB, 0.03 * 48 * kMiB);
}

TEST(OomstressProcess, SawtoothReturnsMemoryAndGrowsBack) {
  Stressor s({"--target", "32M", "--rate", "64M/s", "--sawtooth", "--report-interval", "50ms"});
  ASSERT_FALSE(waitForPhase(s, "sawtooth").is_null());
  double low = 1e18, high = 0;
  for (int i = 0; i < 60; ++i) {  // 0.6 s: two periods of 0.25 s
    const double rss = vmRssBytes(s.pid());
    low = std::min(low, rss);
    high = std::max(high, rss);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_LT(low, 22 * kMiB) << "munmap gives the upper half back";
  EXPECT_GT(high, 28 * kMiB) << "and it grows back towards the target";
}

TEST(OomstressProcess, SigtermToTheMainProcessStopsEveryProcess) {
  Stressor s({"--target", "24M", "--processes", "3", "--report-interval", "100ms"});
  nlohmann::json line;
  do line = waitForPhase(s, "holding");
  while (!line.is_null() && line.value("process", -1) != 0);
  ASSERT_FALSE(line.is_null());
  const auto kids = childrenOf(s.pid());
  ASSERT_EQ(kids.size(), 2u);
  const auto t0 = Clock::now();
  ::kill(s.pid(), SIGTERM);  // the main process only, as KillMode=mixed would
  EXPECT_EQ(s.wait(2), 0);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 0.2);
  for (pid_t kid : kids) EXPECT_FALSE(fs::exists("/proc/" + std::to_string(kid))) << "child " << kid;
}

TEST(OomstressProcess, MlockLocksWhatItHolds) {
  Stressor s({"--target", "16M", "--mlock", "--report-interval", "100ms"});
  ASSERT_FALSE(waitForPhase(s, "holding").is_null());
  std::ifstream in("/proc/" + std::to_string(s.pid()) + "/status");
  double locked = 0;
  for (std::string l; std::getline(in, l);)
    if (l.rfind("VmLck:", 0) == 0) locked = std::stod(l.substr(6)) * 1024;
  if (locked == 0 && !s.stderrTextNow().empty()) GTEST_SKIP() << "mlock not allowed here";
  EXPECT_NEAR(locked, 16 * kMiB, 0.02 * 16 * kMiB);
}

TEST(OomstressProcess, RefusedMemoryIsReportedOnceAndRetried) {
  // An address-space limit makes mmap fail, as vm.overcommit_memory=2 would.
  Stressor s({"--target", "128M", "--report-interval", "100ms"}, {}, [] {
    rlimit limit{64u << 20, 64u << 20};
    ::setrlimit(RLIMIT_AS, &limit);
  });
  const auto line = waitForPhase(s, "ramping");
  ASSERT_FALSE(line.is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto err = s.stderrTextNow();
  EXPECT_NE(err.find("oomstress: mmap failed"), std::string::npos) << err;
  EXPECT_EQ(err.find("mmap failed", err.find("mmap failed") + 1), std::string::npos) << "once: " << err;
  EXPECT_LT(s.nextLine()["bytes_allocated"].get<double>(), 64 * kMiB) << "it reports what it holds";
  ::kill(s.pid(), SIGTERM);
  EXPECT_EQ(s.wait(2), 0);
}
