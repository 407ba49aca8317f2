#pragma once
// The unit files an image's extra packages install (a scenario's guest.packages),
// copied out of the root tree while the image is built, so that the host can read a
// packaged unit (nginx's /lib/systemd/system/nginx.service) before anything boots
// and merge and cite it as it does a scenario's own unit file
// (docs/unit-files.md#a-unit-file-from-a-package).
//
// Which packages: each requested one, and every installed package built from the
// same Debian source package. On Debian a unit is often shipped by a sibling of
// the package a user asks for: nginx.service is in nginx-common (source nginx) on
// bookworm. A dependency from another source (libc6, systemd) counts for nothing:
// its units are the guest's own, not the service's.
//
// Read from the root's dpkg database (var/lib/dpkg/status, var/lib/dpkg/info/PKG.list)
// and copied below the root only (oom/confined.hpp): regular files, no link followed
// out of the tree, at most kMaxPackageUnits files of kMaxPackageUnitBytes each.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"

namespace oom {

// A unit file a package installs, as image.json records it (under its unit name).
struct PackageUnit {
  std::string package;  // the binary package that ships it: "nginx-common"
  std::string version;  // that package's dpkg version: "1.22.1-9+deb12u12"
  std::string path;     // where the package puts it in the guest: "/lib/systemd/system/nginx.service"
  std::vector<std::string> extracted_for;  // the requested packages it counts for: ["nginx"]
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PackageUnit, package, version, path, extracted_for)

// The copies' folder in an image version folder: units/<unit name>.
inline constexpr const char* kPackageUnitsDir = "units";
// The folders a package's unit files are looked for in, as its file list names them
// (bookworm packages use the first, trixie's the second).
inline constexpr const char* kPackageUnitFolders[] = {"/lib/systemd/system/", "/usr/lib/systemd/system/"};
// The unit types copied.
inline constexpr const char* kPackageUnitSuffixes[] = {".service", ".socket", ".timer"};
inline constexpr std::size_t kMaxPackageUnits = 256;
inline constexpr std::uint64_t kMaxPackageUnitBytes = 1024 * 1024;  // as a scenario's unit file
inline constexpr std::uint64_t kMaxPackageUnitsBytes = 8 * 1024 * 1024;

// One installed package of a dpkg status file.
struct InstalledPackage {
  std::string name, version, architecture;
  std::string source;  // its Source: without the "(version)"; the package's own name when absent
};
// The packages whose Status is "install ok installed", in file order.
std::vector<InstalledPackage> parseDpkgStatus(std::string_view status);

// The unit files in a package's file list (dpkg's info/PKG.list, one path a line):
// directly in one of kPackageUnitFolders, with one of kPackageUnitSuffixes.
std::vector<std::string> unitFilesListed(std::string_view list);

// Copies the unit files of `requested` (and their source siblings) from the root
// tree into out_dir/<unit name> and returns them by unit name. A unit name two
// packages ship is kept once (the first package in name order) and the rest logged;
// beyond the limits, the rest are left out and logged. Errors (setup): the dpkg
// database cannot be read, out_dir cannot be written.
Expected<std::map<std::string, PackageUnit>> extractPackageUnits(const std::filesystem::path& root,
                                                                 const std::vector<std::string>& requested,
                                                                 const std::filesystem::path& out_dir);

}  // namespace oom
