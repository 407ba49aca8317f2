#pragma once
// Scenario -> GuestPlan: the exact transient units the guest runner starts, the
// oomstress command line of each, and the systemd-run line that reproduces it.
#include <string>
#include <string_view>
#include <vector>

#include "oom/expected.hpp"
#include "oom/guest_paths.hpp"
#include "plan/guest_plan.hpp"
#include "scenario/scenario.hpp"

namespace oom {

struct PlanOptions {
  std::string stressor_path = guest::kStressorPath;
  double sample_interval_sec = 0.5;
  double report_interval_sec = 1.0;   // oomstress --report-interval
};

Expected<GuestPlan> makeGuestPlan(const Scenario& scenario, const PlanOptions& options = {});

// oomstress argv (argv[0] included) for one service's load.
std::vector<std::string> stressorCommand(const ServiceSpec& service, const PlanOptions& options);

// Kills the verdict needs before the run may end early (chosen victims, not group
// members); 0: run to the time limit.
unsigned decisiveKills(const Scenario& scenario);

// settle, raised so a restart expected by the checks (RestartSec + restart_grace)
// fits in the quiet period that ends the run.
double effectiveSettleSec(const Scenario& scenario);

// `podman run` argv for a service whose load runs in a container: its container's
// settings, the built-in image, and the oomstress command inside it.
std::vector<std::string> containerCommand(const ServiceSpec& service, const PlanOptions& options);
// What the container itself runs: oomstress at its path in the built-in image, with the
// load (the tail of containerCommand, and a Quadlet unit's Exec=).
std::vector<std::string> containerStressorCommand(const ServiceSpec& service, const PlanOptions& options);

std::string systemdRunLine(const PlannedUnit& unit);

}  // namespace oom
