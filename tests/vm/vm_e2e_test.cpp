// Boots real guests through the oomharness binary, as a user would (label vm).
// Other people may run guests on the same machine at the same time, so every
// check for a leftover qemu looks for this test's own run folder in qemu's
// command line, never for "any qemu".
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "vm/image.hpp"
#include "command.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr
};

Run sh(const std::string& command) {
  const auto r = oomtest::runCommand(command);
  return Run{r.status, r.output};
}

std::string readAll(const fs::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A run folder of its own, removed afterwards; its path identifies our qemu.
struct RunDir {
  fs::path path;
  explicit RunDir(const std::string& name)
      : path(fs::temp_directory_path() / ("oomharness-e2e-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
  }
  ~RunDir() { fs::remove_all(path); }
  // The command line of a live qemu using this folder (its -name oomharness:RUN_DIR), or "".
  std::string qemuCommandLine() const {
    const auto r = sh("pgrep -af 'qemu-system-x86_64 .*-name oomharness[:]" + path.string() + " '");
    return r.status == 0 ? r.output : "";
  }
  bool waitQemuGone(std::chrono::seconds limit) const {
    for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;
         std::this_thread::sleep_for(200ms))
      if (qemuCommandLine().empty()) return true;
    return false;
  }
};

// `oomharness vm run` in the background (for the signal tests).
pid_t spawnHarness(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(OOMHARNESS_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(OOMHARNESS_BIN, argv.data());
    ::_exit(127);
  }
  return pid;
}

bool waitFor(const std::function<bool()>& ready, std::chrono::seconds limit) {
  for (auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(200ms))
    if (ready()) return true;
  return false;
}

oom::GuestImage defaultImage() {
  const auto build = sh(std::string(OOMHARNESS_BIN) + " vm build");
  std::smatch m;
  std::regex re("image (\\S+)");
  if (!std::regex_search(build.output, m, re)) return {};
  auto image = oom::readImageJson(m[1].str());
  return image ? *image : oom::GuestImage{};
}

std::string checksum(const fs::path& file) {
  return sh("sha256sum '" + file.string() + "' | cut -d' ' -f1").output;
}

}  // namespace

// One boot checks everything a healthy guest must give us (boots are ~10 s each).
TEST(VmRun, GuestIsSystemdOnCgroupV2WithAReadOnlyPayloadAndChannelsBack) {
  const auto image = defaultImage();
  ASSERT_FALSE(image.dir.empty());
  const auto before = checksum(image.rootfs());
  RunDir run_dir("main");
  const fs::path payload = fs::temp_directory_path() / ("oomharness-e2e-payload-" + std::to_string(::getpid()));
  fs::create_directories(payload);
  std::ofstream(payload / "hello.txt") << "from the host\n";
  std::ofstream(payload / "check.sh")
      << "echo pid1=$(cat /proc/1/comm)\n"
         "systemctl --version | head -1\n"
         "echo controllers=$(cat /sys/fs/cgroup/cgroup.controllers)\n"
         "echo fs=$(stat -f -c %T /sys/fs/cgroup)\n"
         "cat hello.txt\n"
         "touch hello.txt 2>/dev/null && echo payload=writable || echo payload=read-only\n"
         "echo command_oom_score_adj=$(cat /proc/self/oom_score_adj)\n"
         "echo wrapper_oom_score_adj=$(for p in $(pgrep -f oomharness-job); do "
         "cat /proc/$p/oom_score_adj; done | sort -u)\n"
         "echo swap=$(swapon --show=NAME --noheadings)\n"
         "logger -t e2e marker-in-journal\n"
         "echo '{\"line\":1}' > $OOMHARNESS_RESULTS\n"
         "printf '{\"line\":2}\\n' > $OOMHARNESS_RESULTS\n"
         "sleep 1\n";
  const auto run = sh(std::string(OOMHARNESS_BIN) + " vm run --timeout 180s --swap 64M --keep-dir " +
                      run_dir.path.string() + " --payload " + payload.string() +
                      " -- sh -c 'sh check.sh; exit 7'");
  fs::remove_all(payload);
  EXPECT_EQ(run.status, 7) << run.output;  // the command's exit status comes back
  EXPECT_NE(run.output.find("pid1=systemd"), std::string::npos) << run.output;
  const std::string major = image.systemd_version.substr(0, image.systemd_version.find('.'));
  EXPECT_NE(run.output.find("systemd " + major + " ("), std::string::npos) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("controllers=.*\\bmemory\\b"))) << run.output;
  EXPECT_NE(run.output.find("fs=cgroup2fs"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("from the host"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("payload=read-only"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("command_oom_score_adj=0"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("wrapper_oom_score_adj=-1000"), std::string::npos) << run.output;
  EXPECT_TRUE(std::regex_search(run.output, std::regex("swap=/dev/vd[a-z]\\b"))) << run.output;
  EXPECT_NE(run.output.find("result: {\"line\":1}\nresult: {\"line\":2}"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("accelerator "), std::string::npos) << run.output;
  EXPECT_EQ(readAll(run_dir.path / "results.jsonl"), "{\"line\":1}\n{\"line\":2}\n");
  EXPECT_NE(readAll(run_dir.path / "journal.txt").find("marker-in-journal"), std::string::npos);
  EXPECT_NE(readAll(run_dir.path / "control.log").find("OOMHARNESS-END"), std::string::npos);
  EXPECT_TRUE(fs::exists(run_dir.path / "console.log"));
  EXPECT_EQ(checksum(image.rootfs()), before) << "the base image changed";
  EXPECT_TRUE(run_dir.qemuCommandLine().empty()) << "a qemu process was left running";
}

TEST(VmRun, WatchdogEndsAHungGuestAsInconclusive) {
  RunDir run_dir("watchdog");
  const auto run = sh(std::string(OOMHARNESS_BIN) + " vm run --timeout 20s --keep-dir " +
                      run_dir.path.string() + " -- sleep infinity");
  EXPECT_EQ(run.status, 3) << run.output;  // inconclusive, not a test failure
  EXPECT_NE(run.output.find("watchdog"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("last console lines"), std::string::npos) << run.output;
  EXPECT_TRUE(run_dir.qemuCommandLine().empty()) << "a qemu process was left running";
}

// Starts `vm run -- sleep infinity` in the background and waits until its qemu runs.
// Returns the harness pid and the run's private temporary folder (from qemu's
// payload disk path), or pid -1 when qemu never appeared.
struct HungGuest {
  pid_t harness = -1;
  fs::path work;
};
HungGuest startHungGuest(const RunDir& run_dir) {
  HungGuest g;
  g.harness = spawnHarness({"vm", "run", "--timeout", "120s", "--keep-dir", run_dir.path.string(),
                            "--", "sleep", "infinity"},
                           run_dir.path.string() + ".log");
  std::string qemu_line;
  std::smatch m;
  if (!waitFor([&] { return !(qemu_line = run_dir.qemuCommandLine()).empty(); }, 30s) ||
      !std::regex_search(qemu_line, m, std::regex("file=(\\S+)/payload[.]img"))) {
    ::kill(g.harness, SIGKILL);
    ::waitpid(g.harness, nullptr, 0);
    g.harness = -1;
    return g;
  }
  g.work = m[1].str();
  return g;
}

TEST(VmRun, SigtermStopsQemuAndRemovesTheTemporaryFiles) {
  RunDir run_dir("sigterm");
  const HungGuest guest = startHungGuest(run_dir);
  ASSERT_NE(guest.harness, -1) << "qemu never started";
  const pid_t harness = guest.harness;
  const fs::path work = guest.work;
  EXPECT_TRUE(fs::exists(work));
  ::kill(harness, SIGTERM);
  int raw = 0;
  ::waitpid(harness, &raw, 0);
  EXPECT_TRUE(WIFEXITED(raw) && WEXITSTATUS(raw) == 130) << readAll(run_dir.path.string() + ".log");  // interrupted
  EXPECT_TRUE(run_dir.waitQemuGone(5s)) << "qemu outlived the harness";
  EXPECT_FALSE(fs::exists(work)) << work << " was left behind";
  fs::remove(run_dir.path.string() + ".log");
}

TEST(VmRun, QemuDiesWithAKilledHarness) {
  RunDir run_dir("sigkill");
  const HungGuest guest = startHungGuest(run_dir);
  ASSERT_NE(guest.harness, -1) << "qemu never started";
  const pid_t harness = guest.harness;
  const fs::path work = guest.work;
  ::kill(harness, SIGKILL);  // no handler, no destructor: only PR_SET_PDEATHSIG can stop qemu
  ::waitpid(harness, nullptr, 0);
  EXPECT_TRUE(run_dir.waitQemuGone(5s)) << "qemu outlived a killed harness";
  // Its temporary folder is swept by the next run, even one that boots nothing.
  EXPECT_TRUE(fs::exists(work));
  EXPECT_EQ(sh(std::string(OOMHARNESS_BIN) + " vm run --memory 64M -- true").status, 2);
  EXPECT_FALSE(fs::exists(work)) << work << " was not swept";
  fs::remove(run_dir.path.string() + ".log");
}

// Saved guests (vm/saved_guest.hpp), in a cache of their own that shares the
// image's root read-only: the first run of a machine boots it to save it and goes
// on in it; the next is restored from that save, with its disks plugged in and
// the host's time; a save damaged in the cache fails to restore, and that run
// boots cold, says why, and removes the save so that the next run makes another.
TEST(VmRun, AMachineIsSavedOnceRestoredAfterAndADamagedSaveEndsInAColdBoot) {
  const auto image = defaultImage();
  ASSERT_FALSE(image.dir.empty());
  ASSERT_TRUE(fs::exists(image.initrd())) << "the image has no initrd.img";
  RunDir scratch("saved");
  const fs::path copy = scratch.path / "cache" / "oomharness" / "images" / image.recipeName();
  fs::create_directories(copy);
  for (const char* file : {"image.json", "vmlinuz", "initrd.img"}) fs::copy_file(image.dir / file, copy / file);
  fs::create_symlink(image.rootfs(), copy / "rootfs.img");
  const std::string vm = "XDG_CACHE_HOME=" + (scratch.path / "cache").string() + " " + OOMHARNESS_BIN +
                         " vm run --timeout 150s --swap 64M --keep-dir " + scratch.path.string() + "/run";
  const std::string job =
      " -- sh -c 'echo clock=$(date +%s); echo swap=$(swapon --show=NAME --noheadings); "
      "read -r s < /sys/block/${dev:-vda}/serial; echo root-serial=$s; findmnt -n -o SOURCE /'";
  auto guestClock = [](const std::string& output) {
    std::smatch m;
    return std::regex_search(output, m, std::regex("clock=(\\d+)")) ? std::stoll(m[1].str()) : 0LL;
  };
  auto hostClock = [] { return static_cast<long long>(::time(nullptr)); };

  const auto first = sh(vm + job);
  ASSERT_EQ(first.status, 0) << first.output;
  EXPECT_NE(first.output.find("; boot to save (saved for later runs of this machine: "), std::string::npos)
      << first.output;
  EXPECT_TRUE(std::regex_search(first.output, std::regex("swap=/dev/vd[a-z]\\b"))) << first.output;
  const fs::path saved_dir = copy / "saved";
  fs::path saved;
  for (const auto& e : fs::directory_iterator(saved_dir))
    if (e.is_directory()) saved = e.path();
  ASSERT_FALSE(saved.empty()) << "no saved guest in " << saved_dir;
  for (const char* file : {"state", "root.qcow2", "saved.json"}) EXPECT_TRUE(fs::exists(saved / file)) << file;
  const auto state_bytes = fs::file_size(saved / "state");

  std::this_thread::sleep_for(3s);  // the saved guest's clock falls behind the host's
  const auto second = sh(vm + job);
  const auto host_after = hostClock();
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_NE(second.output.find("; restored; "), std::string::npos) << second.output;
  EXPECT_TRUE(std::regex_search(second.output, std::regex("swap=/dev/vd[a-z]\\b"))) << second.output;
  EXPECT_NE(second.output.find("root-serial=root"), std::string::npos) << second.output;
  const long long clock = guestClock(second.output);
  EXPECT_LE(std::llabs(host_after - clock), 10) << "guest clock " << clock << ", host " << host_after;
  EXPECT_EQ(fs::file_size(saved / "state"), state_bytes) << "a restore wrote to the saved guest";

  fs::resize_file(saved / "state", state_bytes / 2);  // damaged in the cache
  const auto third = sh(vm + job);
  ASSERT_EQ(third.status, 0) << third.output;
  EXPECT_NE(third.output.find("; cold boot (restoring the saved guest failed ("), std::string::npos) << third.output;
  EXPECT_NE(third.output.find("; booted cold)"), std::string::npos) << third.output;
  EXPECT_NE(third.output.find("/dev/nvme0n1"), std::string::npos) << third.output;  // the cold boot's root
  EXPECT_FALSE(fs::exists(saved)) << "the damaged save was kept";
  EXPECT_TRUE(scratch.qemuCommandLine().empty());
  std::printf("[saved guest] state %.0f MiB\n", static_cast<double>(state_bytes) / (1 << 20));
}
