#pragma once
// Where things are inside the guest, and the names of the host<->guest
// channels. The recipe in vm/ (units, oomharness-job) uses the same names.
namespace oom::guest {
// The payload disk (virtio, serial "payload"), mounted read-only at kRoot.
constexpr const char* kRoot = "/opt/oomharness";
constexpr const char* kBinDir = "/opt/oomharness/bin";         // oomstress, oomharness-guest
constexpr const char* kPayloadDir = "/opt/oomharness/payload"; // the --payload DIR; COMMAND's cwd
constexpr const char* kJobDir = "/opt/oomharness/job";         // run.sh, and payload_files "job/..."
// Set for COMMAND: the device of the results port (a /dev/vportNpM; the udev
// symlink /dev/virtio-ports/oomharness.results names the same port).
constexpr const char* kResultsEnv = "OOMHARNESS_RESULTS";
// virtio-serial port names (/sys/class/virtio-ports/*/name); each is a file on the host.
constexpr const char* kResultsPort = "oomharness.results";
constexpr const char* kControlPort = "oomharness.control";
constexpr const char* kOutputPort = "oomharness.output";
constexpr const char* kJournalPort = "oomharness.journal";
constexpr const char* kEndSentinel = "OOMHARNESS-END";
// Guest disks: root is /dev/nvme0n1 (the only NVMe device); payload and swap are
// virtio disks with these serials (/sys/block/vd*/serial; see qemu.hpp).
constexpr const char* kRootDevice = "/dev/nvme0n1";
constexpr const char* kPayloadSerial = "payload";
constexpr const char* kSwapSerial = "swap";
}  // namespace oom::guest
