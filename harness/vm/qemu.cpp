#include "vm/qemu.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>

#include "oom/files.hpp"
#include "oom/guest_paths.hpp"
#include "vm/host_check.hpp"
#include "vm/lock.hpp"
#include "vm/process.hpp"
#include "vm/temp_dir.hpp"

namespace fs = std::filesystem;

namespace oom {

const char* guestStartName(GuestStart start) {
  switch (start) {
    case GuestStart::cold: return "cold boot";
    case GuestStart::save: return "boot to save";
    case GuestStart::restore: return "restored";
  }
  return "?";
}

std::string kernelCommandLine(const QemuConfig& c) {
  // quiet + panic=-1: a guest panic ends qemu at once (-no-reboot) instead of hanging.
  // mitigations=off: a throw-away test guest; the mitigations cost boot time under TCG.
  const std::string root = c.start == GuestStart::cold ? std::string(guest::kRootDevice)
                                                       : std::string("LABEL=") + guest::kRootLabel;
  std::string line = "root=" + root +
                     " rw console=ttyS0 quiet panic=-1 mitigations=off "
                     "systemd.unit=oomharness-job.target systemd.show_status=false";
  if (c.start != GuestStart::cold) line += std::string(" ") + guest::kRestorableFlag;
  return line;
}

std::vector<std::string> qemuCommand(const QemuConfig& c) {
  const bool cold = c.start == GuestStart::cold;
  std::vector<std::string> cmd = {"qemu-system-x86_64", "-machine", "q35"};
  if (!c.name.empty()) cmd.insert(cmd.end(), {"-name", c.name});
  if (c.accelerator.name == "kvm")
    cmd.insert(cmd.end(), {"-accel", "kvm", "-cpu", c.accelerator.cpu});
  else  // qemu's own cache would grow to 1 GiB: bounded, so that its overhead is known
    cmd.insert(cmd.end(), {"-accel", "tcg,thread=multi,tb-size=" + std::to_string(kTcgTranslationCacheMiB),
                           "-cpu", c.accelerator.cpu});
  cmd.insert(cmd.end(), {"-smp", std::to_string(c.cpus), "-m", std::to_string(c.memory_mib),
                         "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
                         "-serial", "file:" + c.console_log.string(), "-kernel", c.kernel.string()});
  if (!cold) cmd.insert(cmd.end(), {"-initrd", c.initrd.string()});
  cmd.insert(cmd.end(), {"-append", kernelCommandLine(c)});
  auto addDrive = [&cmd](const std::string& id, const std::string& format, const fs::path& file,
                         const std::string& mode) {
    cmd.insert(cmd.end(), {"-drive", "if=none,id=" + id + ",format=" + format + "," + mode + "file=" + file.string()});
  };
  auto addDisk = [&](const std::string& id, const std::string& device, const std::string& format,
                     const fs::path& file, const std::string& mode) {
    addDrive(id, format, file, mode);
    cmd.insert(cmd.end(), {"-device", device + ",drive=" + id + ",serial=" + id});
  };
  if (cold) {
    addDisk("root", "nvme", "raw", c.rootfs, "snapshot=on,");
    if (!c.payload_disk.empty()) addDisk(guest::kPayloadSerial, "virtio-blk-pci", "raw", c.payload_disk, "readonly=on,");
    if (!c.swap_disk.empty()) addDisk(guest::kSwapSerial, "virtio-blk-pci", "raw", c.swap_disk, "");
  } else {
    addDisk("root", "virtio-blk-pci", "qcow2", c.rootfs, c.start == GuestStart::restore ? "snapshot=on," : "");
    // Empty at save; a restore plugs payload and swap in (plugPayloadAndSwap).
    int chassis = 1;
    for (const char* slot : {kPayloadSlot, kSwapSlot})
      cmd.insert(cmd.end(), {"-device", "pcie-root-port,id=" + std::string(slot) + ",chassis=" + std::to_string(chassis++)});
    // Drives only: their devices are plugged in over QMP once the guest is saved or restored.
    if (!c.payload_disk.empty()) addDrive(guest::kPayloadSerial, "raw", c.payload_disk, "readonly=on,");
    if (!c.swap_disk.empty()) addDrive(guest::kSwapSerial, "raw", c.swap_disk, "");
  }
  if (!c.ports.empty()) {
    cmd.insert(cmd.end(), {"-device", "virtio-serial-pci"});
    int n = 0;
    for (const auto& [name, file] : c.ports) {
      const std::string id = "port" + std::to_string(n++);
      cmd.insert(cmd.end(), {"-chardev", "file,id=" + id + ",path=" + file.string(), "-device",
                             "virtserialport,chardev=" + id + ",name=" + name});
    }
  }
  if (!cold) cmd.insert(cmd.end(), {"-qmp", "unix:" + c.qmp_socket.string() + ",server=on,wait=off"});
  if (c.start == GuestStart::restore) cmd.insert(cmd.end(), {"-incoming", "defer", "-S"});
  return cmd;
}

std::vector<std::string> kvmCpuCandidates() { return {"host", "host,-arch-capabilities"}; }

Accelerator tcgAccelerator(std::string note) { return {"tcg", "max", std::move(note)}; }

Accelerator parseProbeCache(const std::string& line) {
  std::istringstream in(line);
  std::string name, cpu;
  in >> name >> cpu;
  if (name == "kvm" && !cpu.empty()) return {"kvm", cpu, "probed earlier: KVM boots with -cpu " + cpu};
  return tcgAccelerator("probed earlier: KVM cannot boot a guest here");
}

std::string formatProbeCache(const Accelerator& a) {
  return a.name == "kvm" ? "kvm " + a.cpu : "tcg";
}

namespace {

// Boots the kernel with no root disk: it panics, and with panic=-1 and -no-reboot
// qemu exits 0. A working KVM gets there in a second or two; a broken nested setup
// aborts at once (MSR 0x10a) or hangs before the kernel prints anything.
bool kvmBootsWith(const fs::path& kernel, const std::string& cpu) {
  auto dir = TempDir::create("kvmprobe");
  if (!dir) return false;
  const fs::path console = dir->path() / "console.log";
  const auto started = std::chrono::steady_clock::now();
  auto probe = runTool({"timeout", "6", "qemu-system-x86_64", "-machine", "q35", "-accel", "kvm",
                        "-cpu", cpu, "-m", "256", "-nodefaults", "-display", "none", "-no-reboot",
                        "-serial", "file:" + console.string(), "-kernel", kernel.string(),
                        "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent"});
  std::ifstream in(console);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool booted = probe.status == 0 && text.find("Kernel panic") != std::string::npos;
  spdlog::debug("vm: KVM probe -cpu {}: exit {}, {:.1f}s, {}", cpu, probe.status,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                booted ? "kernel booted" : "no kernel boot");
  return booted;
}

fs::path probeCacheFile(const fs::path& cache_root) {
  utsname u{};
  ::uname(&u);
  return cache_root / ("accel-probe-" + std::string(u.release));
}

Accelerator probeKvm(const fs::path& kernel) {
  for (const auto& cpu : kvmCpuCandidates()) {
    if (interruptRequested()) break;  // the caller gives up without caching an answer
    if (kvmBootsWith(kernel, cpu)) return {"kvm", cpu, "probe: KVM boots with -cpu " + cpu};
  }
  return tcgAccelerator("probe: /dev/kvm is present but no -cpu model boots a guest under it");
}

}  // namespace

void forgetAcceleratorProbe(const fs::path& cache_root) {
  std::error_code ec;
  fs::remove(probeCacheFile(cache_root), ec);
}

Expected<Accelerator> chooseAccelerator(const std::string& wanted, const fs::path& kernel,
                                        const fs::path& cache_root) {
  if (wanted == "tcg") return tcgAccelerator("asked for (--accel tcg)");
  if (wanted != "auto" && wanted != "kvm")
    return fail("--accel", "'" + wanted + "': expected auto, kvm or tcg");
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (wanted == "kvm") return fail("--accel kvm", "/dev/kvm cannot be opened");
    return tcgAccelerator("/dev/kvm absent or not usable");
  }
  ::close(fd);
  const fs::path cache = probeCacheFile(cache_root);
  auto readCache = [&cache]() -> std::optional<Accelerator> {
    std::ifstream in(cache);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    return parseProbeCache(line);
  };
  std::optional<Accelerator> cached = readCache();
  if (!cached) {
    // One probe at a time: harnesses starting together wait for the first one's
    // answer instead of booting probes side by side (which, slowed down by each
    // other, could miss the 6 s limit and cache a wrong "tcg").
    std::error_code ec;
    fs::create_directories(cache_root, ec);
    auto lock = acquireLock(cache_root / "accel-probe.lock", LOCK_EX, Seconds(120),
                            "probing the KVM accelerator");
    if (!lock) return tl::unexpected(lock.error());
    lock->note("probing the KVM accelerator");
    cached = readCache();  // probed by whoever held the lock
    if (!cached) {
      spdlog::info("vm: /dev/kvm is present; probing whether KVM boots a guest (once per host kernel)");
      Accelerator probed = probeKvm(kernel);
      if (interruptRequested()) return failInterrupted("--accel", "interrupted by a signal while probing KVM");
      // Whole or absent: a reader never sees half a line.
      if (auto written = writeFileAtomically(cache, formatProbeCache(probed) + "\n"); !written)
        spdlog::warn("vm: the probe result is not cached: {}", written.error().str());
      spdlog::info("vm: {}", probed.note);
      cached = probed;
    }
  }
  Accelerator chosen = *cached;
  if (wanted == "kvm" && chosen.name != "kvm")
    return fail("--accel kvm", "KVM cannot boot a guest on this host (" + chosen.note +
                                   "); use --accel auto or tcg");
  return chosen;
}

}  // namespace oom
