#include "vm/process.hpp"

#include <linux/close_range.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <csignal>

namespace bp = boost::process;

namespace oom {
namespace {
std::atomic<bool> g_interrupted{false};
extern "C" void onInterrupt(int) { g_interrupted.store(true); }
}  // namespace

void installInterruptHandlers() {
  static bool installed = false;
  if (installed) return;
  installed = true;
  struct sigaction sa {};
  sa.sa_handler = onInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void prepareChild(int deathsig) {
  ::prctl(PR_SET_PDEATHSIG, deathsig);
  // CLOEXEC rather than close: Boost.Process reports exec errors on its own
  // close-on-exec pipe, which must stay open until exec.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
}

bool interruptRequested() { return g_interrupted.load(); }

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
  bp::child child(exe.string(), bp::args(args), (bp::std_out & bp::std_err) > out,
                  bp::extend::on_exec_setup = [](auto&) { prepareChild(SIGTERM); });
  std::string line;
  while (std::getline(out, line)) {
    if (on_line) on_line(line);
    result.output += line + "\n";
  }
  child.wait();
  result.status = child.exit_code();
  return result;
}

}  // namespace oom
