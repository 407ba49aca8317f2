#include "vm/run.hpp"

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <csignal>
#include <fstream>
#include <thread>

#include "vm/channel.hpp"
#include "vm/guest_paths.hpp"
#include "vm/payload.hpp"
#include "vm/process.hpp"
#include "vm/qemu.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace oom {
namespace {

// A private temporary folder, removed with everything in it on scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "oomharness-XXXXXX").string();
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

const char* outcomeName(VmRunResult::Outcome o) {
  switch (o) {
    case VmRunResult::Outcome::Completed: return "completed";
    case VmRunResult::Outcome::TimedOut: return "timed out";
    case VmRunResult::Outcome::GuestDied: return "guest died";
    case VmRunResult::Outcome::Interrupted: return "interrupted";
  }
  return "?";
}

fs::path selfBinDir() { return fs::read_symlink("/proc/self/exe").parent_path(); }

Expected<VmRunResult> runInVm(const VmRunRequest& request) {
  if (request.command.empty()) return fail("vm run", "no command given (vm run [options] -- COMMAND...)");
  if (findProgram("qemu-system-x86_64").empty())
    return fail("vm run", "qemu-system-x86_64 not found; run scripts/bootstrap first");
  ImageRequest image_request;
  image_request.release = request.release;
  auto image = ensureImage(image_request);
  if (!image) return tl::unexpected(image.error());

  VmRunResult result;
  result.image = *image;
  result.qemu_version = qemuVersion();
  result.accelerator = chooseAccelerator(request.accelerator, image->kernel(), defaultCacheRoot());

  installInterruptHandlers();
  TempDir work;
  fs::create_directories(request.run_dir);

  const auto payload_started = Clock::now();
  PayloadSpec spec;
  for (const char* name : {"oomstress", "oomharness-guest"})
    if (fs::exists(selfBinDir() / name)) spec.binaries.push_back(selfBinDir() / name);
  spec.payload_dir = request.payload_dir;
  spec.files = request.payload_files;
  spec.command = request.command;
  const fs::path payload_img = work.path() / "payload.img";
  if (auto built = buildPayloadDisk(spec, work.path() / "payload", payload_img); !built)
    return tl::unexpected(built.error());
  result.payload_build_sec = since(payload_started);

  QemuConfig config;
  config.accelerator = result.accelerator;
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
      return fail("vm run", "mkswap failed: " + mk.output);
  }
  config.console_log = request.run_dir / "console.log";
  const fs::path results = request.run_dir / "results.jsonl";
  const fs::path control = request.run_dir / "control.log";
  const fs::path output = request.run_dir / "output.log";
  config.ports = {{guest::kResultsPort, results},
                  {guest::kControlPort, control},
                  {guest::kOutputPort, output},
                  {guest::kJournalPort, request.run_dir / "journal.txt"}};
  for (const auto& [name, file] : config.ports) std::ofstream(file, std::ios::trunc);
  std::ofstream(config.console_log, std::ios::trunc);

  const auto argv = qemuCommand(config);
  spdlog::debug("vm: {}", fmt::join(argv, " "));
  const auto started = Clock::now();
  bp::child qemu(findProgram(argv[0]).string(), bp::args(std::vector<std::string>(argv.begin() + 1, argv.end())),
                 bp::std_out > (work.path() / "qemu.log").string(), bp::std_err > (work.path() / "qemu.log").string(),
                 bp::std_in < bp::null,
                 bp::extend::on_exec_setup = [](auto&) { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });

  LineFollower results_follower(results), control_follower(control), output_follower(output);
  bool sentinel = false;
  auto onControl = [&](const std::string& line) {
    if (line == guest::kEndSentinel) {
      sentinel = true;
      return;
    }
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return;
    if (j.contains("command_start_uptime")) result.boot_to_command_sec = since(started);
    if (j.contains("exit_status")) {
      result.exit_status = j["exit_status"].get<int>();
      result.reason = j.value("reason", "");
    }
  };
  auto noop = [](const std::string&) {};
  auto drain = [&] {
    results_follower.poll(request.on_result_line ? request.on_result_line : noop);
    output_follower.poll(request.on_output_line ? request.on_output_line : noop);
    control_follower.poll(onControl);
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
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (qemu.running()) {
    qemu.terminate();
  }
  qemu.wait();
  result.total_sec = since(started);
  drain();
  results_follower.flush(request.on_result_line ? request.on_result_line : noop);
  output_follower.flush(request.on_output_line ? request.on_output_line : noop);

  result.last_console_lines = tailOfFile(config.console_log, 2000);
  if (interrupted) {
    result.outcome = VmRunResult::Outcome::Interrupted;
    result.reason = "interrupted by a signal; qemu stopped";
  } else if (timed_out) {
    result.outcome = VmRunResult::Outcome::TimedOut;
    result.reason = "the guest did not finish within " + formatDuration(request.timeout) +
                    "; qemu killed by the watchdog";
  } else if (sentinel) {
    result.outcome = VmRunResult::Outcome::Completed;
  } else {
    result.outcome = VmRunResult::Outcome::GuestDied;
    const std::string qemu_log = tailOfFile(work.path() / "qemu.log", 1000);
    result.reason = "the guest stopped without reporting an exit status (no " +
                    std::string(guest::kEndSentinel) + " sentinel)" +
                    (qemu_log.empty() ? "" : "; qemu said: " + qemu_log);
  }
  return result;
}

}  // namespace oom
