#pragma once
// Saved guests: instead of booting for every run, a guest is booted once to the
// point where it waits for its work, saved (qemu's migration stream, to a file),
// and each run restores a copy of it and plugs its own payload in.
//
//   <image version>/saved/<key>/          one saved guest (made whole, then renamed in)
//       root.qcow2    the root disk as that boot left it, backed by ../../rootfs.img;
//                     each restore opens it with snapshot=on, so no two guests share
//                     anything writable
//       state         the migration stream: memory and device state
//       saved.json    what the key was made of, when, how long the boot and save took
//       console.log   that boot's console
//   <image version>/saved/<key>.lock      held while one harness saves it
//
// The key hashes the saving boot's whole qemu command line with the run's own
// paths left out (so the image version, its kernel and initrd, memory, vCPUs,
// accelerator and CPU model, devices and kernel command line) and qemu's version.
// A saved guest lives in its image version's folder and goes with it.
//
// The guest side (vm/guest/oomharness-job): booted with guest::kRestorableFlag,
// it touches no disk but root, says guest::kSaveableKey on the control port and
// waits for a disk with serial guest::kPayloadSerial; a restored copy sets its
// clock from the RTC (the host's time) and says guest::kRestoredKey.
#include <chrono>
#include <filesystem>
#include <string>

#include "oom/expected.hpp"
#include "vm/image.hpp"
#include "vm/qemu.hpp"
#include "vm/qmp.hpp"

namespace oom {

struct SavedGuest {
  std::filesystem::path dir;
  std::string key;
  double boot_sec = 0;   // the saving boot: qemu launch -> the guest said it could be saved
  double save_sec = 0;   // stop -> the migration stream written
  bool saved_now = false;  // made by this call (the run paid for its boot)
  std::filesystem::path root() const { return dir / "root.qcow2"; }
  std::filesystem::path state() const { return dir / "state"; }
};

// How long a saving boot may take before it is given up (the run then boots
// cold): a cold boot with the initrd took 12.7 s alone, 23 s beside a build.
inline constexpr std::chrono::seconds kSaveBootLimit{150};
// How long a restored guest may take to say guest::kRestoredKey after it was
// started (migration read, disks plugged in): about 2 s seen under TCG.
inline constexpr std::chrono::seconds kRestoreLimit{30};

// The key of the guest `machine` would save: `machine` is a GuestStart::save
// configuration whose per-run paths (ports, console, socket, root) are ignored.
std::string savedGuestKey(const QemuConfig& machine, const std::string& qemu_version);

// The saved guest for `machine` (GuestStart::save, with accelerator, memory,
// vCPUs, kernel and initrd set) of `image`: the one cached, or a new one made
// now by booting and saving (`work`: a private folder for that boot's ports).
// A setup error says why none can be had (no initrd in the image, qemu-img
// missing, another harness saving it right now, the boot or the save failed);
// the caller then boots cold.
Expected<SavedGuest> ensureSavedGuest(const GuestImage& image, QemuConfig machine, const std::string& qemu_version,
                                      const std::filesystem::path& work);

// Removes a saved guest a restore failed on, so the next run saves a new one.
void forgetSavedGuest(const SavedGuest& saved);

// The restore, on a qemu started with `restore` (GuestStart::restore, paused,
// -incoming defer): reads the saved state, plugs the swap and payload disks into
// their slots and lets the guest go on.
Expected<void> resumeSavedGuest(QmpClient& qmp, const QemuConfig& restore, const SavedGuest& saved);

}  // namespace oom
