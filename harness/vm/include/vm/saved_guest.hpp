#pragma once
// Saved guests: instead of booting for every run, a guest is booted once to the
// point where it waits for its work, saved (qemu's migration stream, to a file),
// and each later run restores a copy of it and plugs its own payload in.
//
//   <image version>/saved/<key>/          one saved guest (made whole, then renamed in)
//       root.qcow2    the root disk as the saving boot left it, backed by
//                     ../../rootfs.img; each restore opens it with snapshot=on, so
//                     no two guests share anything writable
//       state         the migration stream: memory and device state
//       saved.json    what the key was made of, when, how long the boot and the save took
//       last-used     written by each restore (markUsed; until the first, saved.json's time counts)
//   <image version>/saved/<key>.lock      held while one harness saves it
//
// The first run of a machine saves it and goes on with its own job in that same
// guest: its root is switched to an overlay of the run's (blockdev-snapshot-sync)
// before the save, so root.qcow2 stays as saved; that run pays the slower boot
// through the initrd (12.7 s against 8.4 s) and the save (about 1 s), no more.
//
// The key hashes the saving boot's whole qemu command line with the run's own
// paths left out (so the image version, its kernel and initrd, memory, vCPUs,
// accelerator and CPU model, devices and kernel command line) and qemu's version.
// A saved guest lives in its image version's folder and goes with it. An image
// version keeps at most kSavedGuestsKept of them (about 180 MiB each): when one
// more is saved, the ones restored least recently go, but never one restored in
// the last kSavedGuestInUse (a restore may still be reading it) nor one being
// saved. What a killed harness left half-saved goes at the same time.
//
// The guest side (vm/guest/oomharness-job): booted with guest::kRestorableFlag,
// it touches no disk but root, says guest::kSaveableKey on the control port and
// waits for a disk with serial guest::kPayloadSerial; once it has one it sets its
// clock from the RTC (the host's time) and says guest::kRestoredKey.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "oom/expected.hpp"
#include "vm/image.hpp"
#include "vm/lock.hpp"
#include "vm/qemu.hpp"
#include "vm/qmp.hpp"

namespace oom {

struct SavedGuest {
  std::filesystem::path dir;
  std::string key;
  double boot_sec = 0;   // the saving boot: qemu launch -> the guest said it could be saved
  double save_sec = 0;   // stop -> the migration stream written
  std::filesystem::path root() const { return dir / "root.qcow2"; }
  std::filesystem::path state() const { return dir / "state"; }
};

// A save under way: its lock, and the folder it is made in (removed with this
// object unless the save was put in place).
struct GuestSave {
  GuestSave() = default;
  GuestSave(GuestSave&& other) noexcept;
  GuestSave& operator=(GuestSave&&) = delete;
  ~GuestSave();
  FileLock lock;
  std::string key;
  std::filesystem::path dir;  // where it goes once whole
  std::filesystem::path tmp;  // where it is made
  std::string qemu_version;
  std::filesystem::path root() const { return tmp / "root.qcow2"; }
};

// How long a restored guest may take to say guest::kRestoredKey after it was
// started (state read, disks plugged in): about 2 s seen under TCG.
inline constexpr std::chrono::seconds kRestoreLimit{30};
// How long a guest booted to be saved may take to say it can be (about 12 s
// seen under TCG, 23 s beside a build).
inline constexpr std::chrono::seconds kSaveBootLimit{150};

// How many saved guests an image version keeps, and how recent a restore keeps
// one regardless. Four: a scenario set's guests come in a few sizes (this
// repository's scenarios and tests use four machines), and a save past the cap
// costs what a cold boot costs, no more.
inline constexpr std::size_t kSavedGuestsKept = 4;
inline constexpr std::chrono::minutes kSavedGuestInUse{10};

// The key of the guest `machine` would save (a GuestStart::save configuration;
// its per-run paths (ports, console, socket, root, disks) are left out).
std::string savedGuestKey(const QemuConfig& machine, const std::string& qemu_version);

// `machine` as a saved guest of `image` runs: GuestStart::save, the image's
// kernel and initrd. Ports, accelerator, memory and vCPUs as given.
QemuConfig savedGuestMachine(const GuestImage& image, QemuConfig machine);

// The saved guest of `machine` (savedGuestMachine) in `image`'s cache, if whole;
// marked used (its last-used file) when found.
std::optional<SavedGuest> findSavedGuest(const GuestImage& image, const QemuConfig& machine,
                                         const std::string& qemu_version);

// Starts saving `machine` of `image`: takes its lock and makes root.qcow2 on top
// of the image's root. A setup error says why not (no initrd in the image,
// qemu-img missing, another harness saving it right now); the caller boots cold.
Expected<GuestSave> beginGuestSave(const GuestImage& image, const QemuConfig& machine,
                                   const std::string& qemu_version);

// On the guest `running` (booted from save.root()) once it said it can be saved:
// pauses it, moves its root writes to `overlay` (the run's own), saves it, puts
// the saved guest in place, then plugs in the run's disks and lets it go on.
Expected<SavedGuest> saveAndGoOn(QmpClient& qmp, const QemuConfig& running, GuestSave& save,
                                 const std::filesystem::path& overlay, double boot_sec);

// The restore, on a qemu started with `restore` (GuestStart::restore, paused,
// -incoming defer): reads the saved state, plugs the run's disks in, lets it go on.
Expected<void> resumeSavedGuest(QmpClient& qmp, const QemuConfig& restore, const SavedGuest& saved);

// Removes a saved guest a restore failed on, so the next run saves a new one.
void forgetSavedGuest(const SavedGuest& saved);

// In `saved_root` (an image version's saved/): keeps the `keep` saved guests used
// most recently and any used within `in_use`, and removes the rest, as well as
// folders a harness that died while saving left (`<key>.tmp-<pid>`, when no
// one holds `<key>.lock`). A folder whose lock is held is never touched.
// Returns the names of the folders removed.
std::vector<std::string> pruneSavedGuests(const std::filesystem::path& saved_root, std::size_t keep,
                                          std::chrono::minutes in_use);

}  // namespace oom
