// oomharness-guest: runs a GuestPlan inside the disposable guest and streams
// what it observed as JSON lines (timeline/timeline.hpp) to the results channel.
#include <malloc.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "capture/command.hpp"
#include "live/bus.hpp"
#include "oom/clock.hpp"
#include "guest/record_sink.hpp"
#include "guest/runner.hpp"
#include "live/sysfs.hpp"
#include "oom/guest_paths.hpp"

namespace {

constexpr const char* kUsage =
    "usage: oomharness-guest --plan FILE [--results PATH] [--stressor PATH]\n"
    "       oomharness-guest capture [--scenario FILE] [--units DIR] [--json] [--all] [--top N]\n"
    "  --plan FILE       GuestPlan JSON written by the host\n"
    "  --results PATH    where JSON lines go (a virtio port or a file); default $OOMHARNESS_RESULTS\n"
    "  --stressor PATH   run this stressor binary instead of the plan's argv[0]\n";

// Heap the steady-state loop may use, faulted in and locked before pressure.
constexpr std::size_t kHeapReserve = 16 * 1024 * 1024;
constexpr std::size_t kStackReserve = 512 * 1024;

// Touches stack pages now, so deeper calls later need no new page under pressure.
__attribute__((noinline)) void prefaultStack() {
  volatile char area[kStackReserve];
  for (std::size_t i = 0; i < sizeof area; i += 4096) area[i] = 0;
}

// The observer must outlive the pressure it watches (docs/kernel-and-systemd.md#thrashing-before-the-kill): never an OOM
// victim, never paged out, no page faults for memory it needs later.
void protectSelf(const oom::SysFs& fs) {
  if (!fs.writeFile("proc/self/oom_score_adj", "-1000"))
    std::fprintf(stderr, "oomharness-guest: cannot set oom_score_adj -1000\n");
  // Freed memory stays in the (locked) heap instead of going back to the kernel.
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(kHeapReserve * 2));
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kHeapReserve));
  if (::mlockall(MCL_CURRENT | MCL_FUTURE) != 0) std::perror("oomharness-guest: mlockall");
  if (void* p = std::malloc(kHeapReserve)) {
    std::memset(p, 0, kHeapReserve);
    std::free(p);
  }
  prefaultStack();
}

int failEarly(oom::RecordSink& sink, int status, const std::string& why) {
  std::fprintf(stderr, "oomharness-guest: %s\n", why.c_str());
  sink.emit(oom::kRecordPhase, oom::Phase{oom::monotonicSeconds(), oom::kPhaseSetupFailed, why});
  sink.end(status);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  // `capture`: the host command's read-only capture, for a guest (docs/capture.md).
  if (argc > 1 && std::strcmp(argv[1], "capture") == 0) {
    auto options = oom::parseCaptureArgs(std::vector<std::string>(argv + 2, argv + argc));
    if (!options) {
      std::fprintf(stderr, "oomharness-guest capture: %s\n%s", options.error().str().c_str(), oom::kCaptureUsage);
      return oom::kCaptureBadInput;
    }
    return oom::runCapture(*options, stdout, stderr);
  }
  std::string plan_file, results, stressor;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "oomharness-guest: %s needs a value\n%s", flag.c_str(), kUsage);
      return oom::kGuestUsage;
    }
    if (flag == "--plan") plan_file = argv[++i];
    else if (flag == "--results") results = argv[++i];
    else if (flag == "--stressor") stressor = argv[++i];
    else {
      std::fprintf(stderr, "oomharness-guest: unknown option %s\n%s", flag.c_str(), kUsage);
      return oom::kGuestUsage;
    }
  }
  if (results.empty())
    if (const char* env = std::getenv(oom::guest::kResultsEnv)) results = env;
  if (plan_file.empty() || results.empty()) {
    std::fputs(kUsage, stderr);
    return oom::kGuestUsage;
  }
  const oom::SysFs fs("/");
  protectSelf(fs);
  oom::RecordSink sink(results);
  if (!sink.ok()) {
    std::perror(("oomharness-guest: " + results).c_str());
    return oom::kGuestInfraError;
  }
  try {
    std::ifstream in(plan_file);
    if (!in) return failEarly(sink, oom::kGuestUsage, plan_file + ": cannot read the plan");
    const auto json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded()) return failEarly(sink, oom::kGuestUsage, plan_file + ": not JSON");
    auto plan = json.get<oom::GuestPlan>();
    if (!(plan.time_limit_sec > 0))
      return failEarly(sink, oom::kGuestUsage, plan_file + ": expected time_limit_sec greater than 0");
    if (!stressor.empty())
      for (auto& u : plan.units)
        if (!u.exec_start.empty()) u.exec_start.front() = stressor;
    auto bus = oom::Bus::openSystem();
    if (!bus) return failEarly(sink, oom::kGuestInfraError, bus.error().str());
    return oom::executePlan(plan, sink, *bus, fs);
  } catch (const std::exception& e) {
    return failEarly(sink, oom::kGuestInfraError, e.what());
  }
}
