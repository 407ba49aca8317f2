#pragma once
// The qemu command line for a disposable guest, as a pure function of its
// configuration (unit-tested), and the choice of accelerator.
//
// Disks: a cold boot's root is the only NVMe device (built into the cloud kernel:
// no initrd), so it is always /dev/nvme0n1; a saved guest's root is virtio-blk
// (GuestStart below). Payload and swap are virtio disks found in the
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

// How a guest starts (vm/saved_guest.hpp):
//   cold     boots the image: root on NVMe, no initrd, payload and swap attached
//   save     boots the image to be saved: root on virtio-blk (NVMe cannot be
//            migrated), found through the image's initrd; no payload or swap;
//            two empty hotplug slots; a QMP socket to save it through
//   restore  the same machine as `save`, started from its saved state
//            (-incoming defer, paused); payload and swap are plugged into the
//            slots over QMP before it goes on
enum class GuestStart { cold, save, restore };
const char* guestStartName(GuestStart start);

struct QemuConfig {
  std::string name;                       // -name: shows in ps which run a qemu belongs to
  GuestStart start = GuestStart::cold;
  Accelerator accelerator;
  unsigned memory_mib = 1024;
  unsigned cpus = 2;
  std::filesystem::path kernel;
  std::filesystem::path initrd;           // save, restore: the image's initrd
  // cold: the image's rootfs.img, opened with snapshot=on (never written).
  // save: the saved guest's root.qcow2 (backed by rootfs.img), written by that boot.
  // restore: the same root.qcow2, opened with snapshot=on.
  std::filesystem::path rootfs;
  std::filesystem::path payload_disk;     // read-only virtio disk, serial "payload"
  std::filesystem::path swap_disk;        // optional virtio disk, serial "swap"
  std::filesystem::path console_log;      // ttyS0
  std::map<std::string, std::filesystem::path> ports;  // virtio-serial port name -> host file
  std::filesystem::path qmp_socket;       // save, restore: the QMP server's unix socket
};

// Hotplug slots (pcie-root-port ids) of a saved guest's machine, and the ids of
// the devices plugged into them after a restore.
inline constexpr const char* kPayloadSlot = "slot-payload";
inline constexpr const char* kSwapSlot = "slot-swap";

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
