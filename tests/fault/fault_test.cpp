// Fault tests (labels fault and vm): whatever happens to the guest, the host or
// the harness, oomharness ends with a clear verdict or a clear error, within its
// time limit plus a stated margin, with no qemu left running, no temporary folder
// left behind, and the records up to the fault kept.
//
// Each test gives the harness a TMPDIR of its own, so "no temporary folder left"
// means exactly: $TMPDIR/oomharness-<uid>/ is empty afterwards. Other people may
// run guests on the same machine, so a leftover qemu is looked for by this test's
// own run folder in qemu's command line (-name oomharness:RUN_DIR), never as "any
// qemu". Guest commands are the cheapest that show the fault (`vm run -- ...`);
// `run`-level faults use tests/fault/quick-kill.json (about 20-30 s under TCG).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "command.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kBin = OOMHARNESS_BIN;
const std::string kQuickKill = std::string(SOURCE_DIR) + "/tests/fault/quick-kill.json";
// Time for the harness itself to stop once qemu is gone or a signal arrived.
constexpr auto kStopMargin = 15s;
// Guest boot under TCG on 2 shared cores: 7 s idle, 25 s seen beside other guests.
constexpr auto kBootMargin = 60s;

std::string readAll(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string shell(const std::string& command) { return oomtest::runCommand(command).output; }

bool waitFor(const std::function<bool()>& ready, std::chrono::seconds limit) {
  for (auto end = Clock::now() + limit; Clock::now() < end; std::this_thread::sleep_for(200ms))
    if (ready()) return true;
  return ready();
}

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One test's scratch space: TMPDIR, run folder, results folder, cache.
struct Scratch {
  fs::path dir;
  explicit Scratch(const std::string& name)
      : dir(fs::temp_directory_path() / ("oomharness-fault-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(tmp());
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path tmp() const { return dir / "tmp"; }
  fs::path run() const { return dir / "run"; }
  fs::path results() const { return dir / "results"; }
  // What the harness's temporary folders left behind.
  std::vector<std::string> leftovers() const {
    std::vector<std::string> left;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(tmp() / ("oomharness-" + std::to_string(::geteuid())), ec))
      left.push_back(e.path().filename().string());
    return left;
  }
  // pid of a live qemu whose -name carries `run_dir` (0: none).
  static pid_t qemuOf(const fs::path& run_dir) {
    const auto out = shell("pgrep -f 'qemu-system-x86_64 .*-name oomharness[:]" + run_dir.string() + "( |$)'");
    return static_cast<pid_t>(std::atoi(out.c_str()));
  }
  // The run folder `run` made under results().
  fs::path runFolder() const {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(results(), ec))
      if (e.is_directory()) return e.path();
    return {};
  }
};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + " ";
  return s;
}

// oomharness in the background, leading its own process group as a shell job
// does (so kill(-pid, SIGINT) is what a terminal's Ctrl-C sends), stdout and
// stderr to a log file.
struct Harness {
  pid_t pid = -1;
  fs::path log;
  Clock::time_point started = Clock::now();
  int status = -1;  // exit status once ended; 128+N when killed by signal N

  Harness(const std::vector<std::string>& args, const std::vector<std::string>& env, fs::path log_file)
      : log(std::move(log_file)) {
    pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv{const_cast<char*>(kBin.c_str())};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(kBin.c_str(), argv.data());
      ::_exit(127);
    }
  }
  ~Harness() {
    if (status < 0 && pid > 0) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Waits up to `limit`; false (and the harness killed) if it did not end.
  bool wait(std::chrono::seconds limit) {
    for (auto end = Clock::now() + limit; Clock::now() < end; std::this_thread::sleep_for(100ms)) {
      int raw = 0;
      if (::waitpid(pid, &raw, WNOHANG) == pid) {
        status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
        return true;
      }
    }
    ::kill(-pid, SIGKILL);
    int raw = 0;
    ::waitpid(pid, &raw, 0);
    status = 999;
    return false;
  }
  std::string output() const { return readAll(log); }
};

std::string tmpEnv(const Scratch& s) { return "TMPDIR=" + s.tmp().string(); }

// A guest command that leaves one record on the results channel before the fault.
std::string recordThen(const std::string& fault) {
  return "echo '{\"before\":\"fault\"}' > $OOMHARNESS_RESULTS; sleep 1; " + fault;
}

// The default image (the vm_image fixture built it): its version folder and cache name.
struct Image {
  fs::path dir;
  std::string name;  // <release>-<hash>
};
Image defaultImage() {
  std::smatch m;
  const std::string out = shell(kBin + " vm build");
  if (!std::regex_search(out, m, std::regex("image (\\S+)"))) return {};
  Image image{m[1].str(), ""};
  image.name = image.dir.filename().string();
  image.name = image.name.substr(0, image.name.find('.'));
  return image;
}

// The common ending of a guest fault: the status, qemu gone, no temporary folder left.
void expectCleanEnd(const Scratch& s, const fs::path& run_dir) {
  EXPECT_TRUE(waitFor([&] { return Scratch::qemuOf(run_dir) == 0; }, 5s)) << "qemu left running";
  EXPECT_EQ(joined(s.leftovers()), "") << "temporary folders left behind";
}

}  // namespace

// A kernel panic in the guest (panic=-1, -no-reboot): qemu exits at once; no
// sentinel, so the guest died: inconclusive, with the panic on the console.
TEST(Fault, GuestKernelPanicEndsAsGuestDied) {
  Scratch s("panic");
  Harness h({"vm", "run", "--timeout", "120s", "--keep-dir", s.run().string(), "--", "sh", "-c",
             recordThen("echo c > /proc/sysrq-trigger")},
            {tmpEnv(s)}, s.dir / "log");
  ASSERT_TRUE(h.wait(120s + kStopMargin)) << h.output();
  const double took = secondsSince(h.started);
  EXPECT_EQ(h.status, 3) << h.output();
  EXPECT_NE(h.output().find("guest died"), std::string::npos) << h.output();
  EXPECT_NE(h.output().find("no OOMHARNESS-END sentinel"), std::string::npos) << h.output();
  EXPECT_NE(readAll(s.run() / "console.log").find("Kernel panic"), std::string::npos);
  EXPECT_EQ(readAll(s.run() / "results.jsonl"), "{\"before\":\"fault\"}\n") << "the record before the panic";
  EXPECT_LT(took, 60) << "a panic ends the guest at once; it took " << took << " s";
  expectCleanEnd(s, s.run());
  std::printf("[fault] kernel panic: exit %d after %.1f s\n", h.status, took);
}

// The whole guest freezes (suspend-to-idle with nothing to wake it): no output,
// no exit. The watchdog kills qemu at --timeout: inconclusive, records kept.
TEST(Fault, FrozenGuestIsEndedByTheWatchdog) {
  Scratch s("hang");
  const auto timeout = 30s;
  Harness h({"vm", "run", "--timeout", "30s", "--keep-dir", s.run().string(), "--", "sh", "-c",
             recordThen("echo freeze > /sys/power/state; echo thawed")},
            {tmpEnv(s)}, s.dir / "log");
  ASSERT_TRUE(h.wait(timeout + kStopMargin)) << h.output();
  const double took = secondsSince(h.started);
  EXPECT_EQ(h.status, 3) << h.output();
  EXPECT_NE(h.output().find("qemu killed by the watchdog"), std::string::npos) << h.output();
  EXPECT_EQ(h.output().find("thawed"), std::string::npos) << "the guest was not frozen";
  EXPECT_EQ(readAll(s.run() / "results.jsonl"), "{\"before\":\"fault\"}\n");
  EXPECT_GE(took, 30);
  expectCleanEnd(s, s.run());
  std::printf("[fault] frozen guest: exit %d after %.1f s (watchdog 30 s)\n", h.status, took);
}

// qemu itself dies (kill -9): the harness notices at once, says how qemu ended,
// keeps the records, and cleans up.
TEST(Fault, QemuKilledMidRunEndsAsGuestDied) {
  Scratch s("qemu-killed");
  Harness h({"vm", "run", "--timeout", "300s", "--keep-dir", s.run().string(), "--", "sh", "-c",
             recordThen("sleep infinity")},
            {tmpEnv(s)}, s.dir / "log");
  ASSERT_TRUE(waitFor([&] { return !readAll(s.run() / "results.jsonl").empty(); }, kBootMargin + 30s))
      << "no record came back: " << h.output();
  const pid_t qemu = Scratch::qemuOf(s.run());
  ASSERT_GT(qemu, 0);
  const auto killed_at = Clock::now();
  ::kill(qemu, SIGKILL);
  ASSERT_TRUE(h.wait(kStopMargin)) << h.output();
  const double took = secondsSince(killed_at);
  EXPECT_EQ(h.status, 3) << h.output();
  EXPECT_NE(h.output().find("qemu killed by signal 9"), std::string::npos) << h.output();
  EXPECT_EQ(readAll(s.run() / "results.jsonl"), "{\"before\":\"fault\"}\n");
  EXPECT_LT(took, 5);
  expectCleanEnd(s, s.run());
  std::printf("[fault] qemu killed: exit %d, %.1f s after the kill (%.1f s in all)\n", h.status, took,
              secondsSince(h.started));
}

// A damaged image in the cache. Truncated (or not ext4): noticed before booting,
// and rebuilt (here the mirror is unreachable, so the rebuild fails: exit 3 naming
// both). Whole in size but unreadable inside: the guest cannot mount its root and
// panics at once: guest died, exit 3. Both against a copy in a cache of their own.
TEST(Fault, DamagedImageIsRebuiltOrEndsAsGuestDied) {
  Scratch s("image");
  const Image image = defaultImage();
  ASSERT_FALSE(image.name.empty());
  const fs::path copy = s.dir / "cache" / "oomharness" / "images" / image.name;
  fs::create_directories(copy);
  fs::copy_file(image.dir / "image.json", copy / "image.json");
  fs::copy_file(image.dir / "vmlinuz", copy / "vmlinuz");
  const auto full = fs::file_size(image.dir / "rootfs.img");
  {  // the first 64 MiB, as a copy cut short would leave it
    std::ifstream in(image.dir / "rootfs.img", std::ios::binary);
    std::ofstream out(copy / "rootfs.img", std::ios::binary);
    std::vector<char> buf(1 << 20);
    for (int i = 0; i < 64 && in.read(buf.data(), static_cast<std::streamsize>(buf.size())); ++i)
      out.write(buf.data(), in.gcount());
  }
  const std::vector<std::string> env = {tmpEnv(s), "XDG_CACHE_HOME=" + (s.dir / "cache").string(),
                                        "OOMHARNESS_MIRROR=http://127.0.0.1:9/debian"};
  Harness truncated({"vm", "run", "--accel", "tcg", "--timeout", "60s", "--keep-dir", s.run().string(), "--",
                     "true"},
                    env, s.dir / "log1");
  ASSERT_TRUE(truncated.wait(60s)) << truncated.output();
  EXPECT_EQ(truncated.status, 3) << truncated.output();
  EXPECT_NE(truncated.output().find("is damaged (rootfs.img: truncated: 67108864 bytes of the"), std::string::npos)
      << truncated.output();
  EXPECT_NE(truncated.output().find("cannot reach the Debian mirror"), std::string::npos) << truncated.output();
  EXPECT_FALSE(fs::exists(s.run() / "console.log")) << "a truncated image was booted";
  for (const auto& e : fs::directory_iterator(copy.parent_path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "half-built image left";
  EXPECT_EQ(joined(s.leftovers()), "");
  std::printf("[fault] truncated image: exit %d after %.1f s\n", truncated.status, secondsSince(truncated.started));

  // Full size, ext4 superblock intact, everything after the first MiB zero.
  fs::resize_file(copy / "rootfs.img", 1 << 20);
  fs::resize_file(copy / "rootfs.img", full);
  Harness garbled({"vm", "run", "--accel", "tcg", "--timeout", "60s", "--keep-dir", s.run().string(), "--",
                   "true"},
                  env, s.dir / "log2");
  ASSERT_TRUE(garbled.wait(60s + kStopMargin)) << garbled.output();
  EXPECT_EQ(garbled.status, 3) << garbled.output();
  EXPECT_NE(garbled.output().find("guest died"), std::string::npos) << garbled.output();
  EXPECT_NE(garbled.output().find("Unable to mount root fs"), std::string::npos) << garbled.output();
  expectCleanEnd(s, s.run());
  std::printf("[fault] unreadable image: exit %d after %.1f s\n", garbled.status, secondsSince(garbled.started));
}

// The results disk fills up mid-run (a 2 MiB tmpfs with 24 KiB left): the channel
// files stop growing, the verdict still comes from the records in memory and is
// printed before any report is written; each report that cannot be written is
// named; the exit status is the verdict's (README: exit status).
TEST(Fault, ResultsDiskFullStillPrintsTheVerdict) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  Scratch s("disk-full");
  fs::create_directories(s.results());
  ASSERT_EQ(::mount("tmpfs", s.results().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0755"), 0)
      << std::strerror(errno);
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{s.results()};
  {  // leave 24 KiB: plan.json fits (a healthy run writes 75 KiB: journal 45, result.json 17)
    std::ofstream fill(s.results() / "filler", std::ios::binary);
    fill << std::string(2 * 1024 * 1024 - 24 * 1024, 'x');
  }
  Harness h({"run", "--quiet", "--results", (s.results() / "runs").string(), kQuickKill}, {tmpEnv(s)},
            s.dir / "log");
  ASSERT_TRUE(h.wait(40s + 120s + kStopMargin)) << h.output();  // time_limit + boot allowance
  const std::string out = h.output();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("verdict: (\\w+) \\(exit (\\d+)\\)"))) << out;
  EXPECT_EQ(h.status, std::stoi(m[2].str())) << "the exit status is the printed verdict's";
  EXPECT_EQ(m[1].str(), "pass") << out;
  EXPECT_NE(out.find("report not written: "), std::string::npos) << out;
  EXPECT_NE(out.find("result.json: cannot write: No space left on device"), std::string::npos) << out;
  EXPECT_NE(out.find("guest output not kept in full: "), std::string::npos) << out;
  EXPECT_NE(out.find("No space left on device"), std::string::npos) << out;
  expectCleanEnd(s, s.results());
  std::printf("[fault] results disk full: verdict %s, exit %d after %.1f s\n", m[1].str().c_str(), h.status,
              secondsSince(h.started));
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.find("not written") != std::string::npos || line.find("not kept") != std::string::npos)
      std::printf("[fault]   %s\n", line.c_str());
}

// Ctrl-C on the terminal during the pressure phase: SIGINT reaches the harness's
// process group, not qemu's; the harness stops qemu, keeps the records, writes
// result.json (inconclusive, interrupted) and exits 130.
TEST(Fault, CtrlCDuringARunEndsInterruptedWithItsRecords) {
  Scratch s("sigint");
  Harness h({"run", "--quiet", "--results", s.results().string(), kQuickKill}, {tmpEnv(s)}, s.dir / "log");
  fs::path folder;
  ASSERT_TRUE(waitFor([&] {
    folder = s.runFolder();
    return !folder.empty() && !readAll(folder / "results.jsonl").empty();
  }, kBootMargin + 30s)) << h.output();
  const pid_t qemu = Scratch::qemuOf(folder);
  ASSERT_GT(qemu, 0);
  EXPECT_EQ(::getpgid(qemu), qemu) << "qemu is not in a process group of its own";
  const auto signalled = Clock::now();
  ::kill(-h.pid, SIGINT);  // the terminal's Ctrl-C: the harness's whole group
  ASSERT_TRUE(h.wait(kStopMargin)) << h.output();
  const double took = secondsSince(signalled);
  EXPECT_EQ(h.status, 130) << h.output();
  const auto result = nlohmann::json::parse(readAll(folder / "result.json"), nullptr, false);
  ASSERT_TRUE(result.is_object()) << "no result.json";
  EXPECT_EQ(result["verdict"], "inconclusive");
  EXPECT_EQ(result["exit_status"], 130);
  EXPECT_NE(result["reason"].get<std::string>().find("interrupted by a signal"), std::string::npos) << result["reason"];
  EXPECT_FALSE(readAll(folder / "results.jsonl").empty());
  EXPECT_LT(took, 5);
  expectCleanEnd(s, folder);
  std::printf("[fault] Ctrl-C mid-run: exit %d, %.1f s after the signal\n", h.status, took);
}

// SIGTERM (a CI runner cancelling the job) while the harness waits for another
// oomharness holding the image cache: it said it was waiting, stops at once, 130,
// and result.json says it never started a guest.
TEST(Fault, SigtermWhileWaitingForTheImageCacheEndsInterrupted) {
  Scratch s("sigterm-lock");
  const fs::path images = s.dir / "cache" / "oomharness" / "images";
  fs::create_directories(images);
  const int lock = ::open((images / ".lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_EQ(::flock(lock, LOCK_EX), 0);
  Harness h({"run", "--quiet", "--results", s.results().string(), kQuickKill},
            {tmpEnv(s), "XDG_CACHE_HOME=" + (s.dir / "cache").string()}, s.dir / "log");
  ASSERT_TRUE(waitFor([&] { return h.output().find("waiting for another oomharness") != std::string::npos; }, 30s))
      << h.output();
  const auto signalled = Clock::now();
  ::kill(h.pid, SIGTERM);
  ASSERT_TRUE(h.wait(kStopMargin)) << h.output();
  const double took = secondsSince(signalled);
  ::close(lock);
  EXPECT_EQ(h.status, 130) << h.output();
  const auto result = nlohmann::json::parse(readAll(s.runFolder() / "result.json"), nullptr, false);
  ASSERT_TRUE(result.is_object()) << h.output();
  EXPECT_EQ(result["verdict"], "inconclusive");
  EXPECT_NE(result["reason"].get<std::string>().find("interrupted before the guest started"), std::string::npos)
      << result["reason"];
  EXPECT_LT(took, 2);
  EXPECT_EQ(joined(s.leftovers()), "");
  std::printf("[fault] SIGTERM waiting for the cache: exit %d, %.1f s after the signal\n", h.status, took);
}

// Ctrl-C while mmdebstrap builds an image (its mirror accepts connections and
// never answers): mmdebstrap's group gets SIGTERM, nothing stays mounted or
// half-built, exit 130.
TEST(Fault, CtrlCDuringAnImageBuildStopsMmdebstrapCleanly) {
  Scratch s("sigint-build");
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener, 16), 0);  // never accepted: requests hang
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string mirror = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/debian";
  const fs::path cache = s.dir / "cache";
  Harness h({"vm", "build"}, {tmpEnv(s), "XDG_CACHE_HOME=" + cache.string(), "OOMHARNESS_MIRROR=" + mirror},
            s.dir / "log");
  ASSERT_TRUE(waitFor([&] { return h.output().find("[1/3] mmdebstrap") != std::string::npos; }, 30s)) << h.output();
  std::this_thread::sleep_for(3s);  // mmdebstrap is waiting on the mirror
  ASSERT_NE(shell("pgrep -f '[m]mdebstrap.*" + cache.string() + "' || true"), "") << h.output();
  const auto signalled = Clock::now();
  ::kill(-h.pid, SIGINT);
  ASSERT_TRUE(h.wait(std::chrono::seconds(30) + kStopMargin)) << h.output();  // kToolStopGraceSec
  const double took = secondsSince(signalled);
  ::close(listener);
  EXPECT_EQ(h.status, 130) << h.output();
  EXPECT_NE(h.output().find("interrupted by a signal: mmdebstrap stopped"), std::string::npos) << h.output();
  EXPECT_EQ(shell("findmnt -rn -o TARGET | grep -F '" + cache.string() + "' || true"), "");
  for (const auto& e : fs::recursive_directory_iterator(cache / "oomharness" / "images"))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "half-built image left";
  EXPECT_EQ(shell("pgrep -f '[m]mdebstrap.*" + cache.string() + "' || true"), "") << "mmdebstrap left running";
  EXPECT_EQ(joined(s.leftovers()), "");
  std::printf("[fault] Ctrl-C during the image build: exit %d, %.1f s after the signal\n", h.status, took);
}

// SIGKILL: nothing of the harness runs any more. qemu dies with it
// (PR_SET_PDEATHSIG), the records up to then are in the run folder, and the
// temporary folder it could not remove is swept by the next command.
TEST(Fault, SigkillMidRunLeavesNoQemuAndTheNextCommandSweeps) {
  Scratch s("sigkill");
  Harness h({"run", "--quiet", "--results", s.results().string(), kQuickKill}, {tmpEnv(s)}, s.dir / "log");
  fs::path folder;
  ASSERT_TRUE(waitFor([&] {
    folder = s.runFolder();
    return !folder.empty() && !readAll(folder / "results.jsonl").empty();
  }, kBootMargin + 30s)) << h.output();
  ::kill(h.pid, SIGKILL);
  ASSERT_TRUE(h.wait(5s));
  EXPECT_EQ(h.status, 128 + SIGKILL);
  EXPECT_TRUE(waitFor([&] { return Scratch::qemuOf(folder) == 0; }, 5s)) << "qemu outlived a killed harness";
  EXPECT_FALSE(readAll(folder / "results.jsonl").empty());
  EXPECT_TRUE(fs::exists(folder / "plan.json"));
  EXPECT_EQ(s.leftovers().size(), 1u) << "the killed run's temporary folder";
  Harness next({"vm", "run", "--memory", "64M", "--", "true"}, {tmpEnv(s)}, s.dir / "log2");
  ASSERT_TRUE(next.wait(30s));
  EXPECT_EQ(next.status, 2) << next.output();  // bad input; it swept first
  EXPECT_EQ(joined(s.leftovers()), "") << "not swept";
  std::printf("[fault] SIGKILL mid-run: qemu gone, temporary folder swept by the next command\n");
}

// The same scenario twice at once into the same results folder: two folders,
// each with its own complete result and verdict; one image build, one probe.
TEST(Fault, TwoRunsOfTheSameScenarioAtOnceNeverMeet) {
  Scratch s("twice");
  Harness a({"run", "--quiet", "--results", s.results().string(), kQuickKill}, {tmpEnv(s)}, s.dir / "log-a");
  Harness b({"run", "--quiet", "--results", s.results().string(), kQuickKill}, {tmpEnv(s)}, s.dir / "log-b");
  // Two guests share the 2 cores: both at half speed.
  ASSERT_TRUE(a.wait(2 * (40s + kBootMargin) + kStopMargin)) << a.output();
  ASSERT_TRUE(b.wait(2 * (40s + kBootMargin) + kStopMargin)) << b.output();
  const double took = secondsSince(a.started);
  std::set<fs::path> folders;
  for (const auto& e : fs::directory_iterator(s.results())) folders.insert(e.path());
  ASSERT_EQ(folders.size(), 2u);
  for (const auto* h : {&a, &b}) {
    std::smatch m;
    const std::string out = h->output();
    ASSERT_TRUE(std::regex_search(out, m, std::regex("details in (\\S+)"))) << out;
    EXPECT_TRUE(folders.count(m[1].str())) << m[1].str();
    const auto result = nlohmann::json::parse(readAll(fs::path(m[1].str()) / "result.json"), nullptr, false);
    ASSERT_TRUE(result.is_object());
    EXPECT_EQ(result["exit_status"], h->status);
    EXPECT_EQ(h->status, 0) << out;
  }
  EXPECT_EQ(joined(s.leftovers()), "");
  std::printf("[fault] two runs at once: exits %d and %d, %.1f s for both\n", a.status, b.status, took);
}

// A guest that floods a channel: one 20 MiB line on the command's output. The
// line is cut at 1 MiB, the file stops at its 16 MiB cap, the run completes, and
// the losses are reported.
TEST(Fault, GuestOutputFloodIsCutCappedAndReported) {
  Scratch s("flood");
  Harness h({"vm", "run", "--timeout", "180s", "--keep-dir", s.run().string(), "--", "sh", "-c",
             "head -c 20M /dev/zero | tr '\\0' x; echo; echo after"},
            {tmpEnv(s)}, s.dir / "log");
  ASSERT_TRUE(h.wait(180s + kStopMargin));
  const std::string out = h.output();
  EXPECT_EQ(h.status, 0) << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  EXPECT_EQ(fs::file_size(s.run() / "output.log"), 16u * 1024 * 1024);
  EXPECT_NE(out.find("output.log: 1 line(s) over 1MiB cut; 4.0MiB past its 16MiB cap dropped"), std::string::npos)
      << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  expectCleanEnd(s, s.run());
  std::printf("[fault] output flood: exit %d after %.1f s\n", h.status, secondsSince(h.started));
}

// A host too small for the guest: refused before anything is built or booted,
// exit 3, saying what was needed and what there is.
TEST(Fault, AHostTooSmallForTheGuestIsRefusedBeforeBooting) {
  Scratch s("host");
  Harness memory({"vm", "run", "--memory", "1T", "--keep-dir", s.run().string(), "--", "true"}, {tmpEnv(s)},
                 s.dir / "log1");
  ASSERT_TRUE(memory.wait(30s));
  EXPECT_EQ(memory.status, 3) << memory.output();
  EXPECT_TRUE(std::regex_search(memory.output(),
                                std::regex("host memory: this guest does not fit .*: needed guest 1024GiB \\+ qemu "
                                           "512MiB \\+ harness 256MiB \\+ margin 256MiB = .*; MemAvailable ")))
      << memory.output();
  Harness swap({"vm", "run", "--swap", "100T", "--keep-dir", s.run().string(), "--", "true"}, {tmpEnv(s)},
               s.dir / "log2");
  ASSERT_TRUE(swap.wait(30s));
  EXPECT_EQ(swap.status, 3) << swap.output();
  EXPECT_NE(swap.output().find("the swap file does not fit on "), std::string::npos) << swap.output();
  EXPECT_FALSE(fs::exists(s.run() / "console.log")) << "a guest was booted";
  EXPECT_EQ(joined(s.leftovers()), "");
}

// Ctrl-C while a suite runs its second of three cells: the suite stops that run
// cleanly (its result.json written, exit 130), starts nothing more, and exits
// 130; the finished cell stays intact and index.json says which cell never ran.
TEST(Fault, CtrlCDuringASuiteKeepsFinishedCellsAndNamesTheOnesNeverRun) {
  Scratch s("suite-sigint");
  Harness h({"run", "--quiet", "--repeat", "3", "-j", "1", "--results", s.results().string(), kQuickKill},
            {tmpEnv(s)}, s.dir / "log");
  fs::path suite;
  nlohmann::json index;
  // Wait until the first cell is done and the second's guest is streaming records.
  ASSERT_TRUE(waitFor([&] {
    suite = s.runFolder();
    if (suite.empty()) return false;
    index = nlohmann::json::parse(readAll(suite / "index.json"), nullptr, false);
    return index.is_object() && index["cells"].size() == 3 && index["cells"][0]["status"] == "done" &&
           !readAll(suite / "quick-kill-bookworm-r2" / "results.jsonl").empty();
  }, 2 * kBootMargin + 60s)) << h.output();
  const pid_t qemu = Scratch::qemuOf(suite / "quick-kill-bookworm-r2");
  ASSERT_GT(qemu, 0) << "the second cell's guest is not running";
  ::kill(-h.pid, SIGINT);
  ASSERT_TRUE(h.wait(kStopMargin)) << h.output();
  EXPECT_EQ(h.status, 130) << h.output();
  index = nlohmann::json::parse(readAll(suite / "index.json"), nullptr, false);
  ASSERT_TRUE(index.is_object()) << "no index.json";
  EXPECT_EQ(index["exit_status"], 130);
  EXPECT_EQ(index["complete"], false);
  const auto& cells = index["cells"];
  EXPECT_EQ(cells[0]["status"], "done");
  EXPECT_EQ(cells[0]["verdict"], "pass") << cells[0];
  EXPECT_TRUE(fs::exists(suite / "quick-kill-bookworm-r1" / "result.json"));
  EXPECT_EQ(cells[1]["status"], "done");
  EXPECT_EQ(cells[1]["exit_status"], 130) << cells[1];
  EXPECT_EQ(nlohmann::json::parse(readAll(suite / "quick-kill-bookworm-r2" / "result.json"))["exit_status"], 130);
  EXPECT_EQ(cells[2]["status"], "not_run") << cells[2];
  EXPECT_FALSE(fs::exists(suite / "quick-kill-bookworm-r3")) << "nothing starts after the signal";
  const std::string junit = readAll(suite / "junit.xml");
  EXPECT_NE(junit.find("quick-kill-bookworm-r3: never ran (not_run)"), std::string::npos) << junit;
  expectCleanEnd(s, suite / "quick-kill-bookworm-r2");
}
