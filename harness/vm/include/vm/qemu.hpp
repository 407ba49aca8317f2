#pragma once
// The qemu command line for a disposable guest, as a pure function of its
// configuration (unit-tested), and the choice of accelerator.
//
// Disks: root is the only NVMe device (built into the cloud kernel: no initrd),
// so it is always /dev/nvme0n1. Payload and swap are virtio disks found in the
// guest by their serial (/sys/block/vd*/serial), never by name: the kernel names
// devices in probe order, and 6.12 probes NVMe namespaces asynchronously (seen:
// a second namespace came up as nvme0n3). virtio_blk is loaded early from
// /etc/modules-load.d.
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
  std::string name;                       // -name: shows in ps which run a qemu belongs to
  Accelerator accelerator;
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

// The -cpu models tried under KVM, in order. Plain "host" aborts on hosts whose
// nested KVM refuses MSR 0x10a (IA32_ARCH_CAPABILITIES), hence the second one.
std::vector<std::string> kvmCpuCandidates();

// The TCG accelerator: multi-threaded, -cpu max (removing flags broke the guest: docs/guest-vm.md#cpu-model-and-accelerator),
// translation cache capped at kTcgTranslationCacheMiB (host_check.hpp).
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
