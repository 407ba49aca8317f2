// Boots real guests through the oomharness binary, as a user would.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "vm/image.hpp"

namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr
};

Run sh(const std::string& command) {
  Run run;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) run.output += buf.data();
  const int raw = ::pclose(p);
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return run;
}

std::string imageDirFromBuild() {
  const auto build = sh(std::string(OOMHARNESS_BIN) + " vm build");
  std::smatch m;
  std::regex re("image (\\S+)");
  return std::regex_search(build.output, m, re) ? m[1].str() : "";
}

std::string checksum(const fs::path& file) {
  return sh("sha256sum '" + file.string() + "' | cut -d' ' -f1").output;
}

}  // namespace

TEST(VmRun, GuestHasSystemdAsPid1CgroupV2AndAReadOnlyPayload) {
  const fs::path image_dir = imageDirFromBuild();
  ASSERT_FALSE(image_dir.empty());
  auto image = oom::readImageJson(image_dir);
  ASSERT_TRUE(image);
  const auto before = checksum(image->rootfs());

  const fs::path payload = fs::temp_directory_path() / "oomharness-e2e-payload";
  fs::create_directories(payload);
  std::ofstream(payload / "hello.txt") << "from the host\n";
  std::ofstream(payload / "check.sh")
      << "echo pid1=$(cat /proc/1/comm)\n"
         "systemctl --version | head -1\n"
         "echo controllers=$(cat /sys/fs/cgroup/cgroup.controllers)\n"
         "cat hello.txt\n"
         "touch hello.txt && echo payload=writable || echo payload=read-only\n"
         "echo '{\"line\":1}' > $OOMHARNESS_RESULTS\n"
         "exit 7\n";
  const auto run = sh(std::string(OOMHARNESS_BIN) + " vm run --timeout 120s --payload " +
                      payload.string() + " -- sh check.sh");
  EXPECT_EQ(run.status, 7) << run.output;  // the command's exit status comes back
  EXPECT_NE(run.output.find("pid1=systemd"), std::string::npos) << run.output;
  const std::string major = image->systemd_version.substr(0, image->systemd_version.find('.'));
  EXPECT_NE(run.output.find("systemd " + major + " ("), std::string::npos) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("controllers=.*\\bmemory\\b"))) << run.output;
  EXPECT_NE(run.output.find("from the host"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("payload=read-only"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("result: {\"line\":1}"), std::string::npos) << run.output;
  EXPECT_EQ(checksum(image->rootfs()), before) << "the base image changed";
  EXPECT_EQ(sh("pgrep -f 'systemd[.]unit=oomharness-job'").status, 1) << "a qemu process was left running";
  fs::remove_all(payload);
}

TEST(VmRun, WatchdogEndsAHungGuestAsInconclusive) {
  const auto run = sh(std::string(OOMHARNESS_BIN) +
                      " vm run --timeout 25s -- sleep infinity");
  EXPECT_EQ(run.status, 3) << run.output;  // inconclusive, not a test failure
  EXPECT_NE(run.output.find("watchdog"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("last console lines"), std::string::npos) << run.output;
  EXPECT_EQ(sh("pgrep -f 'systemd[.]unit=oomharness-job'").status, 1) << "a qemu process was left running";
}

TEST(VmRun, GuestKeepsTheJournalAndConsoleForTheRun) {
  const fs::path keep = fs::temp_directory_path() / "oomharness-e2e-keep";
  fs::remove_all(keep);
  const auto run = sh(std::string(OOMHARNESS_BIN) + " vm run --timeout 120s --keep-dir " +
                      keep.string() + " -- logger -t e2e marker-in-journal");
  EXPECT_EQ(run.status, 0) << run.output;
  std::ifstream journal(keep / "journal.txt");
  const std::string text((std::istreambuf_iterator<char>(journal)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("marker-in-journal"), std::string::npos) << text.substr(0, 2000);
  EXPECT_TRUE(fs::exists(keep / "console.log"));
  fs::remove_all(keep);
}
