#pragma once
// The qemu command line for a disposable guest, as a pure function of its
// configuration (unit-tested), and the choice of accelerator.
//
// Disks: one NVMe controller (built into the cloud kernel, so no initrd and no
// module load), one namespace per disk, numbered so the guest names are fixed:
//   nsid 1 /dev/nvme0n1  root      (snapshot=on: the cached image is never written)
//   nsid 2 /dev/nvme0n2  payload   (read-only)
//   nsid 3 /dev/nvme0n3  swap      (optional, a per-run sparse file)
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "oom/expected.hpp"

namespace oom {

struct Accelerator {
  std::string name = "tcg";  // "kvm" or "tcg"
  std::string cpu = "max";   // -cpu model that worked for it
  std::string note;          // why this one (probe result), for the output
};

struct QemuConfig {
  Accelerator accelerator;
  unsigned memory_mib = 1024;
  unsigned cpus = 2;
  std::filesystem::path kernel;
  std::filesystem::path rootfs;           // opened with snapshot=on: never written
  std::filesystem::path payload_disk;     // read-only namespace 2
  std::filesystem::path swap_disk;        // optional namespace 3
  std::filesystem::path console_log;      // ttyS0
  std::map<std::string, std::filesystem::path> ports;  // virtio-serial port name -> host file
};

std::vector<std::string> qemuCommand(const QemuConfig& config);
std::string kernelCommandLine(const QemuConfig& config);

// The -cpu models tried under KVM, in order. Plain "host" aborts on hosts whose
// nested KVM refuses MSR 0x10a (IA32_ARCH_CAPABILITIES), hence the second one.
std::vector<std::string> kvmCpuCandidates();

// The TCG accelerator: multi-threaded, -cpu max (FIELD-NOTES: removing flags broke the guest).
Accelerator tcgAccelerator(std::string note = "");

// Parses / writes the one-line probe cache ("kvm host,-arch-capabilities" or "tcg").
Accelerator parseProbeCache(const std::string& line);
std::string formatProbeCache(const Accelerator& accelerator);

// "auto": KVM when /dev/kvm opens and a probe boot with one of kvmCpuCandidates()
// reaches the guest kernel's panic (cached per host kernel under cache_root), else
// TCG. "tcg" is taken as given; "kvm" probes too (it needs a working -cpu model)
// and is an error when no model boots.
Expected<Accelerator> chooseAccelerator(const std::string& wanted, const std::filesystem::path& kernel,
                              const std::filesystem::path& cache_root);

// Forgets the cached probe (after a KVM run failed to start).
void forgetAcceleratorProbe(const std::filesystem::path& cache_root);

}  // namespace oom
