#pragma once
// Scenario file -> Scenario. Implements the rules of scenarios/schema/scenario.schema.json
// (there is no JSON Schema validator for nlohmann in Debian) plus what a schema
// cannot say: directive values, unique names, expectations naming real services,
// the memory budget. Collects every error in the file, not just the first.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oom/expected.hpp"
#include "oom/releases.hpp"  // supportedReleases(), which the parser checks guest.release against
#include "scenario/lint.hpp"
#include "scenario/scenario.hpp"

namespace oom {

struct ScenarioCheck {
  std::optional<Scenario> scenario;  // set when there are no errors
  std::vector<Error> errors;         // each: where = "file: $.json.path", message = what was expected
  std::vector<ScenarioWarning> warnings;  // valid but a known-bad configuration (see lint.hpp)
  bool ok() const { return errors.empty(); }
};

// Where a scenario's unit files are: `unit_file` and `drop_ins` are relative to
// base_dir (the scenario's folder); units_dir (`--units DIR`, laid out as
// /etc/systemd/system) replaces them for every service it has files for.
struct ScenarioSources {
  std::filesystem::path base_dir;
  std::optional<std::filesystem::path> units_dir;
  // false: unit_file and drop_ins are checked as JSON but not read (a result file
  // re-read later: the run's plan holds the files as they were).
  bool read_unit_files = true;
  // The unit files guest.packages install, from the guest image (vm/package_units.hpp),
  // for services whose unit_file is {"package": P}: asked at most once per scenario,
  // with its guest. Unset: those services are checked as JSON only and their unit is
  // not read (files_unread), as a suite does before each cell's run reads it.
  std::function<Expected<PackagedUnits>(const GuestSpec&)> packaged_units{};
};

// `source` names the file in messages.
ScenarioCheck parseScenario(std::string_view text, const std::string& source, const ScenarioSources& sources = {});
ScenarioCheck loadScenarioFile(const std::filesystem::path& file,
                               const std::optional<std::filesystem::path>& units_dir = std::nullopt,
                               decltype(ScenarioSources::packaged_units) packaged_units = {});

// The keys each object accepts, as the parser implements them, named after the
// schema's $defs ("scenario" is the top level). Tests compare this with the schema.
struct ObjectKeys {
  std::string def;
  std::vector<std::string> properties;
  std::vector<std::string> required;
};
const std::vector<ObjectKeys>& scenarioObjectKeys();

}  // namespace oom
