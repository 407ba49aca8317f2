#include "run/run_scenario.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "checks/verdict.hpp"
#include "run/exit_status.hpp"
#include "oom/files.hpp"
#include "oom/releases.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "oom/utc.hpp"
#include "report/report.hpp"
#include "scenario/budget.hpp"
#include "run/packaged_units.hpp"
#include "run/progress.hpp"
#include "scenario/parse.hpp"
#include "plan/planner.hpp"
#include "oom/guest_paths.hpp"
#include "vm/boot.hpp"
#include "vm/process.hpp"

namespace fs = std::filesystem;

namespace oom {
namespace {

// Under TCG the guest boots in about 7 s and the units ramp slowly; the watchdog
// must not cut a healthy run short, but must end a hung one.
constexpr double kDefaultBootAllowanceSec = 120;

}  // namespace

Expected<fs::path> createResultsDirectory(const fs::path& root, const std::string& scenario,
                                          const std::string& release, const std::string& utc) {
  return createUniqueDirectory(root, utc + "-" + scenario + "-" + release, "the run's folder");
}

std::string runFileIn(const fs::path& dir) {
  std::error_code ec;
  for (const char* file : {kRunPlanFile, kRunResultFile})
    if (fs::exists(fs::symlink_status(dir / file, ec))) return file;
  return "";
}

Expected<fs::path> useRunDirectory(const fs::path& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec))
    return fail(run_dir.string(), "--run-dir: expected an existing folder; it is not one");
  if (const std::string file = runFileIn(run_dir); !file.empty())
    return fail(run_dir.string(), "--run-dir: expected a folder without a run in it; it has " + file);
  return run_dir;
}

namespace {

// The verdict is reached: say it before anything else can fail, then write the reports.
int finishRun(RunReport& report, const fs::path& dir, std::chrono::steady_clock::time_point wall_start) {
  report.wall_sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::printf("\n%s", summarize(report).c_str());
  std::printf("\nverdict: %s (exit %d) in %.0fs; %s %.1fs on %s; details in %s\n",
              toString(report.verdict.verdict), report.exit_status, report.wall_sec,
              report.vm.start == "restored" ? "restore" : "boot", report.vm.boot_sec,
              report.vm.accelerator.empty() ? "no guest" : report.vm.accelerator.c_str(), dir.c_str());
  std::fflush(stdout);
  for (const auto& failure : writeRunReports(dir, report))
    std::fprintf(stderr, "oomharness: report not written: %s\n", failure.c_str());
  return report.exit_status;
}

}  // namespace

int runScenario(const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  // From here on SIGINT/SIGTERM stop whichever stage runs, cleanly: qemu and host
  // tools stopped, temporary files removed, result.json written, exit 130.
  installInterruptHandlers();
  // The file's own mistakes first, with nothing built; then a packaged unit file is read
  // from the guest image, built here if it is missing.
  ScenarioCheck check = loadScenarioFile(options.scenario, options.units_dir);
  if (check.ok() && readsPackagedUnits(*check.scenario))
    check = loadScenarioFile(options.scenario, options.units_dir,
                             packagedUnitsFromImage(ImageUse::build, options.release));
  for (const auto& w : check.warnings) std::fprintf(stderr, "warning: %s\n", w.str().c_str());
  if (!check.ok()) {
    for (const auto& e : check.errors) std::fprintf(stderr, "error: %s\n", e.str().c_str());
    const int status = exitStatusFor(check.errors);
    std::fprintf(stderr, "oomharness: %s %s; nothing was started\n", options.scenario.c_str(),
                 status == kExitBadInput ? "is not a valid scenario" : "could not be checked");
    return status;
  }
  Scenario scenario = *check.scenario;
  if (!options.release.empty()) {
    if (!isSupportedRelease(options.release)) {
      std::fprintf(stderr, "oomharness: --release: expected one of %s; got '%s'\n",
                   supportedReleasesText().c_str(), printable(options.release).c_str());
      return kExitBadInput;
    }
    scenario.guest.release = options.release;
    // The guest's own overhead differs by release: check the budget again.
    if (const Budget budget = computeBudget(scenario); !budget.fits()) {
      std::fprintf(stderr, "error: %s: --release %s: %s\n", options.scenario.c_str(),
                   options.release.c_str(), budget.explain().c_str());
      return kExitBadInput;
    }
  }
  auto plan = makeGuestPlan(scenario);
  if (!plan) {
    std::fprintf(stderr, "error: %s\n", plan.error().str().c_str());
    return kExitBadInput;
  }

  const auto created = !options.run_dir.empty()
                           ? useRunDirectory(options.run_dir)
                           : createResultsDirectory(options.results_root, scenario.name, scenario.guest.release,
                                                    utcNow(kCompactUtc));
  if (!created) {
    std::fprintf(stderr, "oomharness: %s\n", created.error().str().c_str());
    return exitStatusFor(created.error());
  }
  const fs::path dir = *created;
  if (auto written = writeFileAtomically(dir / kRunPlanFile, nlohmann::json(*plan).dump(2) + "\n"); !written) {
    std::fprintf(stderr, "oomharness: %s\n", written.error().str().c_str());
    return exitStatusFor(written.error());
  }
  std::printf("oomharness: %s: %s\n  results in %s\n", scenario.name.c_str(),
              scenario.description.c_str(), dir.c_str());

  RunReport report;
  report.scenario = scenario;
  report.plan = *plan;
  report.started_at = utcNow();

  ProgressPrinter progress(stdout, *plan);
  BootRequest request;
  request.release = scenario.guest.release;
  request.accelerator = options.accelerator;
  request.restore = !options.cold_boot;
  request.memory_bytes = scenario.guest.memory_bytes;
  request.cpus = scenario.guest.cpus;
  // zram lives in the guest's memory: no swap disk (the guest agent sets it up).
  request.swap_bytes = scenario.guest.swap_kind == kSwapDisk ? scenario.guest.swap_bytes : 0;
  request.packages = scenario.guest.packages;
  if (!scenario.payload_dir.empty()) {
    request.payload_dir = scenario.payload_dir;
    const fs::path folder = fs::path(scenario.source).parent_path();
    request.payload_confined_to = folder.empty() ? fs::path(".") : folder;
  }
  request.timeout = Seconds(plan->time_limit_sec +
                            options.boot_allowance_sec.value_or(kDefaultBootAllowanceSec));
  request.payload_files = {{dir / kRunPlanFile, guest::kPlanPayloadName}};
  request.command = {guest::kAgentPath, "--plan", guest::kPlanPath};
  request.run_dir = dir;
  request.on_result_line = [&](const std::string& line) {
    applyStreamLine(report.timeline, line);
    if (options.live_progress) progress.onRecord(report.timeline);
  };
  request.on_output_line = [](const std::string& line) { spdlog::debug("guest: {}", line); };

  auto vm = bootGuest(request);
  if (!vm) {
    // No guest ran: a bad request (2), the host could not set up the guest (3), or
    // a signal stopped the setup (130). The last two still leave a result.json.
    std::fprintf(stderr, "oomharness: %s\n", vm.error().str().c_str());
    if (vm.error().kind == ErrorKind::input) return exitStatusFor(vm.error());
    report.verdict = evaluate(scenario, report.timeline);
    report.verdict.verdict = VerdictKind::inconclusive;
    report.verdict.reason = (vm.error().kind == ErrorKind::interrupted ? "interrupted before the guest started: "
                                                                        : "the guest could not be set up: ") +
                            vm.error().str();
    report.exit_status = exitStatusFor(vm.error());
    return finishRun(report, dir, wall_start);
  }
  report.vm.accelerator = vm->accelerator;
  report.vm.qemu_version = vm->qemu_version;
  report.vm.image = vm->image.dir.string();
  report.vm.image_recipe = vm->image.recipeName();
  report.vm.image_built_at = vm->image.built_at;
  report.vm.image_build_sec = vm->image.build_sec;
  report.vm.packages = vm->image.packages;
  report.vm.start = vm->guest_start;
  report.vm.start_note = vm->guest_start_note;
  report.vm.boot_sec = vm->boot_to_command_sec;
  report.vm.run_sec = vm->total_sec;
  report.vm.timed_out = vm->ending == BootResult::Ending::timed_out;
  report.vm.host_memory_reserved_bytes = vm->host_memory_needed_bytes;
  report.vm.host_memory_available_bytes = vm->host_memory_available_bytes;
  report.vm.swap_reserved_bytes = vm->swap_reserved_bytes;
  for (const auto& c : vm->channels) {
    report.vm.output_lines_cut += c.lines_cut;
    report.vm.output_bytes_dropped += c.bytes_over_cap + (c.bytes_read - c.bytes_over_cap - c.bytes_kept);
  }
  report.vm.output_losses = vm->outputLosses();  // the summary says it
  report.vm.earlier_boot_failure = vm->earlier_boot_failure;

  report.verdict = evaluate(scenario, report.timeline);
  report.exit_status = exitStatusFor(report.verdict.verdict);
  if (vm->ending != BootResult::Ending::completed) {
    // A cancelled job (130) is not a broken guest (3).
    report.exit_status = vm->ending == BootResult::Ending::interrupted ? kExitInterrupted : kExitInconclusive;
    report.verdict.verdict = VerdictKind::inconclusive;
    report.verdict.reason = std::string("the guest did not complete: ") + vm->reason;
    std::fprintf(stderr, "oomharness: inconclusive: %s\nlast console lines:\n%s\n",
                 printable(vm->reason).c_str(), printableLines(vm->last_console_lines).c_str());
  } else if (vm->payload.digest != plan->guest.payload_digest) {
    // Changed between the check and the copy: the guest ran files the plan does not describe.
    report.exit_status = kExitInconclusive;
    report.verdict.verdict = VerdictKind::inconclusive;
    report.verdict.reason = "the payload folder changed after the scenario was checked (digest " +
                            plan->guest.payload_digest + " checked, " + vm->payload.digest +
                            " copied to the guest): the run tested files its plan does not describe; run it again";
  } else if (vm->resultsIncomplete()) {
    // Records were lost on the way: a kill or a restart may be missing from the timeline.
    report.exit_status = kExitInconclusive;
    report.verdict.verdict = VerdictKind::inconclusive;
    report.verdict.reason = "the guest's records were not kept in full (" + report.vm.output_losses + ")";
  }
  return finishRun(report, dir, wall_start);
}

}  // namespace oom
