#include "vm/package_units.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "oom/confined.hpp"
#include "oom/files.hpp"
#include "oom/text.hpp"

namespace fs = std::filesystem;

namespace oom {
namespace {

constexpr std::uint64_t kMaxDpkgStatusBytes = 64ull * 1024 * 1024;
constexpr std::uint64_t kMaxFileListBytes = 16ull * 1024 * 1024;
constexpr const char* kDpkgStatus = "var/lib/dpkg/status";
constexpr const char* kDpkgInfo = "var/lib/dpkg/info";

bool isUnitFile(std::string_view path) {
  for (const char* folder : kPackageUnitFolders) {
    if (!startsWith(path, folder)) continue;
    const std::string_view name = path.substr(std::string_view(folder).size());
    if (name.empty() || name.find('/') != std::string_view::npos) return false;
    for (const char* suffix : kPackageUnitSuffixes)
      if (name.size() > std::string_view(suffix).size() && endsWith(name, suffix)) return true;
  }
  return false;
}

// The file list of an installed package: info/NAME.list, or info/NAME:ARCH.list
// for a Multi-Arch: same one. "" when it has none.
std::string fileListOf(const ConfinedDir& root, const InstalledPackage& p) {
  for (const std::string& name : {p.name, p.name + ":" + p.architecture}) {
    const fs::path list = fs::path(kDpkgInfo) / (name + ".list");
    const auto kind = root.kind(list);
    if (!kind || *kind != ConfinedDir::Kind::regular) continue;
    if (auto text = root.read(list, kMaxFileListBytes, "dpkg file list")) return *text;
  }
  return "";
}

// The installed packages built from the sources of the requested ones, by name,
// each with the requested packages it stands for.
std::map<const InstalledPackage*, std::vector<std::string>> packagesToRead(
    const std::vector<InstalledPackage>& installed, const std::vector<std::string>& requested) {
  std::map<std::string, std::vector<std::string>> by_source;  // source -> requested names
  for (const auto& r : requested)
    for (const auto& p : installed)
      if (p.name == r) by_source[p.source].push_back(r);
  std::map<const InstalledPackage*, std::vector<std::string>> out;
  for (const auto& p : installed)
    if (const auto it = by_source.find(p.source); it != by_source.end()) out[&p] = it->second;
  return out;
}

// Copies what fits of one package's unit files; counts against the image's limits.
struct Extraction {
  const ConfinedDir& root;
  const fs::path& out_dir;
  std::map<std::string, PackageUnit>& units;
  std::uint64_t bytes = 0;

  Expected<void> copy(const InstalledPackage& p, const std::string& path, const std::vector<std::string>& for_) {
    const std::string name = fs::path(path).filename().string();
    const fs::path relative = path.substr(1);
    if (const auto it = units.find(name); it != units.end()) {
      spdlog::warn("vm build: {} of package {} left out: {} ships {} too", path, p.name, it->second.package, name);
      return {};
    }
    const auto entry = root.entry(relative);
    if (!entry || entry->type != ConfinedDir::Entry::Type::regular) return {};  // an alias link, or gone
    if (units.size() >= kMaxPackageUnits || entry->bytes > kMaxPackageUnitBytes ||
        bytes + entry->bytes > kMaxPackageUnitsBytes) {
      spdlog::warn("vm build: {} of package {} left out: over oomharness's limits ({} unit files of at most {} "
                   "bytes, {} bytes in all)", path, p.name, kMaxPackageUnits, kMaxPackageUnitBytes,
                   kMaxPackageUnitsBytes);
      return {};
    }
    auto text = root.read(relative, kMaxPackageUnitBytes, "unit file");
    if (!text) return {};
    if (auto written = writeFileAtomically(out_dir / name, *text); !written) return written;
    bytes += text->size();
    units[name] = PackageUnit{p.name, p.version, path, for_};
    return {};
  }
};

}  // namespace

std::vector<InstalledPackage> parseDpkgStatus(std::string_view status) {
  std::vector<InstalledPackage> out;
  InstalledPackage p;
  bool installed = false;
  auto finish = [&] {
    if (installed && !p.name.empty()) {
      if (p.source.empty()) p.source = p.name;
      out.push_back(p);
    }
    p = InstalledPackage{};
    installed = false;
  };
  for (const auto line : splitLines(status)) {
    if (trim(line).empty()) {
      finish();
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') continue;  // a continuation line
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view field = line.substr(0, colon);
    const std::string value(trim(line.substr(colon + 1)));
    if (field == "Package") p.name = value;
    else if (field == "Version") p.version = value;
    else if (field == "Architecture") p.architecture = value;
    else if (field == "Source") p.source = value.substr(0, value.find(' '));  // "nginx (1.22.1-9)"
    else if (field == "Status") installed = value == "install ok installed";
  }
  finish();
  return out;
}

std::vector<std::string> unitFilesListed(std::string_view list) {
  std::vector<std::string> out;
  for (const auto line : splitLines(list))
    if (isUnitFile(trim(line))) out.emplace_back(trim(line));
  return out;
}

Expected<std::map<std::string, PackageUnit>> extractPackageUnits(const fs::path& root,
                                                                 const std::vector<std::string>& requested,
                                                                 const fs::path& out_dir) {
  std::map<std::string, PackageUnit> units;
  if (requested.empty()) return units;
  auto tree = ConfinedDir::open(root);
  if (!tree) return failSetup(root.string(), tree.error().message);
  auto status = tree->read(kDpkgStatus, kMaxDpkgStatusBytes, "dpkg status file");
  if (!status) return failSetup(status.error().where, status.error().message);
  const auto installed = parseDpkgStatus(*status);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return failSetup(out_dir.string(), "cannot create the folder: " + ec.message());
  Extraction extraction{*tree, out_dir, units};
  for (const auto& [package, for_] : packagesToRead(installed, requested))
    for (const auto& path : unitFilesListed(fileListOf(*tree, *package)))
      if (auto copied = extraction.copy(*package, path, for_); !copied) return tl::unexpected(copied.error());
  return units;
}

}  // namespace oom
