#pragma once
// The input collection of `oomharness lint`: the paths it was given, read and grouped
// by unit (systemd/unit_file.hpp reads each file as systemd does).
#include <filesystem>
#include <string>
#include <vector>

#include "oom/expected.hpp"
#include "systemd/unit_file.hpp"

namespace oom {

// What `oomharness lint PATH...` was given, read and grouped.
struct LintInputs {
  std::vector<UnitSources> units;                // by name
  std::vector<std::filesystem::path> scenarios;  // *.json
  std::vector<Error> unreadable;                 // each names the file; exit 2
};

// Unit files, drop-in files, NAME.d folders, scenario files, and folders laid out as
// /etc/systemd/system (unit files at the top, drop-ins in NAME.d/; *.wants and
// *.requires folders and links to /dev/null are skipped). A path given is read as
// given; what is found inside a given folder is read below that folder only
// (oom/confined.hpp), so a link out of it or a symlink loop is `unreadable`, as is a
// folder with nothing to lint, a missing file, a file that is not text or is over
// 1 MiB, and a folder of more than limits::kMaxDropInsPerFolder drop-ins.
// "api.service.d/" is the folder "api.service.d".
LintInputs collectLintInputs(const std::vector<std::string>& paths);

}  // namespace oom
