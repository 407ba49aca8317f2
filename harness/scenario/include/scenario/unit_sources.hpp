#pragma once
// A service whose unit comes from real files: the unit file and drop-ins a team
// ships, read and merged as systemd will merge them in the guest, so a scenario
// tests exactly those files (docs/unit-files.md). The harness adds one drop-in of
// its own, last, that replaces only what a test must change: ExecStart becomes
// oomstress, and what would fail in a bare guest (User=, ExecStartPre=, paths,
// conditions) is reset and reported. Inline `unit` settings of the scenario go in
// that drop-in too, so they override the files, and each override is shown.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"
#include "systemd/directives.hpp"
#include "systemd/service_files.hpp"

namespace oom {

// A unit file a package of guest.packages installs in the guest image, as the image
// build copied it out (vm/package_units.hpp): `"unit_file": {"package": "nginx"}`.
struct PackagedUnit {
  std::string unit;        // "nginx.service"
  std::string package;     // the package that ships it: "nginx-common"
  std::string version;     // "1.22.1-9+deb12u12"
  std::string guest_path;  // "/lib/systemd/system/nginx.service"
  std::string text;
  std::vector<std::string> extracted_for;  // the guest.packages it counts for: ["nginx"]

  // How a file list and each citation of its lines name where it came from.
  std::string origin() const { return "package " + package + " " + version; }
};

// The packaged unit files of one guest image.
struct PackagedUnits {
  std::string image;  // "bookworm-0523ecae7aa0": where they were read, for messages
  std::vector<PackagedUnit> units;

  // `unit` as `package` (a guest.packages entry) installs it, or nullptr.
  const PackagedUnit* find(const std::string& package, const std::string& unit) const;
  // The units `package` installs, by name ("nginx.service"), sorted.
  std::vector<std::string> unitsOf(const std::string& package) const;
};

// Where a service's files are, as the scenario (or --units) names them. Every
// path is relative to `base` and read below it (oom/confined.hpp): the scenario's
// folder, or the --units tree; links that lead out of it are refused.
struct ServiceFileRefs {
  std::optional<std::filesystem::path> unit_file;
  // The unit file a package installs, instead of unit_file: already in the guest,
  // where the package put it; the drop-ins go to /etc/systemd/system/NAME.service.d/.
  std::optional<PackagedUnit> packaged_unit;
  std::vector<std::filesystem::path> drop_ins;  // NAME.service.d folders or *.conf files
  std::filesystem::path base;                    // relative paths are relative to this
  std::vector<std::filesystem::path> slice_dirs; // where a Slice='s own file may be found
  // The service runs its own program (no `load`): ExecStart=, Type= and the rest of
  // what kServiceResets would neutralize for oomstress are left to systemd as written.
  bool own_command = false;
};

// What one scenario may still read of unit files and drop-ins, over all its
// services (limits::kMaxUnitFileBytesTotal). Once spent, nothing more is opened.
struct UnitFileBudget {
  std::uint64_t bytes_left;
  bool spent = false;
  UnitFileBudget();
};

// The files of `--units DIR` (laid out as /etc/systemd/system) for `service`:
// DIR/NAME.service and DIR/NAME.service.d/; nullopt when DIR has neither.
std::optional<ServiceFileRefs> unitsTreeRefs(const std::filesystem::path& dir, const std::string& service);

// Reads and merges the files; `inline_unit` (the scenario's `unit`, already
// validated) overrides them. `where` names the service in messages
// ("s.json: $.services[0]"). Every problem is returned with the file and line:
// unreadable files, syntax systemd would ignore, values of table directives that
// systemd or oomharness refuses. The merged table settings are written to `unit`.
struct ServiceFilesResult {
  ServiceFiles files;
  std::vector<UnitProperty> unit;  // effective table directives, inline overrides applied
  std::vector<Error> errors;
};
ServiceFilesResult readServiceFiles(const std::string& service, const ServiceFileRefs& refs,
                                    const std::vector<UnitProperty>& inline_unit, const std::string& where,
                                    UnitFileBudget& budget);
// The same with a budget of its own (one service alone).
ServiceFilesResult readServiceFiles(const std::string& service, const ServiceFileRefs& refs,
                                    const std::vector<UnitProperty>& inline_unit, const std::string& where);

// The harness drop-in: `exec_start` as the only ExecStart, Type= and the scenario's
// inline settings, and the resets of `files`.
std::string harnessDropIn(const ServiceFiles& files, const std::vector<UnitProperty>& inline_unit,
                          const std::vector<std::string>& exec_start, const std::string& type);

}  // namespace oom
