#pragma once
// What the host hands the guest: the exact units to start and when to stop.
// The guest never reads scenario files; it executes a GuestPlan. Written as
// plan.json onto the payload disk by the host, read by oomharness-guest.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "systemd/directives.hpp"
#include "systemd/service_files.hpp"

namespace oom {

// A unit whose load runs in a container (scenario.hpp ContainerSpec): what the agent
// needs besides the podman command in exec_start, to prepare the image, verify the
// container's settings and find its containers. Absent in older plan.json: none.
struct PlannedContainer {
  std::string image;                    // "" : no container; the built-in: guest::kContainerImage
  // The user's image: the docker-archive in the payload the agent loads it from
  // (podman load), its path in the guest; "": the built-in image, imported.
  std::string archive;
  std::string cgroups;                  // --cgroups: "enabled" or "split"
  std::uint64_t memory_bytes = 0;       // --memory; 0: none
  std::uint64_t memory_swap_bytes = 0;  // --memory-swap; 0: Podman's default
  std::string oom_score_adj;            // --oom-score-adj as given; "": the runtime's
  std::string restart;                  // --restart
  // The Quadlet file it comes from, as the scenario names it; "": the plan's podman run.
  // Quadlet runs podman detached (-d): conmon is the unit's main process, podman gone.
  std::string quadlet;
  // --network and its --publish list ("127.0.0.1:8080:8080"); "" in a plan recorded
  // before either was planned (always none then).
  std::string network;
  std::vector<std::string> publish;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PlannedContainer, image, archive, cgroups, memory_bytes, memory_swap_bytes,
                                                oom_score_adj, restart, quadlet, network, publish)

struct PlannedUnit {
  std::string service;                  // scenario name of the service, e.g. "report-worker"
  std::string unit;                     // "report-worker.service"
  std::string why;                      // the scenario's reason for these settings
  std::vector<std::string> exec_start;  // argv; argv[0] is an absolute path in the guest (in a Quadlet unit's container: its Exec=); empty: the unit file's own
  std::vector<UnitProperty> properties; // systemd directives, in scenario order (Type included)
  std::string systemd_run;              // the systemd-run line that reproduces this unit by hand
  std::uint64_t baseline_bytes = 0;     // memory the load holds once ready (for the budget)
  // Processes the stressor runs (its --processes, and its main process with
  // --supervisor), all of which must carry the
  // unit's OOMScoreAdjust before pressure. Absent in older plan.json: 1. 0: the
  // service runs its own program, with as many processes as it starts (at least one).
  unsigned processes = 1;
  // A unit from real files (files.files not empty): the guest installs them, the
  // harness drop-in last, reloads systemd and starts the unit by name. `properties`
  // are then the merged values systemd must show. Empty: a transient unit.
  ServiceFiles files;
  PlannedContainer container;

  bool installed() const { return !files.files.empty(); }
  bool inContainer() const { return !container.image.empty(); }
  bool fromQuadlet() const { return !container.quadlet.empty(); }
};
// By hand: "container" is written only for a unit that runs one (plans without it read as none).
void to_json(nlohmann::json& j, const PlannedUnit& u);
void from_json(const nlohmann::json& j, PlannedUnit& u);

// A load driver: started as a transient unit once pressure is under way.
struct PlannedDrive {
  std::string name;                     // "traffic"
  std::string unit;                     // "traffic.service"
  std::string why;
  std::vector<std::string> exec_start;  // argv; argv[0] absolute in the guest
  double start_after_sec = 0;           // after the pressure phase begins
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PlannedDrive, name, unit, why, exec_start, start_after_sec)

// The VM the host boots for the plan. The guest does not act on it (qemu already gave
// it this memory and these cpus): it is part of what the run tested, echoed in the
// plan record (plan/fingerprint.hpp) so a timeline names the guest it was recorded in.
struct PlannedGuest {
  std::uint64_t memory_bytes = 0;
  unsigned cpus = 0;
  std::uint64_t swap_bytes = 0;
  std::string swap_kind;  // "disk" or "zram" (the scenario's guest.swap_kind)
  std::vector<std::string> packages;  // guest.packages, sorted: the image they were added to
  std::string payload_digest;         // the scenario's payload folder (oom/payload_tree.hpp); "" if none
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PlannedGuest, memory_bytes, cpus, swap_bytes, swap_kind, packages,
                                                payload_digest)

// A probe the guest runs from the units' start to the end (scenario.hpp ProbeSpec),
// with the unit it watches. Absent in older plan.json: none.
struct PlannedProbe {
  std::string name, why;
  std::string service;               // "" when it watches no one service
  std::string unit;                  // "web.service", or ""
  std::string kind;                  // kProbeHttp, kProbeTcp or kProbeCommand
  std::string target;                // http: the URL; tcp: "HOST:PORT"; command: ""
  std::vector<std::string> command;  // command probes: argv
  int status = 200;                  // http
  std::optional<std::string> output; // a substring the answer must contain
  double interval_sec = 1, timeout_sec = 1;

  // What one attempt asks, for people: "http http://127.0.0.1:8080/health", "command redis-cli ping".
  std::string asks() const;
};
// By hand: nlohmann 3.11 has no std::optional (output is left out when unset).
void to_json(nlohmann::json& j, const PlannedProbe& p);
void from_json(const nlohmann::json& j, PlannedProbe& p);

struct GuestPlan {
  int version = 1;
  std::string scenario;                 // scenario name, for logs
  std::vector<PlannedUnit> units;       // started in this order
  std::vector<PlannedDrive> drives;     // started during the pressure, by start_after
  // Hard end of the observation, from the first unit start: the scenario's time_limit,
  // which the planner always writes (its default is the scenario's; the guest refuses 0).
  double time_limit_sec = 0;
  double settle_sec = 10;               // quiet time required after the decisive events
  double sample_interval_sec = 0.5;     // cgroup/proc sampling period
  // The run may end early once this many distinct kernel OOM kills were seen and
  // the units have been quiet (no state change) for settle_sec. 0: run to the limit.
  unsigned decisive_kills = 0;
  // systemd-oomd: started before the units, with this oomd.conf drop-in, when set.
  bool oomd = false;
  std::string oomd_conf;
  int swappiness = -1;  // vm.swappiness to set before the units; -1: leave the kernel's
  std::uint64_t zram_bytes = 0;  // a zram swap device of this size, set up first; 0: none
  PlannedGuest guest;
  std::vector<PlannedProbe> probes;  // started once every unit is, in scenario order
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GuestPlan, version, scenario, units, time_limit_sec,
                                                settle_sec, sample_interval_sec, decisive_kills, oomd, oomd_conf,
                                                swappiness, zram_bytes, guest, probes, drives)

}  // namespace oom
