#include "vm/boot.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "vm/channel.hpp"
#include "vm/data_dir.hpp"
#include "oom/guest_paths.hpp"
#include "vm/payload.hpp"
#include "vm/process.hpp"
#include "vm/qemu.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace oom {
namespace {

// A private temporary folder, removed with everything in it on scope exit. Its
// name carries our pid so that a later run can sweep what a killed one left.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() /
                           (kTempPrefix + std::to_string(::getpid()) + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string tailOfFile(const fs::path& file, std::size_t bytes) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const auto size = static_cast<std::size_t>(in.tellg());
  in.seekg(static_cast<std::streamoff>(size > bytes ? size - bytes : 0));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (size > bytes) s.erase(0, s.find('\n') + 1);
  return s;
}

std::string qemuVersion() {
  auto v = runTool({"qemu-system-x86_64", "--version"});
  return v.output.substr(0, v.output.find('\n'));
}

double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

const char* endingName(BootResult::Ending o) {
  switch (o) {
    case BootResult::Ending::completed: return "completed";
    case BootResult::Ending::timed_out: return "timed out";
    case BootResult::Ending::guest_died: return "guest died";
    case BootResult::Ending::interrupted: return "interrupted";
  }
  return "?";
}

namespace {

constexpr double kPowerOffGraceSec = 1.0;

struct Channels {
  fs::path results, control, output, journal;
};

// One boot: launches qemu, follows the channels until it exits, the watchdog fires
// or a signal arrives; fills in the ending, exit status and timings.
void bootAndFollow(const QemuConfig& config, const Channels& ch, const BootRequest& request,
                   const fs::path& work, BootResult& result) {
  for (const auto& [name, file] : config.ports) std::ofstream(file, std::ios::trunc);
  std::ofstream(config.console_log, std::ios::trunc);
  const fs::path qemu_log = work / "qemu.log";
  const auto argv = qemuCommand(config);
  spdlog::debug("vm: {}", fmt::join(argv, " "));
  const auto started = Clock::now();
  // PR_SET_PDEATHSIG: qemu dies with the harness, even on SIGKILL or a crash.
  bp::child qemu(findProgram(argv[0]).string(),
                 bp::args(std::vector<std::string>(argv.begin() + 1, argv.end())),
                 (bp::std_out & bp::std_err) > qemu_log.string(), bp::std_in < bp::null,
                 bp::extend::on_exec_setup = [](auto&) { prepareChild(SIGKILL); });

  LineFollower results(ch.results), control(ch.control), output(ch.output);
  bool sentinel = false;
  Clock::time_point sentinel_at;
  result.exit_status = -1;
  result.boot_to_command_sec = 0;
  auto onControl = [&](const std::string& line) {
    if (line == guest::kEndSentinel) {
      sentinel = true;
      sentinel_at = Clock::now();
      return;
    }
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return;
    if (j.contains("command_start_uptime")) result.boot_to_command_sec = since(started);
    if (j.contains("exit_status") && j["exit_status"].is_number_integer()) {
      result.exit_status = j["exit_status"].get<int>();
      result.reason = j.value("reason", "");
    }
  };
  auto noop = [](const std::string&) {};
  const auto& onResult = request.on_result_line ? request.on_result_line : noop;
  const auto& onOutput = request.on_output_line ? request.on_output_line : noop;
  auto drain = [&] {
    results.poll(onResult);
    output.poll(onOutput);
    control.poll(onControl);
  };

  bool timed_out = false, interrupted = false;
  while (qemu.running()) {
    drain();
    if (interruptRequested()) {
      interrupted = true;
      break;
    }
    if (since(started) > request.timeout.count()) {
      timed_out = true;
      break;
    }
    // Everything the guest wrote before the sentinel is already in the files (a
    // virtio-serial write returns once qemu took the data). Its power-off takes a
    // few seconds under TCG that tell us nothing: a short grace, then qemu goes.
    if (sentinel && since(sentinel_at) > kPowerOffGraceSec) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (qemu.running()) qemu.terminate();  // SIGKILL: the snapshot is thrown away anyway
  qemu.wait();
  result.total_sec = since(started);
  drain();
  results.flush(onResult);
  output.flush(onOutput);
  control.flush(onControl);

  // The console is quiet (kernel errors, OOM kills, panics, the job's own lines);
  // when it says little, the journal's tail tells more about a hung guest.
  result.last_console_lines = tailOfFile(config.console_log, 2000);
  if (std::count(result.last_console_lines.begin(), result.last_console_lines.end(), '\n') < 5)
    result.last_console_lines += "(console nearly empty; last journal lines:)\n" + tailOfFile(ch.journal, 1500);
  if (interrupted) {
    result.ending = BootResult::Ending::interrupted;
    result.reason = "interrupted by a signal; qemu stopped";
  } else if (timed_out) {
    result.ending = BootResult::Ending::timed_out;
    result.reason = "the guest did not finish within " + formatDuration(request.timeout) +
                    "; qemu killed by the watchdog";
  } else if (sentinel && result.exit_status >= 0) {
    result.ending = BootResult::Ending::completed;
  } else {
    result.ending = BootResult::Ending::guest_died;
    const std::string said = tailOfFile(qemu_log, 1000);
    result.reason = "the guest stopped without reporting an exit status (no " +
                    std::string(guest::kEndSentinel) + " sentinel; qemu exit " +
                    std::to_string(qemu.exit_code()) + ")" + (said.empty() ? "" : "; qemu said: " + said);
  }
}

// A KVM that passed the probe but cannot start this guest: qemu gave up at once.
bool kvmFailedToStart(const BootResult& r) {
  return r.accelerator == "kvm" && r.ending == BootResult::Ending::guest_died &&
         r.boot_to_command_sec == 0 && r.total_sec < 10;
}

}  // namespace

void sweepStaleTempDirs() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::temp_directory_path(), ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind(kTempPrefix, 0) != 0) continue;
    const auto pid = std::atol(name.c_str() + std::strlen(kTempPrefix));
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      spdlog::debug("vm: removing {}, left by a killed run", e.path().string());
      fs::remove_all(e.path(), ec);
    }
  }
}

Expected<BootResult> bootGuest(const BootRequest& request) {
  const auto entered = Clock::now();
  sweepStaleTempDirs();
  if (request.command.empty()) return fail("vm run", "no command given (vm run [options] -- COMMAND...)");
  if (request.run_dir.empty()) return fail("vm run", "no run folder given");
  if (request.memory_bytes < 128 * MiB) return fail("--memory", "at least 128M");
  if (request.cpus < 1) return fail("--cpus", "at least 1");
  if (findProgram("qemu-system-x86_64").empty())
    return failSetup("vm run", "qemu-system-x86_64 not found; run scripts/bootstrap first");
  ImageRequest image_request;
  image_request.release = request.release;
  auto image = ensureImage(image_request);
  if (!image) return tl::unexpected(image.error());
  auto accelerator = chooseAccelerator(request.accelerator, image->kernel(), defaultCacheRoot());
  if (!accelerator) return tl::unexpected(accelerator.error());

  BootResult result;
  result.image = *image;
  result.qemu_version = qemuVersion();

  installInterruptHandlers();
  TempDir work;
  fs::create_directories(request.run_dir);

  const auto payload_started = Clock::now();
  PayloadSpec spec;
  for (const char* name : {guest::kStressorBinary, guest::kAgentBinary}) {
    auto binary = helperBinary(name);
    if (!binary) return tl::unexpected(binary.error());
    spec.binaries.push_back(*binary);
  }
  spec.payload_dir = request.payload_dir;
  spec.files = request.payload_files;
  spec.command = request.command;
  const fs::path payload_img = work.path() / "payload.img";
  if (auto built = buildPayloadDisk(spec, work.path() / "payload", payload_img); !built)
    return tl::unexpected(built.error());
  fs::remove_all(work.path() / "payload");
  result.payload_build_sec = since(payload_started);

  QemuConfig config;
  config.memory_mib = static_cast<unsigned>(request.memory_bytes / MiB);
  config.cpus = request.cpus;
  config.kernel = image->kernel();
  config.rootfs = image->rootfs();
  config.payload_disk = payload_img;
  if (request.swap_bytes > 0) {
    config.swap_disk = work.path() / "swap.img";
    { std::ofstream create(config.swap_disk); }
    fs::resize_file(config.swap_disk, request.swap_bytes);  // sparse
    if (auto mk = runTool({"mkswap", config.swap_disk.string()}); mk.status != 0)
      return failSetup("--swap", "mkswap failed: " + mk.output);
  }
  config.console_log = request.run_dir / "console.log";
  const Channels ch{request.run_dir / "results.jsonl", request.run_dir / "control.log",
                    request.run_dir / "output.log", request.run_dir / "journal.txt"};
  config.ports = {{guest::kResultsPort, ch.results},
                  {guest::kControlPort, ch.control},
                  {guest::kOutputPort, ch.output},
                  {guest::kJournalPort, ch.journal}};

  config.accelerator = *accelerator;
  result.setup_sec = since(entered);
  for (int attempt = 0;; ++attempt) {
    result.accelerator = config.accelerator.name;
    result.cpu_model = config.accelerator.cpu;
    result.accelerator_note = config.accelerator.note;
    bootAndFollow(config, ch, request, work.path(), result);
    if (attempt > 0 || request.accelerator != "auto" || !kvmFailedToStart(result)) break;
    spdlog::warn("vm: KVM did not start the guest ({}); falling back to TCG", result.reason);
    forgetAcceleratorProbe(defaultCacheRoot());
    config.accelerator = tcgAccelerator("KVM passed the probe but failed to start this guest");
  }
  return result;
}

}  // namespace oom
