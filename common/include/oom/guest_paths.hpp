#pragma once
// Where things are inside the guest, and the names of the host<->guest
// channels: the one place they are written. The guest-side recipe in vm/
// (units, vm/guest/oomharness-job, vm/customize.sh) must use the same names;
// tests/vm/guest_contract_sync_test.cpp reads those files and compares, both ways.
// (Macros only so that each path is spelled once and composed at compile time.)
#define OOM_GUEST_ROOT "/opt/oomharness"
#define OOM_GUEST_BIN OOM_GUEST_ROOT "/bin"
#define OOM_GUEST_JOB OOM_GUEST_ROOT "/job"

#include <string_view>

namespace oom::guest {
// The payload disk (virtio, serial "payload"), mounted read-only at kRoot.
constexpr const char* kRoot = OOM_GUEST_ROOT;
constexpr const char* kBinDir = OOM_GUEST_BIN;                   // our binaries
constexpr const char* kPayloadDir = OOM_GUEST_ROOT "/payload";   // the --payload DIR; COMMAND's cwd
constexpr const char* kJobDir = OOM_GUEST_JOB;                   // run.sh, and payload_files "job/..."
// The job's command as a script (vm/payload.hpp jobScript), run by the wrapper.
constexpr const char* kJobScript = OOM_GUEST_JOB "/run.sh";
// The image's side: systemd boots kJobTarget (systemd.unit= on the kernel command
// line), whose units run the wrapper kJobWrapper (vm/guest/oomharness-job).
constexpr const char* kJobTarget = "oomharness-job.target";
constexpr const char* kJobWrapper = "/usr/local/sbin/oomharness-job";
// The guest's own services: a scenario may not name a service after one (the
// harness's unit would replace or fight it), and `capture` leaves them out (every
// guest has them). The namespaces systemd and oomharness name their units in, the
// templates, and every other *.service of both releases' images (listed from
// /lib/systemd/system, /usr/lib/systemd/system and /etc/systemd/system of the built
// images, 2026-12-05; tests/vm/guest_contract_sync_test checks vm/units/ too).
constexpr std::string_view kGuestServicePrefixes[] = {
    "systemd-", "oomharness-", "dbus-org.", "initrd-", "getty@", "serial-getty@", "autovt@", "container-getty@",
    "user@", "user-runtime-dir@", "modprobe@", "capsule@", "quotaon@"};
constexpr std::string_view kGuestServices[] = {
    "apt-daily", "apt-daily-upgrade", "console-getty", "cryptdisks", "cryptdisks-early", "dbus", "debug-shell",
    "dpkg-db-backup", "e2scrub_reap", "emergency", "fstrim", "getty-static", "hwclock", "kmod", "kmod-static-nodes",
    "ldconfig", "networking", "pam_namespace", "procps", "quotaon", "quotaon-root", "rc", "rc-local", "rcS",
    "rescue", "system-update-cleanup", "udev", "x11-common"};

// Whether `unit` ("dbus.service", or the stem "dbus") is one of the guest's own.
inline bool isGuestService(std::string_view unit) {
  if (unit.size() > 8 && unit.substr(unit.size() - 8) == ".service") unit.remove_suffix(8);
  for (std::string_view prefix : kGuestServicePrefixes)
    if (unit.substr(0, prefix.size()) == prefix) return true;
  for (std::string_view own : kGuestServices)
    if (unit == own) return true;
  return false;
}
// Our binaries, by file name (host: next to oomharness or in libexec; guest: kBinDir).
constexpr const char* kStressorBinary = "oomstress";
constexpr const char* kAgentBinary = "oomharness-guest";
constexpr const char* kStressorPath = OOM_GUEST_BIN "/oomstress";
constexpr const char* kAgentPath = OOM_GUEST_BIN "/oomharness-guest";
// The plan the agent executes: payload file "job/plan.json".
constexpr const char* kPlanPayloadName = "job/plan.json";
constexpr const char* kPlanPath = OOM_GUEST_JOB "/plan.json";
// Containers (docs/containers.md): the built-in image, the static oomstress alone,
// imported by the agent before the units start; the stressor's path inside it; the
// label every container of a service carries (its value: the service's name), by
// which the agent finds them all at the end, restarts included.
constexpr const char* kContainerImage = "localhost/oomharness/oomstress:latest";
constexpr const char* kContainerStressorPath = "/oomstress";
constexpr const char* kContainerServiceLabel = "oomharness.service";
constexpr const char* kPodmanPath = "/usr/bin/podman";
// Quadlet (Podman 4.4 and later: trixie's guest, not bookworm's 4.3): a NAME.container
// file in this folder becomes NAME.service at daemon-reload, written by its generator
// to kQuadletGeneratedDir; `-dryrun` prints the units and the generator's refusals.
constexpr const char* kQuadletDir = "/etc/containers/systemd";
constexpr const char* kQuadletGenerator = "/usr/libexec/podman/quadlet";
constexpr const char* kQuadletGeneratedDir = "/run/systemd/generator";
// Checkpoint files of --checkpoint jobs (root-owned, on the root disk: survives restarts).
constexpr const char* kCheckpointDir = "/var/lib/oomharness";
// Set for COMMAND: the device of the results port (a /dev/vportNpM; the udev
// symlink /dev/virtio-ports/oomharness.results names the same port).
constexpr const char* kResultsEnv = "OOMHARNESS_RESULTS";
// virtio-serial port names (/sys/class/virtio-ports/*/name); each is a file on the host.
constexpr const char* kResultsPort = "oomharness.results";
constexpr const char* kControlPort = "oomharness.control";
constexpr const char* kOutputPort = "oomharness.output";
constexpr const char* kJournalPort = "oomharness.journal";
constexpr const char* kEndSentinel = "OOMHARNESS-END";
// Guest disks: a cold boot's root is /dev/nvme0n1 (the only NVMe device, no
// initrd); a guest booted to be saved has its root on virtio-blk (NVMe cannot be
// migrated) and finds it by label through the image's initrd. /etc/fstab names
// it by label too. Payload and swap are virtio disks with these serials
// (/sys/block/vd*/serial; see vm/qemu.hpp).
constexpr const char* kRootDevice = "/dev/nvme0n1";
constexpr const char* kRootLabel = "root";
constexpr const char* kPayloadSerial = "payload";
constexpr const char* kSwapSerial = "swap";
// In the payload when a swap disk is attached: the wrapper enables it.
constexpr const char* kSwapMarker = OOM_GUEST_JOB "/swap";
// On the kernel command line of a guest booted to be saved (vm/saved_guest.hpp):
// the wrapper says kSaveableKey on the control port, then waits for its payload.
constexpr const char* kRestorableFlag = "oomharness.restorable=1";
constexpr const char* kSaveableKey = "saveable_uptime";
constexpr const char* kRestoredKey = "restored_uptime";
}  // namespace oom::guest
