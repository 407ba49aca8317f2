#pragma once
// The guest image: built once per (release, recipe) with mmdebstrap from Debian
// packages, cached outside the repo, never modified by a run.
//   $XDG_CACHE_HOME/oomharness/images/
//     .lock                         held while the cache is read or built (one at a time)
//     <release>-<recipe hash>       symlink to the current version (or, made by an
//                                   older oomharness, the folder itself)
//     <release>-<recipe hash>.v<UTC>-<pid>/   one version of the image:
//       rootfs.img   ext4 root filesystem (booted with snapshot=on)
//       vmlinuz      the guest's kernel, booted directly (no bootloader, no initrd)
//       initrd.img   its initrd, for a guest booted to be saved (vm/saved_guest.hpp)
//       saved/       saved guests of this version (vm/saved_guest.hpp)
//       image.json   release, systemd and kernel versions, recipe hash, build time,
//                    the extra packages' versions and the unit files they install
//       units/       those unit files, copied out at build time (vm/package_units.hpp)
// A guest holds a shared flock on the version it boots (its lease) until qemu is
// gone; `vm build --force` builds a new version, swaps the symlink atomically, and
// a superseded version is removed only when nobody holds it.
#include <filesystem>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"
#include "oom/releases.hpp"
#include "oom/units.hpp"
#include "vm/lock.hpp"
#include "vm/package_units.hpp"

namespace oom {

// The name of the image a recipe builds for a release: "<release>-<recipe hash>".
inline std::string recipeName(const std::string& release, const std::string& recipe_hash) {
  return release + "-" + recipe_hash;
}

struct GuestImage {
  std::string release;
  std::string systemd_version;  // dpkg version of the guest's systemd, e.g. "252.39-1~deb12u1"
  std::string kernel_version;   // e.g. "6.1.0-50-cloud-amd64"
  std::string recipe_hash;
  std::string built_at;         // ISO 8601 UTC
  double build_sec = 0;
  // The request's extra packages (ImageRequest::packages) -> their installed dpkg
  // version, e.g. "python3" -> "3.11.2-1+b1". Empty for the base image.
  std::map<std::string, std::string> packages;
  // The unit files those packages install, by unit name ("nginx.service"), copied
  // to dir/units/ (vm/package_units.hpp). Empty for the base image.
  std::map<std::string, PackageUnit> package_units;
  // Not serialised: image.json has the key package_units. An image built before
  // oomharness copied unit files out has none, whatever its packages ship.
  bool package_units_extracted = false;
  std::filesystem::path dir;    // not serialised
  // "<release>-<recipe hash>": what `--version` prints and the cache's name for it.
  std::string recipeName() const { return oom::recipeName(release, recipe_hash); }
  std::filesystem::path rootfs() const { return dir / "rootfs.img"; }
  std::filesystem::path kernel() const { return dir / "vmlinuz"; }
  // The image's own initrd (initramfs-tools, MODULES=most): only a saved guest
  // boots with it, for its root on virtio-blk (vm/saved_guest.hpp).
  std::filesystem::path initrd() const { return dir / "initrd.img"; }
  std::filesystem::path packageUnitFile(const std::string& unit) const { return dir / kPackageUnitsDir / unit; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GuestImage, release, systemd_version,
                                                kernel_version, recipe_hash, built_at, build_sec,
                                                packages, package_units)

struct ImageRequest {
  std::string release = kDefaultRelease;
  bool force = false;                    // rebuild even when cached
  std::filesystem::path recipe_dir;      // default: recipeDir() (vm/data_dir.hpp)
  std::filesystem::path cache_root;      // default: defaultCacheRoot()
  std::string mirror;                    // default: $OOMHARNESS_MIRROR or deb.debian.org
  // Debian packages added after the recipe's packages.txt (a scenario's
  // guest.packages): each set is an image of its own, keyed by the sorted names.
  std::vector<std::string> packages;
  // A scenario reads a packaged unit file from the image: a cached image built before
  // the unit files were copied out (no package_units in its image.json) is built again.
  bool need_package_units = false;
};

std::filesystem::path defaultCacheRoot();  // $XDG_CACHE_HOME/oomharness or ~/.cache/oomharness

// Stable hash of every file in the recipe folder (names and contents), the release
// and the extra packages (in any order; none gives the base image's hash).
std::string recipeHash(const std::filesystem::path& recipe_dir, const std::string& release,
                       std::vector<std::string> packages = {});

// The package mmdebstrap's output says the mirror does not have ("Unable to locate
// package X", "Package 'X' has no installation candidate"), or "".
std::string unavailablePackage(std::string_view mmdebstrap_output);

// Where the image for this request lives (whether or not it exists yet).
std::filesystem::path imageDir(const ImageRequest& request);

// How long a command waits for another one building an image (a build takes 30-90 s).
inline constexpr Seconds kImageLockTimeout{20 * 60};

// Returns the cached image, building it first when missing (or when forced); its
// dir is the version folder. With `lease`, the caller also gets a shared lock on
// that folder: hold it until the guest is gone. Errors: not root or a bad release
// (input); mmdebstrap missing, mirror unreachable, lock timeout (setup); a signal
// (interrupted).
Expected<GuestImage> ensureImage(ImageRequest request, FileLock* lease = nullptr);

// The cached image for this request, never built: for commands that boot nothing
// (`check`, `plan`). An error (setup) when there is none, or it cannot be read.
Expected<GuestImage> cachedImage(ImageRequest request);

// The cache's bookkeeping, for tests. Points `name` at the folder `version` (both in
// `images`) by renaming a new symlink over it; a folder in its place moves aside to
// <name>.old-<UTC>-<pid>.
Expected<void> installImageVersion(const std::filesystem::path& images, const std::string& name,
                                   const std::string& version);
// Removes, among <release>-* in `images`: versions of `name` it no longer points at,
// and images of other recipes unused for a day; never one a guest holds (lease),
// never one with mounts under it; then links left pointing at nothing.
void removeUnusedImages(const std::filesystem::path& images, const std::string& release,
                        const std::string& name);

Expected<GuestImage> readImageJson(const std::filesystem::path& dir);

// A cache folder's use (an image version, a saved guest): markUsed writes its
// `last-used` file with the time; lastUsed is that file's time, or, in a folder
// never marked, the time of `made` (the file written when the folder was made);
// nullopt when neither can be read.
void markUsed(const std::filesystem::path& dir);
std::optional<std::filesystem::file_time_type> lastUsed(const std::filesystem::path& dir, const std::string& made);

// What is wrong with a root file system image, from its ext4 superblock (the 1024
// bytes at offset 1024; fewer when the file is shorter) and the file's size: no
// ext4 magic, or a file shorter than the file system it holds (truncated copy,
// disk full during a build). "" when it looks whole. Cheap (one read), so every
// use of the cache checks it; damage inside a whole file shows when the guest boots.
std::string rootfsDamage(std::string_view superblock, std::uint64_t file_bytes);

}  // namespace oom
