#pragma once
// One disposable guest: boot the cached image (image.hpp) with a per-run payload
// disk, run a command as root under systemd, stream its results back, power off.
//
//   bootGuest(request)
//     ensureImage -> chooseAccelerator (KVM if a probe boot works, else TCG)
//     -> payload disk (mkfs.ext4 -d: our binaries + --payload DIR + job/run.sh)
//     -> qemu: direct kernel boot, no initrd, no network, root snapshot=on,
//        systemd.unit=oomharness-job.target -> guest wrapper runs the command
//     -> follow the channels while it runs; watchdog; qemu killed on any exit path
//
// Host <-> guest channels (names in guest_paths.hpp), each a virtio-serial port
// that qemu writes to a file in run_dir, read while the guest runs:
//   results.jsonl  lines the command writes to $OOMHARNESS_RESULTS (-> on_result_line)
//   output.log     the command's stdout and stderr (-> on_output_line)
//   control.log    the job wrapper: command start, exit status, then the sentinel;
//                  no sentinel = the guest died (inconclusive)
//   journal.txt    the guest journal (journalctl -f -o short-monotonic)
//   console.log    the kernel console (ttyS0)
// The base image is opened with snapshot=on and held with a shared lock while the
// guest runs (image.hpp); temporary files live in a locked private folder removed
// on return, or by the next command if this one was SIGKILLed (temp_dir.hpp); qemu
// dies with the harness (PR_SET_PDEATHSIG); SIGINT/SIGTERM stop the run cleanly.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "oom/expected.hpp"
#include "oom/payload_tree.hpp"
#include "oom/units.hpp"
#include "vm/channel.hpp"
#include "vm/image.hpp"

namespace oom {

// Caps on what each channel keeps (channel.hpp): a healthy three-services run
// writes 130 KiB of results, 105 KiB of journal and a few hundred bytes of console.
// Results are also held in memory by `run` (host_check.hpp: kHarnessOwnBytes).
inline constexpr std::uint64_t kResultsCapBytes = 16 * MiB;
inline constexpr std::uint64_t kOutputCapBytes = 16 * MiB;
inline constexpr std::uint64_t kJournalCapBytes = 16 * MiB;
inline constexpr std::uint64_t kConsoleCapBytes = 4 * MiB;
inline constexpr std::uint64_t kControlCapBytes = 1 * MiB;

struct BootRequest {
  std::string release = kDefaultRelease;
  std::string accelerator = "auto";      // auto, kvm, tcg
  std::uint64_t memory_bytes = GiB;
  unsigned cpus = 2;
  std::uint64_t swap_bytes = 0;
  std::vector<std::string> packages;     // extra Debian packages: the image built with them (image.hpp)
  Seconds timeout{300};
  std::filesystem::path payload_dir;     // copied to guest::kPayloadDir (read-only), as payload.hpp says
  std::filesystem::path payload_confined_to;  // the folder payload_dir must stay below (payload.hpp)
  // Extra files: host path -> path relative to /opt/oomharness (e.g. "job/plan.json").
  std::vector<std::pair<std::filesystem::path, std::string>> payload_files;
  std::vector<std::string> command;      // run in the guest as root, cwd = payload dir
  std::filesystem::path run_dir;         // created; keeps the channel files and logs
  // Restore a saved guest of this machine (saved first when there is none:
  // vm/saved_guest.hpp) instead of booting; false boots cold (--cold-boot).
  bool restore = true;
  std::function<void(const std::string&)> on_result_line;  // results lines, as they arrive
  std::function<void(const std::string&)> on_output_line;  // command output, as it arrives
};

struct BootResult {
  // completed: the sentinel came back (exit_status is the command's). Any other
  // ending is inconclusive: timed_out (watchdog), guest_died (no sentinel: panic,
  // crash, infrastructure failure in the guest), interrupted (SIGINT/SIGTERM).
  enum class Ending { completed, timed_out, guest_died, interrupted };
  Ending ending = Ending::guest_died;
  int exit_status = -1;                  // the command's, when completed
  std::string accelerator;               // "kvm" or "tcg"
  std::string cpu_model;                 // the -cpu it ran with
  std::string accelerator_note;          // why that accelerator (probe result, flag)
  std::string qemu_version;
  // How the guest started (guestStartName: "restored", "cold boot") and, when it
  // was not simply restored, why: saved now (what that cost), cold on request,
  // no saved guest to be had (the reason), a restore that failed and the cold
  // boot after it.
  std::string guest_start;
  std::string guest_start_note;
  std::string saved_guest;               // the saved guest's folder, when one was used
  double setup_sec = 0;                  // host clock: bootGuest -> qemu launch (image, payload)
  double boot_to_command_sec = 0;        // host clock: qemu launch (or restore) -> command start seen
  double total_sec = 0;                  // host clock: qemu launch -> qemu exit
  double payload_build_sec = 0;          // building the payload disk (part of setup_sec)
  PayloadTree payload;                   // what of payload_dir was copied (its digest)
  std::string last_console_lines;        // console tail (+ journal tail when the console is quiet)
  std::string reason;                    // human explanation for an ending other than completed
  GuestImage image;
  // What was set aside on the host before booting (host_check.hpp).
  std::uint64_t host_memory_needed_bytes = 0;     // guest + qemu + harness + margin
  std::uint64_t host_memory_available_bytes = 0;  // MemAvailable when checked
  std::uint64_t swap_reserved_bytes = 0;          // swap file, allocated on disk up front
  std::string host_reservation;                   // the one line printed before booting
  // A guest kernel that died before the command started (nothing of the job ran)
  // is booted once more: the first boot's reason, its console kept beside the
  // run's as console-boot-1.log. "" when the first boot came up.
  std::string earlier_boot_failure;
  // Per channel: what was kept, cut or dropped (results, control, output, journal, console).
  std::vector<ChannelCounters> channels;
  // One line naming every channel that lost something; "" when none did.
  std::string outputLosses() const;
  // Whether the results channel lost records (cut lines or past its cap): what the
  // guest reported is incomplete, so no verdict can rest on it.
  bool resultsIncomplete() const;
};

const char* endingName(BootResult::Ending ending);

// The first line of a kernel crash in a console log ("Oops: int3: 0000 [#1]
// PREEMPT SMP NOPTI", "BUG: ..."), or "". A panic the kernel chose ("Kernel
// panic - not syncing: VFS: Unable to mount root fs") is not a crash: that boot
// fails the same way every time. A guest whose kernel crashed before the job
// started is booted once more (BootResult::earlier_boot_failure).
std::string kernelCrashLine(const std::filesystem::path& console);

// Runs one guest to completion. Blocking; on_result_line/on_output_line are called
// from this thread while the guest runs. Errors (nothing booted): image cannot be
// built, qemu missing, bad request, --accel kvm without a working KVM.
Expected<BootResult> bootGuest(const BootRequest& request);

}  // namespace oom
