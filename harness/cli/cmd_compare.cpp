// `oomharness compare SCENARIO --current DIR --proposed DIR`: the same scenario
// against two unit trees, and one side-by-side comparison (suite/compare.hpp).
#include "commands.hpp"
#include "oom/releases.hpp"
#include "suite/compare.hpp"

namespace oom {

void addCompareCommand(CLI::App& app, int& status) {
  auto options = std::make_shared<CompareOptions>();
  auto* compare = app.add_subcommand(
      "compare", "Run one scenario against the current and the proposed unit trees; print them side by side");
  compare->add_option("scenario", options->scenario, "Scenario file")->required();
  compare->add_option("--current", options->current_units,
                      "The deployed unit files: a folder laid out as /etc/systemd/system")
      ->required();
  compare->add_option("--proposed", options->proposed_units, "The unit files under review, laid out the same")
      ->required();
  compare->add_option("--release", options->release, "Guest release instead of the scenario's guest.release")
      ->check(CLI::IsMember(supportedReleases()));
  compare->add_option("--results", options->results_root, "Folder for results (default: results)");
  compare->add_option("--accel", options->accelerator, "auto, kvm or tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  compare->add_flag("--quiet", options->quiet, "No live progress");
  compare->callback([&status, options] { status = runComparison(*options); });
}

}  // namespace oom
