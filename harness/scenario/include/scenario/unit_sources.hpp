#pragma once
// A service whose unit comes from real files: the unit file and drop-ins a team
// ships, read and merged as systemd will merge them in the guest, so a scenario
// tests exactly those files (docs/unit-files.md). The harness adds one drop-in of
// its own, last, that replaces only what a test must change: ExecStart becomes
// oomstress, and what would fail in a bare guest (User=, ExecStartPre=, paths,
// conditions) is reset and reported. Inline `unit` settings of the scenario go in
// that drop-in too, so they override the files, and each override is shown.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"
#include "scenario/directives.hpp"

namespace oom {

// The folder systemd reads administrator units from; files are installed here.
inline constexpr const char* kGuestUnitDir = "/etc/systemd/system";
// The harness's own drop-in, in NAME.service.d/. Its name must sort after every
// drop-in of the user's (systemd applies drop-ins in file-name order).
inline constexpr const char* kHarnessDropInName = "zz-oomharness.conf";

// One file put into the guest.
struct InstalledFile {
  std::string source;      // where it came from, as the scenario names it ("units/api.service")
  std::string guest_path;  // "/etc/systemd/system/api.service.d/10-oom.conf"
  std::string text;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(InstalledFile, source, guest_path, text)

// A directive the merge decided, and where it came from.
struct SettingOrigin {
  std::string directive;  // "OOMScoreAdjust"
  std::string value;      // "" for an empty assignment (a reset to systemd's default)
  std::string where;      // "units/api.service.d/20-oom.conf:3", or "scenario $.services[0].unit"
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SettingOrigin, directive, value, where)

// What the files give one service, and what the harness drop-in changes.
struct ServiceFiles {
  std::vector<InstalledFile> files;     // unit file, then drop-ins in the order applied, then slices
  std::vector<SettingOrigin> effective; // the directive table's settings as merged: the last assignment
  std::vector<SettingOrigin> overridden;// earlier assignments a later file or the scenario replaced
  std::vector<SettingOrigin> neutralized;  // set by the files, reset by the harness drop-in
  std::vector<SettingOrigin> passed_through;  // outside the table: left to systemd, which validates them
  std::vector<std::string> reset_lines; // "[Service]" lines of the harness drop-in, one per neutralized key
  std::vector<std::string> unit_reset_lines;  // the same for "[Unit]" (conditions, asserts)
  std::vector<std::string> hard_dependencies;  // Requires=, Requisite=, BindsTo= units (stubbed if absent)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ServiceFiles, files, effective, overridden, neutralized,
                                                passed_through, reset_lines, unit_reset_lines,
                                                hard_dependencies)

// Where a service's files are, as the scenario (or --units) names them.
struct ServiceFileRefs {
  std::optional<std::filesystem::path> unit_file;
  std::vector<std::filesystem::path> drop_ins;  // NAME.service.d folders or *.conf files
  std::filesystem::path base;                    // relative paths are relative to this
  std::vector<std::filesystem::path> slice_dirs; // where a Slice='s own file may be found
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
                                    const std::vector<UnitProperty>& inline_unit, const std::string& where);

// The harness drop-in: `exec_start` as the only ExecStart, Type= and the scenario's
// inline settings, and the resets of `files`.
std::string harnessDropIn(const ServiceFiles& files, const std::vector<UnitProperty>& inline_unit,
                          const std::vector<std::string>& exec_start, const std::string& type);

}  // namespace oom
