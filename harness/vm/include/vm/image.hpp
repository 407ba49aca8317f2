#pragma once
// The guest image: built once per (release, recipe) with mmdebstrap from Debian
// packages, cached outside the repo, never modified by a run.
//   $XDG_CACHE_HOME/oomharness/images/<release>-<recipe hash>/
//     rootfs.img   ext4 root filesystem (booted with snapshot=on)
//     vmlinuz      the guest's kernel, booted directly (no bootloader, no initrd)
//     image.json   release, systemd and kernel versions, recipe hash, build time
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"
#include "oom/releases.hpp"

namespace oom {

struct GuestImage {
  std::string release;
  std::string systemd_version;  // dpkg version of the guest's systemd, e.g. "252.39-1~deb12u1"
  std::string kernel_version;   // e.g. "6.1.0-50-cloud-amd64"
  std::string recipe_hash;
  std::string built_at;         // ISO 8601 UTC
  double build_sec = 0;
  std::filesystem::path dir;    // not serialised
  std::filesystem::path rootfs() const { return dir / "rootfs.img"; }
  std::filesystem::path kernel() const { return dir / "vmlinuz"; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GuestImage, release, systemd_version,
                                                kernel_version, recipe_hash, built_at, build_sec)

struct ImageRequest {
  std::string release = kDefaultRelease;
  bool force = false;                    // rebuild even when cached
  std::filesystem::path recipe_dir;      // default: recipeDir() (vm/data_dir.hpp)
  std::filesystem::path cache_root;      // default: defaultCacheRoot()
  std::string mirror;                    // default: $OOMHARNESS_MIRROR or deb.debian.org
};

std::filesystem::path defaultCacheRoot();  // $XDG_CACHE_HOME/oomharness or ~/.cache/oomharness

// Stable hash of every file in the recipe folder (names and contents) and the release.
std::string recipeHash(const std::filesystem::path& recipe_dir, const std::string& release);

// Where the image for this request lives (whether or not it exists yet).
std::filesystem::path imageDir(const ImageRequest& request);

// Returns the cached image, building it first when missing (or when forced).
// Errors (exit status 2 material): not root, mmdebstrap missing, mirror unreachable.
Expected<GuestImage> ensureImage(ImageRequest request);

Expected<GuestImage> readImageJson(const std::filesystem::path& dir);

}  // namespace oom
