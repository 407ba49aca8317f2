// `oomharness capture`: this host's OOM policy, read-only (docs/capture.md). The
// work is the capture stage's, shared with `oomharness-guest capture`.
#include <cstdio>
#include <memory>

#include "capture/command.hpp"
#include "commands.hpp"
#include "run/exit_status.hpp"

namespace oom {

static_assert(int{kCaptureOk} == int{kExitPass} && int{kCaptureBadInput} == int{kExitBadInput} &&
                  int{kCaptureNoHost} == int{kExitInconclusive},
              "capture's exit statuses are oomharness's");

void addCaptureCommand(CLI::App& app, int& status) {
  auto options = std::make_shared<CaptureOptions>();
  auto* cmd = app.add_subcommand(
      "capture",
      "Read this host's OOM policy (nothing is changed): each running service's effective OOM settings and memory "
      "(systemd over D-Bus), every process's oom_score and oom_score_adj, the likely victim order, recent OOM "
      "kills (kernel log, journal). Exit 0, 2 bad option, 3 not a systemd host");
  cmd->add_option("--scenario", options->scenario_file,
                  "Write a scenario skeleton of the running services to FILE (\"-\": stdout, instead of the table)");
  cmd->add_option("--units", options->units_dir,
                  "Copy their unit files and drop-ins into DIR (new or empty), laid out as /etc/systemd/system");
  cmd->add_flag("--json", options->json, "Print the capture as JSON (oomharness-capture/1) instead of the table");
  cmd->add_flag("--all", options->all, "Include loaded services that are not running");
  cmd->add_option("--top", options->top, "Victim rows in the table (0: all)")->default_val(20)->check(CLI::Range(0, 100000));
  cmd->callback([options, &status] { status = runCapture(*options, stdout, stderr); });
}

}  // namespace oom
