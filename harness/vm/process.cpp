#include "vm/process.hpp"

#include <linux/close_range.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <chrono>
#include <csignal>
#include <thread>

namespace bp = boost::process;

namespace oom {
namespace {
std::atomic<int> g_signal{0};
extern "C" void onInterrupt(int sig) {
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
}
}  // namespace

void installInterruptHandlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction sa {};
  sa.sa_handler = onInterrupt;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void prepareChild(int deathsig) {
  ::prctl(PR_SET_PDEATHSIG, deathsig);
  ::setpgid(0, 0);
  // CLOEXEC rather than close: Boost.Process reports exec errors on its own
  // close-on-exec pipe, which must stay open until exec.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
}

void signalGroup(int pid, int sig) {
  if (pid <= 0) return;
  if (::kill(-pid, sig) != 0) ::kill(pid, sig);
}

bool interruptRequested() { return g_signal.load() != 0; }
int interruptSignal() { return g_signal.load(); }

std::filesystem::path findProgram(const std::string& name) {
  return bp::search_path(name).string();
}

ToolResult runTool(const std::vector<std::string>& argv,
                   const std::function<void(const std::string&)>& on_line) {
  ToolResult result;
  const auto exe = findProgram(argv.at(0));
  if (exe.empty()) {
    result.status = 127;
    result.output = argv[0] + ": not found in PATH";
    return result;
  }
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  bp::ipstream out;
  // SIGTERM, not SIGKILL: mmdebstrap must get to unmount /proc and /sys from the
  // half-built root before it goes.
  bp::child child(exe.string(), bp::args(args), (bp::std_out & bp::std_err) > out, bp::std_in < bp::null,
                  bp::extend::on_exec_setup = [](auto&) { prepareChild(SIGTERM); });
  // Reading blocks, so a watcher stops the tool when a signal reaches the harness.
  std::atomic<bool> done{false}, stopped{false};
  std::thread watcher([&done, &stopped, pid = child.id()] {
    std::chrono::steady_clock::time_point termed;
    while (!done.load()) {
      if (!stopped.load() && interruptRequested()) {
        signalGroup(pid, SIGTERM);
        stopped = true;
        termed = std::chrono::steady_clock::now();
      }
      if (stopped.load() && std::chrono::steady_clock::now() - termed > std::chrono::seconds(kToolStopGraceSec)) {
        signalGroup(pid, SIGKILL);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::string line;
  while (std::getline(out, line)) {
    if (on_line) on_line(line);
    result.output += line + "\n";
  }
  done = true;  // before wait(): the watcher never signals a pid that was reaped
  watcher.join();
  child.wait();
  result.status = child.exit_code();
  result.interrupted = stopped.load() || interruptRequested();
  return result;
}

}  // namespace oom
