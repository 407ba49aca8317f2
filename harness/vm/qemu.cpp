#include "vm/qemu.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "vm/process.hpp"

namespace fs = std::filesystem;

namespace oom {

std::string kernelCommandLine(const QemuConfig& c) {
  // quiet + panic=-1: a guest panic ends qemu at once (-no-reboot) instead of hanging.
  std::string line =
      "root=/dev/nvme0n1 rw console=ttyS0 quiet panic=-1 systemd.unit=oomharness-job.target "
      "systemd.show_status=false";
  if (!c.swap_disk.empty()) line += " oomharness.swap=1";
  return line;
}

std::vector<std::string> qemuCommand(const QemuConfig& c) {
  std::vector<std::string> cmd = {"qemu-system-x86_64", "-machine", "q35"};
  if (c.accelerator == "kvm") {
    cmd.insert(cmd.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    // FIELD-NOTES: keep -cpu max as is under TCG; removing flags broke the guest.
    cmd.insert(cmd.end(), {"-accel", "tcg,thread=multi", "-cpu", "max"});
  }
  cmd.insert(cmd.end(), {"-smp", std::to_string(c.cpus), "-m", std::to_string(c.memory_mib),
                         "-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
                         "-serial", "file:" + c.console_log.string(), "-kernel", c.kernel.string(),
                         "-append", kernelCommandLine(c)});
  cmd.insert(cmd.end(), {"-drive", "if=none,id=root,format=raw,snapshot=on,file=" + c.rootfs.string(),
                         "-device", "nvme,drive=root,serial=root"});
  if (!c.payload_disk.empty())
    cmd.insert(cmd.end(),
               {"-drive", "if=none,id=payload,format=raw,readonly=on,file=" + c.payload_disk.string(),
                "-device", "virtio-blk-pci,drive=payload,serial=payload"});
  if (!c.swap_disk.empty())
    cmd.insert(cmd.end(), {"-drive", "if=none,id=swap,format=raw,file=" + c.swap_disk.string(),
                           "-device", "virtio-blk-pci,drive=swap,serial=swap"});
  if (!c.ports.empty()) {
    cmd.insert(cmd.end(), {"-device", "virtio-serial-pci"});
    int n = 0;
    for (const auto& [name, file] : c.ports) {
      const std::string id = "port" + std::to_string(n++);
      cmd.insert(cmd.end(), {"-chardev", "file,id=" + id + ",path=" + file.string(), "-device",
                             "virtserialport,chardev=" + id + ",name=" + name});
    }
  }
  return cmd;
}

namespace {

// Boots the kernel with no root disk under KVM: it panics at once and, with
// panic=-1 and -no-reboot, qemu exits. A working KVM does that in a second or two;
// a broken nested setup aborts or hangs (seen here: MSR 0x10a, then a hung guest).
bool kvmProbeBoots(const fs::path& kernel) {
  const auto qemu = findProgram("qemu-system-x86_64");
  if (qemu.empty()) return false;
  const std::string cmd = "timeout 15 '" + qemu.string() +
                          "' -machine q35 -accel kvm -cpu host -m 256 -nodefaults -display none "
                          "-no-reboot -serial none -kernel '" + kernel.string() +
                          "' -append 'panic=-1 root=/dev/nonexistent' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace

std::string chooseAccelerator(const std::string& wanted, const fs::path& kernel,
                              const fs::path& cache_root) {
  if (wanted == "kvm" || wanted == "tcg") return wanted;
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return "tcg";
  ::close(fd);
  utsname u{};
  ::uname(&u);
  const fs::path cache = cache_root / ("kvm-probe-" + std::string(u.release));
  if (fs::exists(cache)) {
    std::string verdict;
    std::ifstream(cache) >> verdict;
    return verdict == "kvm" ? "kvm" : "tcg";
  }
  spdlog::info("vm: /dev/kvm is present; probing whether KVM can boot a guest (once per host kernel)");
  const std::string verdict = kvmProbeBoots(kernel) ? "kvm" : "tcg";
  fs::create_directories(cache_root);
  std::ofstream(cache) << verdict << "\n";
  if (verdict == "tcg") spdlog::info("vm: KVM probe failed; using TCG (software emulation)");
  return verdict;
}

}  // namespace oom
