// The real oomstress binary as systemd runs it: READY=1/STATUS= on $NOTIFY_SOCKET,
// and a checkpointed batch job killed and restarted.
#include "stressor_process.hpp"

using namespace oomstress_test;

TEST(OomstressProcess, SendsReadyToSystemdOnceTheTargetIsHeld) {
  NotifySocket sock(false);
  ASSERT_TRUE(sock.bound());
  Stressor s({"--target", "64M", "--rate", "64M/s", "--processes", "2", "--report-interval", "200ms"},
             {sock.env()});
  std::vector<std::string> statuses;
  double rss = 0;
  const double ready_at = waitForReady(sock, s, &statuses, &rss);
  ASSERT_GT(ready_at, 0) << "no READY=1";
  EXPECT_GE(ready_at, 0.95) << "READY=1 must wait until the 1 s ramp is done";
  EXPECT_GE(rss, 0.98 * 64 * kMiB) << "both processes hold their share when READY=1 arrives";
  EXPECT_FALSE(statuses.empty()) << "STATUS= at each report";
  // READY=1 is sent once.
  for (std::string msg = sock.next(0.5); !msg.empty(); msg = sock.next(0.1)) EXPECT_NE(msg, "READY=1");
}

TEST(OomstressProcess, NotifiesAnAbstractSocketToo) {
  NotifySocket sock(true);
  ASSERT_TRUE(sock.bound());
  Stressor s({"--target", "8M"}, {sock.env()});
  EXPECT_GT(waitForReady(sock, s, nullptr), 0) << "no READY=1 on " << sock.env();
}

TEST(OomstressProcess, LeakSendsReadyAtTheBaselineAndKeepsGrowing) {
  NotifySocket sock(false);
  ASSERT_TRUE(sock.bound());
  Stressor s({"--target", "32M", "--leak", "--rate", "64M/s", "--report-interval", "100ms"}, {sock.env()});
  double rss = 0;
  ASSERT_GT(waitForReady(sock, s, nullptr, &rss), 0);
  EXPECT_GE(rss, 0.98 * 32 * kMiB);
  const auto line = waitForPhase(s, "leaking");
  ASSERT_FALSE(line.is_null());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GT(vmRssBytes(s.pid()), 48 * kMiB) << "half a second of leaking at 64M/s";
}

TEST(OomstressProcess, CheckpointResumesAfterAKill) {
  const fs::path ckpt = fs::temp_directory_path() / ("oomstress-resume-" + std::to_string(::getpid()));
  fs::remove(ckpt);
  {
    Stressor first({"--target", "64M", "--rate", "32M/s", "--checkpoint", ckpt.string(),
                    "--report-interval", "200ms"});
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    ::kill(first.pid(), SIGKILL);  // as the OOM killer would
    first.wait();
  }
  std::ifstream in(ckpt);
  const auto saved = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(saved.is_object());
  const auto done = saved["done"].get<std::uint64_t>();
  EXPECT_GT(done, 16 * kMiB);
  EXPECT_LT(done, 64 * kMiB);

  Stressor second({"--target", "64M", "--rate", "32M/s", "--checkpoint", ckpt.string(),
                   "--report-interval", "200ms", "--hold", "0"});
  auto resumed = second.nextLine();
  EXPECT_EQ(resumed.value("event", ""), "resumed");
  EXPECT_EQ(resumed["resumed_from"].get<std::uint64_t>(), done);
  const auto first_report = second.nextLine();
  ASSERT_TRUE(first_report.is_object());
  EXPECT_GE(first_report["bytes_allocated"].get<double>(), static_cast<double>(done))
      << "the working set is rebuilt at once, not ramped again";
  std::uint64_t time_to_target = 0;
  for (auto line = second.nextLine(); !line.is_null(); line = second.nextLine())
    if (line.contains("time_to_target")) time_to_target = static_cast<std::uint64_t>(line["time_to_target"].get<double>() * 1000);
  EXPECT_NEAR(static_cast<double>(time_to_target), (64 * kMiB - static_cast<double>(done)) / (32 * kMiB) * 1000, 100)
      << "only the remaining work goes at the rate (ms)";
  EXPECT_EQ(second.wait(), 0);
  std::ifstream again(ckpt);
  const auto finished = nlohmann::json::parse(again, nullptr, false);
  EXPECT_TRUE(finished["complete"].get<bool>());
  EXPECT_EQ(finished["runs"], 2);
  fs::remove(ckpt);
}

TEST(OomstressProcess, LeakingCheckpointedJobResumesAndLeaksAgainFromItsBaseline) {
  CheckpointFile ckpt;
  {
    Stressor first({"--target", "16M", "--leak", "--rate", "32M/s", "--checkpoint", ckpt.path.string(),
                    "--report-interval", "100ms"});
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    ::kill(first.pid(), SIGKILL);  // as the OOM killer would
    first.wait();
  }
  const auto saved = ckpt.read();
  ASSERT_TRUE(saved.is_object());
  const auto done = saved["done"].get<std::uint64_t>();
  EXPECT_GT(done, 24 * kMiB) << "the baseline and some leaked bytes are work";
  EXPECT_TRUE(saved["leak"].get<bool>());

  Stressor second({"--target", "16M", "--leak", "--rate", "32M/s", "--checkpoint", ckpt.path.string(),
                   "--report-interval", "100ms"});
  const auto resumed = second.nextLine();
  EXPECT_EQ(resumed.value("event", ""), "resumed");
  EXPECT_EQ(resumed["resumed_from"].get<std::uint64_t>(), done);
  const auto first_report = second.nextLine();
  ASSERT_TRUE(first_report.is_object());
  EXPECT_LT(first_report["bytes_allocated"].get<double>(), 16 * kMiB + 8 * kMiB)
      << "a restart frees the leak: it rebuilds its baseline, not everything it ever leaked";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_GT(ckpt.read()["done"].get<std::uint64_t>(), done) << "the work goes on from the checkpoint";
  EXPECT_EQ(ckpt.read()["runs"], 2);
}

TEST(OomstressProcess, ResumesTheTargetItsCheckpointRecordsAndAFinishedJobExitsAtOnce) {
  CheckpointFile ckpt;
  {
    Stressor first({"--target", "8M", "--processes", "2", "--checkpoint", ckpt.path.string()});
    EXPECT_EQ(first.wait(), 0);
  }
  EXPECT_TRUE(ckpt.read()["complete"].get<bool>());
  EXPECT_EQ(ckpt.read()["job_target"], 8 * 1024 * 1024);
  Stressor again({"--checkpoint", ckpt.path.string(), "--processes", "2"});  // no --target
  const auto resumed = again.nextLine();
  EXPECT_EQ(resumed.value("event", ""), "resumed");
  EXPECT_EQ(resumed["target"], 4 * 1024 * 1024) << "this process's share of the recorded 8M";
  EXPECT_TRUE(resumed["complete"].get<bool>());
  EXPECT_EQ(again.wait(2), 0);
  fs::remove(ckpt.path.string() + ".1");
}

TEST(OomstressProcess, CorruptCheckpointOfAnyProcessExitsTwoBeforeAnythingStarts) {
  CheckpointFile ckpt;
  const std::string second = ckpt.path.string() + ".1";
  std::ofstream(second) << "not json";
  Stressor s({"--target", "8M", "--processes", "2", "--checkpoint", ckpt.path.string()});
  EXPECT_EQ(s.wait(), 2);
  EXPECT_NE(s.stderrText().find(second), std::string::npos);
  EXPECT_TRUE(s.stdoutText().empty()) << "no process started";
  fs::remove(second);
}

TEST(OomstressProcess, CorruptCheckpointExitsTwoNamingTheFile) {
  CheckpointFile ckpt;
  std::ofstream(ckpt.path) << "{\"format\":\"oomstress-checkpoint/1\",\"done\":";
  Stressor s({"--target", "8M", "--checkpoint", ckpt.path.string()});
  EXPECT_EQ(s.wait(), 2);
  const auto err = s.stderrText();
  EXPECT_NE(err.find(ckpt.path.string()), std::string::npos) << err;
  EXPECT_NE(err.find("delete it"), std::string::npos) << err;
}

TEST(OomstressProcess, HelpExplainsTheCheckpointWorkAndExitsZero) {
  Stressor s({"--help"});
  EXPECT_EQ(s.wait(), 0);
  const std::string out = s.stdoutText();
  EXPECT_NE(out.find("usage: oomstress"), std::string::npos) << out;
  EXPECT_NE(out.find("resumed_from"), std::string::npos) << "--help defines a checkpointed job's work";
}
