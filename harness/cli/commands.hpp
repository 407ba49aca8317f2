#pragma once
// Each subcommand family registers itself on the CLI11 app; its callback stores
// the exit status in `status`. main() only parses and dispatches.
#include <CLI/CLI.hpp>
#include <string>

namespace oom {
void addScenarioCommands(CLI::App& app, int& status);  // check, plan    (cmd_scenario.cpp)
void addVmCommands(CLI::App& app, int& status);        // vm build, vm run (cmd_vm.cpp)
void addRunCommand(CLI::App& app, int& status);        // run            (cmd_run.cpp)
void addDiffCommand(CLI::App& app, int& status);       // diff           (cmd_diff.cpp)
void addCompareCommand(CLI::App& app, int& status);    // compare        (cmd_compare.cpp)
void addReportCommands(CLI::App& app, int& status);    // report, show   (cmd_report.cpp)
void addLintCommand(CLI::App& app, int& status);       // lint           (cmd_lint.cpp)
void addCaptureCommand(CLI::App& app, int& status);    // capture        (cmd_capture.cpp)
void addChecksCommand(CLI::App& app, int& status);     // checks         (cmd_checks.cpp)
void addVersionFlag(CLI::App& app);                    // --version      (cmd_version.cpp)
std::string versionText();                             // what --version prints
}  // namespace oom
