// `oomharness run SCENARIO...`: the main job, or a suite of them (suite/suite.hpp).
#include <unistd.h>

#include <array>

#include "commands.hpp"
#include "oom/releases.hpp"
#include "run/run_scenario.hpp"
#include "suite/suite.hpp"

namespace oom {
namespace {

std::filesystem::path selfPath() {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::filesystem::path(std::string(buf.data(), static_cast<std::size_t>(n))) : "oomharness";
}

}  // namespace

void addRunCommand(CLI::App& app, int& status) {
  struct Flags {
    std::vector<std::string> inputs;
    RunOptions run;
    SuiteOptions suite;
    int jobs = 0;
  };
  auto flags = std::make_shared<Flags>();
  auto* run = app.add_subcommand(
      "run", "Boot a disposable guest, run the scenario's units under pressure, check expectations; "
             "with several files, a folder, several releases or --repeat: a suite");
  run->add_option("scenarios", flags->inputs, "Scenario files (JSON) or folders of them")->required();
  run->add_option("--results", flags->run.results_root, "Folder for run results (default: results)");
  run->add_option("--accel", flags->run.accelerator, "auto, kvm or tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  run->add_option("--release", flags->suite.releases,
                  "Guest release(s) instead of each scenario's guest.release: one of " + supportedReleasesText() +
                      ", a comma-separated list, or all (a matrix)");
  run->add_option("--repeat", flags->suite.repeat, "Run each scenario x release K times; report agreement")
      ->check(CLI::Range(1, 100));
  run->add_option("-j,--jobs", flags->jobs, "Guests at once (default: as many as the host's CPUs hold)")
      ->check(CLI::Range(1, 64));
  run->add_option("--shard", flags->suite.shard,
                  "Run shard I of N (1-based) of the matrix; default from CI_NODE_INDEX/CI_NODE_TOTAL and the like");
  run->add_flag("--cold-boot", flags->run.cold_boot,
                "Boot each guest instead of restoring a saved one (docs/guest-vm.md#saved-guests)");
  run->add_flag("--oversubscribe", flags->suite.oversubscribe, "Let guests' vCPUs exceed the host's CPUs");
  run->add_flag("--list", flags->suite.list, "Print the cells (scenario, release, repeat) this shard runs; boot nothing");
  run->add_option("--run-dir", flags->run.run_dir, "Existing empty folder for this run's results (one scenario)");
  run->add_option("--units", flags->run.units_dir,
                  "Take each service's unit file and drop-ins from DIR (laid out as /etc/systemd/system: "
                  "NAME.service, NAME.service.d/*.conf) instead of the scenario's unit_file and drop_ins");
  run->add_flag("--quiet", [flags](std::int64_t) { flags->run.live_progress = false; flags->suite.quiet = true; },
                "No live progress");
  run->callback([&status, flags] {
    SuiteOptions& suite = flags->suite;
    suite.inputs = flags->inputs;
    suite.results_root = flags->run.results_root;
    suite.accelerator = flags->run.accelerator;
    suite.cold_boot = flags->run.cold_boot;
    if (flags->jobs != 0) suite.jobs = flags->jobs;
    suite.self = selfPath();
    suite.units_dir = flags->run.units_dir;
    if ((isSuite(suite) || suite.list) && flags->run.run_dir.empty()) {
      status = runSuite(suite);
      return;
    }
    if (flags->inputs.size() != 1) {
      std::fprintf(stderr, "oomharness: --run-dir takes one scenario on one release; nothing was started\n");
      status = 2;
      return;
    }
    flags->run.scenario = flags->inputs.front();
    flags->run.release = suite.releases;
    status = runScenario(flags->run);
  });
}

}  // namespace oom
