// `oomharness check FILE...` and `oomharness plan FILE`: everything that can be
// said about a scenario without booting anything.
#include <cstdio>
#include <string>
#include <vector>

#include "checks/binding.hpp"
#include "checks/verdict.hpp"
#include "commands.hpp"
#include "oom/releases.hpp"
#include "run/exit_status.hpp"
#include "oom/shell.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "scenario/budget.hpp"
#include "scenario/parse.hpp"
#include "plan/planner.hpp"
#include "report/report.hpp"
#include "run/packaged_units.hpp"
#include "run/recorded_timeline.hpp"
#include "run/run_scenario.hpp"
#include "suite/matrix.hpp"

namespace oom {
namespace {

// Everything printed here that came from a file or the command line goes through
// printable(): a scenario cannot write escape sequences to the terminal.
void printDiagnostics(const ScenarioCheck& check) {
  for (const auto& e : check.errors) std::printf("  error: %s\n", printable(e.str()).c_str());
  for (const auto& w : check.warnings) std::printf("  warning: %s\n", printable(w.str()).c_str());
}

void printErrorCount(const std::string& file, const ScenarioCheck& check) {
  std::printf("%s: %zu error%s\n", printable(file).c_str(), check.errors.size(),
              check.errors.size() == 1 ? "" : "s");
}

// Each file is reported, whatever happens to the others; exit 2 if any failed.
int checkFiles(const std::vector<std::string>& inputs, const std::optional<std::filesystem::path>& units_dir) {
  int status = kExitPass;
  // A folder stands for its *.json files, as for `run`.
  std::vector<std::string> files;
  for (const auto& input : inputs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(input, ec)) {
      files.push_back(input);
      continue;
    }
    const auto found = expandScenarioInputs({input});
    if (!found) {
      std::printf("  error: %s\n", printable(found.error().str()).c_str());
      status = kExitBadInput;
      continue;
    }
    for (const auto& f : *found) files.push_back(f.string());
  }
  for (const auto& file : files) {
    ScenarioCheck check;
    try {
      check = loadScenarioFile(file, units_dir, packagedUnitsFromImage(ImageUse::cached_only));
    } catch (const std::exception& e) {  // loadScenarioFile reports, not throws; in case
      check.errors.push_back(Error{file, std::string("could not be checked: ") + e.what()});
    }
    if (check.ok()) {
      std::printf("%s: OK (%zu services", printable(file).c_str(), check.scenario->services.size());
      if (!check.warnings.empty()) std::printf(", %zu warnings", check.warnings.size());
      std::printf(")\n");
    } else {
      printErrorCount(file, check);
      // 2 for a file at fault wins over 3 for one whose packaged unit could not be read.
      if (status != kExitBadInput) status = exitStatusFor(check.errors);
    }
    printDiagnostics(check);
  }
  return status;
}

// A unit from real files: what goes into the guest, and where each setting comes from.
void printUnitFiles(const PlannedUnit& u) {
  std::printf("  files, applied in this order:\n");
  for (const auto& f : u.files.files)
    std::printf("    %s  (from %s)\n", printable(f.guest_path).c_str(), printable(f.source).c_str());
  std::printf("  effective settings:\n");
  for (const auto& o : u.files.effective)
    std::printf("    %s=%s  (%s)\n", printable(o.directive).c_str(), printable(o.value).c_str(),
                printable(o.where).c_str());
  for (const auto& o : u.files.overridden)
    std::printf("    overridden: %s=%s  (%s)\n", printable(o.directive).c_str(), printable(o.value).c_str(),
                printable(o.where).c_str());
  for (const auto& o : u.files.neutralized)
    std::printf("    replaced by the harness drop-in: %s=%s  (%s)\n", printable(o.directive).c_str(),
                printable(o.value).c_str(), printable(o.where).c_str());
  for (const auto& o : u.files.passed_through)
    std::printf("    left to systemd: %s=%s  (%s)\n", printable(o.directive).c_str(), printable(o.value).c_str(),
                printable(o.where).c_str());
  for (const auto& o : u.files.quadlet)
    std::printf("    left to Quadlet and Podman: %s=%s  (%s)\n", printable(o.directive).c_str(),
                printable(o.value).c_str(), printable(o.where).c_str());
  for (const auto& d : u.files.hard_dependencies)
    std::printf("    hard dependency %s: a stand-in is written if the guest lacks it\n", printable(d).c_str());
}

// The load drivers and the probes, as the guest will run them.
void printDrivesAndProbes(const GuestPlan& plan) {
  if (!plan.drives.empty()) std::printf("load drivers (transient units, started during the pressure):\n");
  for (const auto& d : plan.drives)
    std::printf("  # %s %s: %s\n  %s\n", printable(d.unit).c_str(),
                d.start_after_sec > 0 ? ("at +" + formatDuration(Seconds(d.start_after_sec))).c_str()
                                      : "as the pressure begins",
                printable(d.why).c_str(), printable(shellLine(d.exec_start)).c_str());
  if (!plan.probes.empty()) std::printf("probes (from the units' start to the end; every attempt recorded):\n");
  for (const auto& p : plan.probes)
    std::printf("  %s: %s every %s, timeout %s%s\n", printable(p.name).c_str(), printable(p.asks()).c_str(),
                formatDuration(Seconds(p.interval_sec)).c_str(), formatDuration(Seconds(p.timeout_sec)).c_str(),
                p.unit.empty() ? "" : (", watches " + printable(p.unit)).c_str());
  if (!plan.drives.empty() || !plan.probes.empty()) std::printf("\n");
}

int printPlan(const std::string& file, bool as_json, const std::optional<std::filesystem::path>& units_dir) {
  const ScenarioCheck check = loadScenarioFile(file, units_dir, packagedUnitsFromImage(ImageUse::cached_only));
  if (!check.ok()) {
    printErrorCount(file, check);
    printDiagnostics(check);
    return exitStatusFor(check.errors);
  }
  const Scenario& s = *check.scenario;
  auto plan = makeGuestPlan(s);
  if (!plan) {
    std::printf("  error: %s\n", printable(plan.error().str()).c_str());
    return kExitBadInput;
  }
  if (as_json) {
    std::printf("%s\n", nlohmann::json(*plan).dump(2).c_str());
    return kExitPass;
  }
  std::printf("scenario %s: %s\n\n", printable(s.name).c_str(), printable(s.description).c_str());
  std::printf("guest: %s, memory %s, swap %s%s, %u cpus\n\n", printable(s.guest.release).c_str(),
              formatSize(s.guest.memory_bytes).c_str(), formatSize(s.guest.swap_bytes).c_str(),
              s.guest.swap_kind == kSwapZram ? " (zram: compressed, in the guest's memory; set up by the agent first)" : "",
              s.guest.cpus);
  std::printf("memory budget:\n%s", computeBudget(s).table().c_str());
  for (const auto& svc : s.services)
    if (svc.runsOwnCommand())
      std::printf("  %s runs its own program: its memory is the program's, not in the budget\n",
                  printable(svc.name).c_str());
  std::printf("\n");
  std::printf("units (started in this order):\n");
  for (const auto& u : plan->units) {
    std::printf("  # %s: %s\n", printable(u.unit).c_str(), printable(u.why).c_str());
    // The user's image is loaded once, before any unit (the payload's path in the guest).
    if (!u.container.archive.empty())
      std::printf("  podman load --input %s   # %s, from the payload\n",
                  shellQuote(printable(u.container.archive)).c_str(), printable(u.container.image).c_str());
    std::printf("  %s\n", printable(u.systemd_run).c_str());
    if (u.installed()) printUnitFiles(u);
    std::printf("\n");
  }
  printDrivesAndProbes(*plan);
  if (plan->oomd) {
    std::printf("systemd-oomd: started before the units, with oomd.conf.d/oomharness.conf:\n");
    for (const auto& line : splitLines(plan->oomd_conf)) std::printf("  %s\n", printable(std::string(line)).c_str());
  }
  std::printf("run: time limit %s; ends early after %u decisive kill%s and %s quiet%s\n",
              formatDuration(Seconds(plan->time_limit_sec)).c_str(), plan->decisive_kills,
              plan->decisive_kills == 1 ? "" : "s", formatDuration(Seconds(plan->settle_sec)).c_str(),
              plan->decisive_kills == 0 ? " (0: runs to the time limit)" : "");
  if (plan->settle_sec > s.settle_sec)
    std::printf("     (settle raised from %s to cover the expectations' windows: RestartSec + restart_grace, "
                "restarts_within, recovers_within)\n",
                formatDuration(Seconds(s.settle_sec)).c_str());
  if (!check.warnings.empty()) {
    std::printf("\n");
    printDiagnostics(check);
  }
  return kExitPass;
}

// Re-judges a recorded timeline (observer JSON lines) against a scenario, offline. A
// timeline recorded with another plan is refused unless `rejudge` (checks/binding.hpp).
int evaluateRecorded(const std::string& file, const std::string& timeline_file, const std::string& out_dir,
                     const std::optional<std::filesystem::path>& units_dir, bool rejudge, bool replace) {
  // Before anything is read: a run's result.json holds what no timeline gives back
  // (its start time, accelerator, boot figures, the verdict it had).
  if (const std::string held = out_dir.empty() ? "" : runFileIn(out_dir); !held.empty() && !replace) {
    std::printf("error: %s: --out: expected a folder without a run in it; it has %s, which this would replace "
                "(choose another folder, or pass --replace)\n",
                printable(out_dir).c_str(), held.c_str());
    return kExitBadInput;
  }
  // The file's own mistakes first, with no image read (as `run` does).
  ScenarioCheck check = loadScenarioFile(file, units_dir);
  const auto refused = [&] {
    printErrorCount(file, check);
    printDiagnostics(check);
    return exitStatusFor(check.errors);
  };
  if (!check.ok()) return refused();
  auto recorded = readTimelineFile(timeline_file);
  if (!recorded) {
    std::printf("error: %s\n", printable(recorded.error().str()).c_str());
    return exitStatusFor(recorded.error());
  }
  // A packaged unit is the one of the image the timeline ran in, whose release may be
  // another than the scenario's (`run --release`); "" (not a release a guest runs): the scenario's.
  if (readsPackagedUnits(*check.scenario)) {
    check = loadScenarioFile(file, units_dir,
                             packagedUnitsFromImage(ImageUse::cached_only,
                                                    releaseOfOsRelease(recorded->timeline.guest.os_release)));
    if (!check.ok()) return refused();
  }
  RunReport report;
  report.scenario = *check.scenario;
  if (auto plan = makeGuestPlan(report.scenario)) report.plan = *plan;
  report.timeline = std::move(recorded->timeline);
  if (const PlanBinding binding = bindTimeline(report.plan, report.timeline); !binding.bound() && !rejudge) {
    std::printf("error: %s was not recorded with the plan %s gives: %zu difference(s), found by %s\n",
                printable(timeline_file).c_str(), printable(file).c_str(), binding.differences.size(),
                printable(binding.by).c_str());
    for (const auto& d : binding.differences) std::printf("  %s\n", printable(d.str()).c_str());
    std::printf("judge it against this scenario anyway with --rejudge (the verdict then says so)\n");
    return kExitBadInput;
  }
  const std::size_t ignored = recorded->lines_ignored;
  report.verdict = evaluate(report.scenario, report.timeline);
  report.exit_status = exitStatusFor(report.verdict.verdict);
  std::printf("%s", summarize(report).c_str());
  if (ignored) std::printf("(%zu timeline line(s) not understood and ignored)\n", ignored);
  std::fflush(stdout);
  if (!out_dir.empty())
    for (const auto& failure : writeRunReports(out_dir, report))
      std::fprintf(stderr, "oomharness: report not written: %s\n", printable(failure).c_str());
  return report.exit_status;
}

}  // namespace

void addScenarioCommands(CLI::App& app, int& status) {
  auto* check = app.add_subcommand("check", "Validate scenario files (exit 0 when all are valid, 2 otherwise)");
  auto files = std::make_shared<std::vector<std::string>>();
  auto units = std::make_shared<std::optional<std::filesystem::path>>();
  const std::string units_help = "Take each service's unit file and drop-ins from DIR (laid out as /etc/systemd/system)";
  check->add_option("files", *files, "Scenario files, or folders of them")->required();
  check->add_option("--units", *units, units_help);
  check->callback([files, units, &status] { status = checkFiles(*files, *units); });

  auto* plan = app.add_subcommand("plan", "Print the memory budget and the systemd-run line of each unit, without booting");
  auto file = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  plan->add_option("file", *file, "Scenario file")->required();
  plan->add_flag("--json", *as_json, "Print the GuestPlan handed to the guest, as JSON");
  plan->add_option("--units", *units, units_help);
  plan->callback([file, as_json, units, &status] { status = printPlan(*file, *as_json, *units); });

  auto* eval = app.add_subcommand("evaluate", "Judge a recorded timeline (JSON lines from the observer) against a scenario, without booting");
  auto scenario = std::make_shared<std::string>();
  auto timeline = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  eval->add_option("scenario", *scenario, "Scenario file")->required();
  eval->add_option("timeline", *timeline,
                   "Timeline file (.jsonl): a regular file of at most " + formatSize(kMaxTimelineFileBytes))
      ->required();
  eval->add_option("--out", *out, "Also write result.json, junit.xml and summary.txt here");
  // The unit tree the run took its files from: the host compares the settings the guest
  // read back with the plan, so a run is judged against the files it ran with.
  auto eval_units = std::make_shared<std::optional<std::filesystem::path>>();
  eval->add_option("--units", *eval_units, units_help + ", as the recorded run did");
  auto rejudge = std::make_shared<bool>(false);
  auto replace = std::make_shared<bool>(false);
  eval->add_flag("--replace", *replace, "Write --out over a folder that already holds a run (its result.json is replaced)");
  eval->add_flag("--rejudge", *rejudge,
                 "Judge a timeline recorded with another plan (other settings, guest, loads or oomd) against this "
                 "scenario anyway; the verdict says it was re-judged and lists the differences");
  eval->callback([scenario, timeline, out, eval_units, rejudge, replace, &status] {
    status = evaluateRecorded(*scenario, *timeline, *out, *eval_units, *rejudge, *replace);
  });
}

}  // namespace oom
