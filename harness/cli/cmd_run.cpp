// `oomharness run SCENARIO`: the main job.
#include <unistd.h>

#include "commands.hpp"
#include "oom/releases.hpp"
#include "run/run_scenario.hpp"

namespace oom {

void addRunCommand(CLI::App& app, int& status) {
  auto options = std::make_shared<RunOptions>();
  auto* run = app.add_subcommand(
      "run", "Boot a disposable guest, run the scenario's units under pressure, check expectations");
  run->add_option("scenario", options->scenario, "Scenario file (JSON)")->required();
  run->add_option("--results", options->results_root, "Folder for run results (default: results)");
  run->add_option("--accel", options->accelerator, "auto, kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  run->add_option("--release", options->release,
                  "Guest release instead of the scenario's guest.release (" + supportedReleasesText() + ")");
  run->add_flag("--quiet", [options](std::int64_t) { options->live_progress = false; },
                "No live progress lines");
  run->callback([&status, options] { status = runScenario(*options); });
}

}  // namespace oom
