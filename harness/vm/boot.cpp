#include "vm/boot.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <spdlog/spdlog.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "vm/channel.hpp"
#include "vm/data_dir.hpp"
#include "oom/files.hpp"
#include "oom/guest_paths.hpp"
#include "oom/text.hpp"
#include "vm/host_check.hpp"
#include "vm/payload.hpp"
#include "vm/process.hpp"
#include "vm/qemu.hpp"
#include "vm/reservations.hpp"
#include "vm/saved_guest.hpp"
#include "vm/temp_dir.hpp"

namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace oom {
namespace {

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

// After the sentinel: qemu goes once the channels that carry evidence (all but the
// journal, which the power-off keeps busy) have been quiet this long, or at the cap.
constexpr double kQuietAfterSentinelSec = 0.2;
constexpr double kPowerOffGraceSec = 1.0;

// One channel: qemu writes `fifo` (in the private work folder), the harness keeps
// `file` (in the run folder).
struct ChannelSpec {
  std::string name;  // port name, or "console"
  fs::path fifo, file;
  std::uint64_t cap_bytes;
};

std::string describeQemuExit(int raw_status) {
  if (WIFSIGNALED(raw_status))
    return "qemu killed by signal " + std::to_string(WTERMSIG(raw_status)) + " (" +
           ::strsignal(WTERMSIG(raw_status)) + ")";
  return "qemu exit " + std::to_string(WIFEXITED(raw_status) ? WEXITSTATUS(raw_status) : raw_status);
}

// One boot: launches qemu, relays the channels until it exits, the watchdog fires
// or a signal arrives; fills in the ending, exit status, timings and channel counters.
// How a run's guest starts when it is not a cold boot: from `saved`, or saved by
// this run (`save`; `made` once it is).
struct SavedStart {
  std::optional<SavedGuest> saved;
  std::optional<GuestSave> save;
  std::optional<SavedGuest> made;
};

// A restore or save that failed before the job began (`restore_failure` says how;
// qemu is gone): the caller boots cold.
Expected<void> bootAndFollow(const QemuConfig& config, const std::vector<ChannelSpec>& channels,
                             const BootRequest& request, const fs::path& work, SavedStart& saved,
                             BootResult& result, std::string& restore_failure) {
  const fs::path qemu_log = work / "qemu.log";
  const auto argv = qemuCommand(config);
  bool sentinel = false;
  bool saveable = false;  // the guest booted to be saved said it can be
  bool restored = false;  // the restored (or saved) guest said it took its payload
  Clock::time_point sentinel_at;
  Clock::time_point started = Clock::now();
  result.exit_status = -1;
  result.boot_to_command_sec = 0;
  restore_failure.clear();
  auto onControl = [&](const std::string& line) {
    if (line == guest::kEndSentinel) {
      sentinel = true;
      sentinel_at = Clock::now();
      return;
    }
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return;
    if (j.contains(guest::kSaveableKey)) saveable = true;
    if (j.contains(guest::kRestoredKey)) restored = true;
    if (j.contains("command_start_uptime")) result.boot_to_command_sec = since(started);
    if (j.contains("exit_status") && j["exit_status"].is_number_integer()) {
      result.exit_status = j["exit_status"].get<int>();
      result.reason = j.value("reason", "");
    }
  };
  std::vector<ChannelRelay> relays;
  relays.reserve(channels.size());
  for (const auto& c : channels) {
    LineSink sink;
    if (c.name == guest::kResultsPort) sink = request.on_result_line;
    if (c.name == guest::kOutputPort) sink = request.on_output_line;
    if (c.name == guest::kControlPort) sink = onControl;
    auto relay = ChannelRelay::open(c.fifo, c.file, c.cap_bytes, sink);
    if (!relay) return tl::unexpected(relay.error());
    relays.push_back(std::move(*relay));
  }
  spdlog::debug("vm: {}", fmt::join(argv, " "));
  started = Clock::now();
  // PR_SET_PDEATHSIG: qemu dies with the harness, even on SIGKILL or a crash.
  bp::child qemu(findProgram(argv[0]).string(),
                 bp::args(std::vector<std::string>(argv.begin() + 1, argv.end())),
                 (bp::std_out & bp::std_err) > qemu_log.string(), bp::std_in < bp::null,
                 bp::extend::on_exec_setup = [](auto&) { prepareChild(SIGKILL); });
  // Bytes read so far on the channels that carry evidence, and when that last grew.
  std::uint64_t evidence_bytes = 0;
  Clock::time_point evidence_grew_at = Clock::now();
  auto drain = [&] {
    std::uint64_t bytes = 0;
    for (std::size_t i = 0; i < relays.size(); ++i) {
      relays[i].poll();
      if (channels[i].name != guest::kJournalPort) bytes += relays[i].counters().bytes_read;
    }
    if (bytes != evidence_bytes) evidence_bytes = bytes, evidence_grew_at = Clock::now();
  };
  // A restore: the state read and the disks plugged in before anything runs. A
  // save: when the guest says it can be saved (in the loop below).
  std::optional<QmpClient> qmp;
  std::optional<Clock::time_point> plugged_at;
  if (config.start != GuestStart::cold) {
    auto connected = QmpClient::connect(config.qmp_socket, std::chrono::seconds(10));
    if (!connected) restore_failure = connected.error().str();
    else qmp.emplace(std::move(*connected));
  }
  if (qmp && config.start == GuestStart::restore) {
    if (auto resumed = resumeSavedGuest(*qmp, config, *saved.saved); !resumed) restore_failure = resumed.error().str();
    plugged_at = Clock::now();
  }

  bool timed_out = false, interrupted = false;
  while (restore_failure.empty() && qemu.running()) {
    drain();
    if (config.start == GuestStart::save && !plugged_at) {
      if (saveable) {
        auto made = saveAndGoOn(*qmp, config, *saved.save, work / "root-after-save.qcow2", since(started));
        if (!made) {
          restore_failure = "saving it failed: " + made.error().str();
          break;
        }
        saved.made = *made;
        plugged_at = Clock::now();
      } else if (since(started) > static_cast<double>(kSaveBootLimit.count())) {
        restore_failure = "the guest booted to be saved did not come up within " +
                          std::to_string(kSaveBootLimit.count()) + " s";
        break;
      }
    }
    if (plugged_at && !restored &&
        std::chrono::duration<double>(Clock::now() - *plugged_at).count() > static_cast<double>(kRestoreLimit.count())) {
      restore_failure = "the guest did not take its payload within " + std::to_string(kRestoreLimit.count()) +
                        " s of being " + (config.start == GuestStart::save ? "saved" : "restored");
      break;
    }
    if (interruptRequested()) {
      interrupted = true;
      break;
    }
    if (since(started) > request.timeout.count()) {
      timed_out = true;
      break;
    }
    // Everything the guest wrote before the sentinel is already in the FIFOs (a
    // virtio-serial write returns once qemu took the data), and the guest let the
    // journal catch up before it sent it. Its power-off takes a few seconds under
    // TCG that tell us nothing: once the evidence channels are quiet (or at the
    // cap), qemu goes.
    if (sentinel && (since(evidence_grew_at) > kQuietAfterSentinelSec || since(sentinel_at) > kPowerOffGraceSec))
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // SIGKILL to qemu's own process group: the snapshot is thrown away anyway.
  if (qemu.running()) signalGroup(qemu.id(), SIGKILL);
  qemu.wait();
  result.total_sec = since(started);
  for (auto& r : relays) r.finish();
  if (!restore_failure.empty()) return {};
  result.channels.clear();
  for (const auto& r : relays) result.channels.push_back(r.counters());

  // The console is quiet (kernel errors, OOM kills, panics, the job's own lines);
  // when it says little, the journal's tail tells more about a hung guest.
  const auto file = [&](const std::string& name) {
    for (const auto& c : channels)
      if (c.name == name) return c.file;
    return fs::path();
  };
  result.last_console_lines = tailOfFile(file("console"), 2000);
  if (std::count(result.last_console_lines.begin(), result.last_console_lines.end(), '\n') < 5)
    result.last_console_lines +=
        "(console nearly empty; last journal lines:)\n" + tailOfFile(file(guest::kJournalPort), 1500);
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
                    std::string(guest::kEndSentinel) + " sentinel; " +
                    describeQemuExit(qemu.native_exit_code()) + ")" +
                    (said.empty() ? "" : "; qemu said: " + said);
  }
  return {};
}

// A KVM that passed the probe but cannot start this guest: qemu gave up at once.
// The guest kernel died before the job's command started: a boot failure, not
// something the job did.
bool diedDuringBoot(const BootResult& r) {
  return r.ending == BootResult::Ending::guest_died && r.boot_to_command_sec == 0 && r.accelerator == "tcg";
}

}  // namespace

std::string kernelCrashLine(const fs::path& console) {
  std::ifstream in(console);
  std::string line;
  while (std::getline(in, line))
    for (const char* mark : {"Oops: ", "BUG: ", "general protection fault"})
      if (const auto at = line.find(mark); at != std::string::npos) return printable(line.substr(at, 160));
  return "";
}

namespace {

bool kvmFailedToStart(const BootResult& r) {
  return r.accelerator == "kvm" && r.ending == BootResult::Ending::guest_died &&
         r.boot_to_command_sec == 0 && r.total_sec < 10;
}

}  // namespace

std::string BootResult::outputLosses() const {
  std::string line;
  for (const auto& c : channels)
    if (const auto d = c.describe(); !d.empty()) line += (line.empty() ? "" : "; ") + d;
  return line;
}

bool BootResult::resultsIncomplete() const {
  for (const auto& c : channels)
    if (c.file == "results.jsonl") return c.bytes_over_cap > 0 || c.lines_cut > 0;
  return false;
}

namespace {

std::string readText(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Guest memory, qemu's and ours must fit in MemAvailable, less what other live runs
// reserved and do not hold yet, and the swap file on the disk that holds it, before
// anything is built or booted (host_check.hpp). Reading the other reservations,
// deciding and registering ours happen under one lock, so two runs starting
// together decide one after the other. The reservation lasts as long as the
// returned object (reservations.hpp).
Expected<HostReservation> checkHostFits(const BootRequest& request, const fs::path& swap_dir, BootResult& result) {
  struct statvfs vfs {};
  struct statfs sfs {};
  if (::statvfs(swap_dir.c_str(), &vfs) != 0 || ::statfs(swap_dir.c_str(), &sfs) != 0)
    return failSetup(swap_dir.string(), std::string("cannot read its free space: ") + std::strerror(errno));
  HostNeeds needs;
  needs.guest_memory_bytes = request.memory_bytes;
  needs.swap_bytes = request.swap_bytes;
  needs.swap_in_memory = sfs.f_type == TMPFS_MAGIC;
  auto folder = reservationFolder();
  if (!folder) return tl::unexpected(folder.error());
  auto registry = acquireLock(*folder / ".lock", LOCK_EX, Seconds(60), "checking the host's memory");
  if (!registry) return tl::unexpected(registry.error());
  registry->note("checking the host's memory");
  const std::vector<OtherReservation> others = liveReservations(*folder);
  const HostFit memory = hostMemoryFits(readText("/proc/meminfo"), needs, others);
  if (!memory.fits)
    return failSetup("host memory", "this guest does not fit beside what the host is using: needed " +
                                        memory.explanation +
                                        (others.empty() ? "; free memory on the host or give the guest less"
                                                        : "; free memory on the host, wait for the other runs "
                                                          "to end or give the guest less"));
  const std::uint64_t free_disk = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  const HostFit disk = needs.swap_in_memory ? swapDiskFits(UINT64_MAX, 0)
                                            : swapDiskFits(free_disk, request.swap_bytes);
  if (!disk.fits)
    return failSetup("--swap", "the swap file does not fit on " + swap_dir.string() + ": needed " +
                                   disk.explanation + "; free disk space or ask for less swap");
  auto reservation = HostReservation::create(*folder, memory.needed_bytes, fs::absolute(request.run_dir).string());
  if (!reservation) return tl::unexpected(reservation.error());
  result.host_memory_needed_bytes = memory.needed_bytes;
  result.host_memory_available_bytes = memory.available_bytes;
  const std::string sum = memory.explanation.substr(0, memory.explanation.find(';'));
  result.host_reservation = "host: set aside " + formatSize(memory.needed_bytes) + " of the " +
                            formatSize(memory.available_bytes) + " MemAvailable (" +
                            sum.substr(0, sum.rfind(" = ")) + ")";
  if (!others.empty())
    result.host_reservation += "; " + std::to_string(others.size()) + " other run" +
                               (others.size() == 1 ? "" : "s") + " reserved " +
                               formatSize(memory.reserved_by_others_bytes) + " more";
  if (request.swap_bytes > 0)
    result.host_reservation += "; swap file " + formatSize(request.swap_bytes) + " allocated in " +
                               swap_dir.string() + " (" + formatSize(free_disk) + " free" +
                               (needs.swap_in_memory ? ", tmpfs: counted as memory" : "") + ")";
  return reservation;
}

// The swap disk, allocated in full up front so that a guest filling it cannot meet
// a full host disk mid-run.
Expected<void> makeSwapFile(const fs::path& file, std::uint64_t bytes) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return failSetup(file.string(), std::string("cannot create: ") + std::strerror(errno));
  const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  ::close(fd);
  if (err != 0)
    return failSetup("--swap", "cannot allocate the " + formatSize(bytes) + " swap file " + file.string() +
                                   ": " + std::strerror(err));
  if (auto mk = runTool({"mkswap", file.string()}); mk.status != 0)
    return failSetup("--swap", "mkswap failed: " + mk.output);
  return {};
}

// qemu option values double their commas.
std::string qemuOptionValue(const std::string& value) {
  std::string out;
  for (char c : value) out += c == ',' ? std::string(",,") : std::string(1, c);
  return out;
}

}  // namespace

Expected<BootResult> bootGuest(const BootRequest& request) {
  const auto entered = Clock::now();
  installInterruptHandlers();
  // A signal before qemu runs stops whatever stage it meets, cleanly (exit 130).
  auto interrupted = [](const char* during) {
    return failInterrupted("vm", std::string("interrupted by a signal ") + during + "; nothing was left running");
  };
  sweepStaleTempDirs();
  if (request.command.empty()) return fail("vm run", "no command given (vm run [options] -- COMMAND...)");
  if (request.run_dir.empty()) return fail("vm run", "no run folder given");
  if (request.memory_bytes < 128 * MiB) return fail("--memory", "at least 128M");
  if (request.cpus < 1) return fail("--cpus", "at least 1");
  if (findProgram("qemu-system-x86_64").empty())
    return failSetup("vm run", "qemu-system-x86_64 not found; run scripts/bootstrap first");
  // The run's private folder (payload disk, swap file, channel FIFOs), locked while it lives.
  auto work = TempDir::create("run");
  if (!work) return tl::unexpected(work.error());
  BootResult result;
  // Held until qemu is gone, so that runs starting meanwhile count this guest.
  auto reservation = checkHostFits(request, work->path(), result);
  if (!reservation) return tl::unexpected(reservation.error());
  ImageRequest image_request;
  image_request.release = request.release;
  image_request.packages = request.packages;
  FileLock image_lease;  // until qemu is gone: a rebuild keeps this image meanwhile
  auto image = ensureImage(image_request, &image_lease);
  if (!image) return tl::unexpected(image.error());
  if (interruptRequested()) return interrupted("after the image was ready");
  auto accelerator = chooseAccelerator(request.accelerator, image->kernel(), defaultCacheRoot());
  if (!accelerator) return tl::unexpected(accelerator.error());
  if (interruptRequested()) return interrupted("while choosing the accelerator");

  result.image = *image;
  result.qemu_version = qemuVersion();

  if (auto made = createOutputFolder(request.run_dir); !made) return tl::unexpected(made.error());

  const auto payload_started = Clock::now();
  PayloadSpec spec;
  for (const char* name : {guest::kStressorBinary, guest::kAgentBinary}) {
    auto binary = helperBinary(name);
    if (!binary) return tl::unexpected(binary.error());
    spec.binaries.push_back(*binary);
  }
  spec.payload_dir = request.payload_dir;
  spec.payload_confined_to = request.payload_confined_to;
  spec.files = request.payload_files;
  if (request.swap_bytes > 0) {  // the wrapper enables the swap disk when the payload says so
    std::ofstream(work->path() / "swap-marker") << "";
    spec.files.emplace_back(work->path() / "swap-marker",
                            std::string(guest::kSwapMarker).substr(std::string(guest::kRoot).size() + 1));
  }
  spec.command = request.command;
  const fs::path payload_img = work->path() / "payload.img";
  auto built = buildPayloadDisk(spec, work->path() / "payload", payload_img);
  if (!built) return tl::unexpected(built.error());
  result.payload = *built;
  fs::remove_all(work->path() / "payload");
  result.payload_build_sec = since(payload_started);

  QemuConfig config;
  config.name = "oomharness:" + qemuOptionValue(fs::absolute(request.run_dir).string());
  config.memory_mib = static_cast<unsigned>(request.memory_bytes / MiB);
  config.cpus = request.cpus;
  config.kernel = image->kernel();
  config.rootfs = image->rootfs();
  config.payload_disk = payload_img;
  if (request.swap_bytes > 0) {
    config.swap_disk = work->path() / "swap.img";
    if (auto made = makeSwapFile(config.swap_disk, request.swap_bytes); !made)
      return tl::unexpected(made.error());
    result.swap_reserved_bytes = request.swap_bytes;
  }
  const fs::path ports = work->path() / "ports";
  fs::create_directories(ports);
  const std::vector<ChannelSpec> channels = {
      {guest::kResultsPort, ports / "results", request.run_dir / "results.jsonl", kResultsCapBytes},
      {guest::kControlPort, ports / "control", request.run_dir / "control.log", kControlCapBytes},
      {guest::kOutputPort, ports / "output", request.run_dir / "output.log", kOutputCapBytes},
      {guest::kJournalPort, ports / "journal", request.run_dir / "journal.txt", kJournalCapBytes},
      {"console", ports / "console", request.run_dir / "console.log", kConsoleCapBytes}};
  for (const auto& c : channels) {
    if (c.name == "console") config.console_log = c.fifo;
    else config.ports[c.name] = c.fifo;
  }

  config.accelerator = *accelerator;
  if (interruptRequested()) return interrupted("while the payload disk was built");
  std::fprintf(stderr, "vm: %s\n", result.host_reservation.c_str());
  // A saved guest of this machine, restored; or this run's guest saved on its way
  // (the first run of a machine); a cold boot when neither can be.
  SavedStart saved;
  if (!request.restore) {
    result.guest_start_note = "a cold boot was asked for";
  } else {
    const QemuConfig machine = savedGuestMachine(*image, config);
    saved.saved = findSavedGuest(*image, machine, result.qemu_version);
    if (saved.saved) {
      config = machine;
      config.start = GuestStart::restore;
      config.rootfs = saved.saved->root();
      result.saved_guest = saved.saved->dir.string();
    } else if (auto begun = beginGuestSave(*image, machine, result.qemu_version)) {
      saved.save.emplace(std::move(*begun));
      config = machine;
      config.rootfs = saved.save->root();
    } else {
      result.guest_start_note = "no saved guest to restore: " + begun.error().str();
      spdlog::warn("vm: booting cold: {}", result.guest_start_note);
    }
    config.qmp_socket = work->path() / "qmp";
  }
  result.setup_sec = since(entered);
  for (int attempt = 0;; ++attempt) {
    result.accelerator = config.accelerator.name;
    result.cpu_model = config.accelerator.cpu;
    result.accelerator_note = config.accelerator.note;
    result.guest_start = guestStartName(config.start);
    std::string restore_failure;
    if (auto followed = bootAndFollow(config, channels, request, work->path(), saved, result, restore_failure);
        !followed)
      return tl::unexpected(followed.error());
    if (saved.made) {
      result.saved_guest = saved.made->dir.string();
      result.guest_start_note = "saved for later runs of this machine: " + formatTenths(saved.made->boot_sec) +
                                " to boot it through the initrd, " + formatTenths(saved.made->save_sec) +
                                " to save it";
    }
    if (!restore_failure.empty()) {
      // Nothing of the job ran. A saved guest that failed goes (the next run saves
      // another), and this run boots cold; its records say why.
      const bool restoring = config.start == GuestStart::restore;
      result.guest_start_note = std::string(restoring ? "restoring the saved guest" : "booting a guest to save") +
                                " failed (" + restore_failure + "); booted cold";
      spdlog::warn("vm: {}", result.guest_start_note);
      if (restoring) forgetSavedGuest(*saved.saved);
      saved.save.reset();  // its lock and half-made folder go
      config.start = GuestStart::cold;
      config.kernel = image->kernel();
      config.rootfs = image->rootfs();
      if (interruptRequested()) break;
      continue;
    }
    const std::string crash = diedDuringBoot(result) ? kernelCrashLine(request.run_dir / "console.log") : "";
    if (attempt == 0 && !crash.empty()) {
      // Nothing of the job ran, so a second boot tests the same thing. Seen: 6.12
      // under TCG with 2 vCPUs, now and then an int3 Oops while the kernel patches
      // its own text at boot (docs/guest-vm.md#a-guest-kernel-that-crashes-while-booting).
      result.earlier_boot_failure = result.reason + ": " + crash;
      std::error_code ec;
      fs::rename(request.run_dir / "console.log", request.run_dir / "console-boot-1.log", ec);
      spdlog::warn("vm: the guest died while booting ({}); booting it once more", result.earlier_boot_failure);
      if (interruptRequested()) break;
      continue;
    }
    if (attempt > 0 || request.accelerator != "auto" || !kvmFailedToStart(result)) break;
    spdlog::warn("vm: KVM did not start the guest ({}); falling back to TCG", result.reason);
    forgetAcceleratorProbe(defaultCacheRoot());
    config.accelerator = tcgAccelerator("KVM passed the probe but failed to start this guest");
  }
  return result;
}

}  // namespace oom
