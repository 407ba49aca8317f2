#pragma once
// The qemu command line for a disposable guest, as a pure function of its
// configuration (unit-tested), and the choice of accelerator.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace oom {

struct QemuConfig {
  std::string accelerator = "tcg";        // "kvm" or "tcg"
  unsigned memory_mib = 1024;
  unsigned cpus = 2;
  std::filesystem::path kernel;
  std::filesystem::path rootfs;           // opened with snapshot=on: never written
  std::filesystem::path payload_disk;     // read-only virtio disk, serial "payload"
  std::filesystem::path swap_disk;        // optional virtio disk, serial "swap"
  std::filesystem::path console_log;      // ttyS0
  std::map<std::string, std::filesystem::path> ports;  // virtio-serial port name -> host file
};

std::vector<std::string> qemuCommand(const QemuConfig& config);
std::string kernelCommandLine(const QemuConfig& config);

// "auto": kvm when /dev/kvm opens and a one-time probe boot (cached under
// cache_root) shows it works, else tcg. "kvm"/"tcg" are taken as given.
std::string chooseAccelerator(const std::string& wanted, const std::filesystem::path& kernel,
                              const std::filesystem::path& cache_root);

}  // namespace oom
