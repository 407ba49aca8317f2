#pragma once
// A service's real unit files as they go into the guest, and where each merged
// setting came from: what the plan carries to the guest (and the report shows) for
// a unit installed from files. The host reads and merges them (scenario/unit_sources.hpp).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace oom {

// The folder systemd reads administrator units from; files are installed here.
inline constexpr const char* kGuestUnitDir = "/etc/systemd/system";
// The harness's own drop-in, in NAME.service.d/. Its name must sort after every
// drop-in of the user's (systemd applies drop-ins in file-name order).
inline constexpr const char* kHarnessDropInName = "zz-oomharness.conf";

// One file put into the guest, or one a package already put there.
struct InstalledFile {
  std::string source;      // where it came from, as the scenario names it ("units/api.service"),
                           // or "package nginx-common 1.22.1-9+deb12u12" for an in_image file
  std::string guest_path;  // "/etc/systemd/system/api.service.d/10-oom.conf"
  std::string text;
  // Shipped by a package of the guest image ("unit_file": {"package": ...}): already at
  // guest_path, so the guest only checks that it holds `text`, and writes nothing there.
  bool in_image = false;
};
// By hand: in_image is written only when set, so plans without packaged units read as before.
inline void to_json(nlohmann::json& j, const InstalledFile& f) {
  j = nlohmann::json{{"source", f.source}, {"guest_path", f.guest_path}, {"text", f.text}};
  if (f.in_image) j["in_image"] = true;
}
inline void from_json(const nlohmann::json& j, InstalledFile& f) {
  f.source = j.value("source", std::string());
  f.guest_path = j.value("guest_path", std::string());
  f.text = j.value("text", std::string());
  f.in_image = j.value("in_image", false);
}

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
  // A Quadlet file's [Container] settings the harness does not replace: Quadlet and
  // Podman read them (PodmanArgs=, Label=, ...); the ones oomharness models are also
  // in the service's container settings, with where they came from.
  std::vector<SettingOrigin> quadlet;
};
// By hand: quadlet is written only when set, so plans without Quadlet files read as before.
inline void to_json(nlohmann::json& j, const ServiceFiles& f) {
  j = nlohmann::json{{"files", f.files},
                     {"effective", f.effective},
                     {"overridden", f.overridden},
                     {"neutralized", f.neutralized},
                     {"passed_through", f.passed_through},
                     {"reset_lines", f.reset_lines},
                     {"unit_reset_lines", f.unit_reset_lines},
                     {"hard_dependencies", f.hard_dependencies}};
  if (!f.quadlet.empty()) j["quadlet"] = f.quadlet;
}
inline void from_json(const nlohmann::json& j, ServiceFiles& f) {
  const ServiceFiles none;
  auto read = [&](const char* key, auto& field) {
    if (j.contains(key)) j.at(key).get_to(field);
  };
  f = none;
  read("files", f.files);
  read("effective", f.effective);
  read("overridden", f.overridden);
  read("neutralized", f.neutralized);
  read("passed_through", f.passed_through);
  read("reset_lines", f.reset_lines);
  read("unit_reset_lines", f.unit_reset_lines);
  read("hard_dependencies", f.hard_dependencies);
  read("quadlet", f.quadlet);
}

}  // namespace oom
