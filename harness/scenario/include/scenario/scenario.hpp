#pragma once
// The scenario model: what a scenario file says, validated and typed. Built by
// parseScenario() (parse.hpp); everything downstream (plan, checks, reports)
// reads this, never the JSON. Sizes are bytes, times are seconds.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/releases.hpp"
#include "oom/units.hpp"
#include "systemd/directives.hpp"
#include "scenario/expectations.hpp"
#include "scenario/unit_sources.hpp"

namespace oom {

// guest.swap_kind: a swap disk backed by a host file, or zram in the guest's memory.
inline constexpr const char* kSwapDisk = "disk";
inline constexpr const char* kSwapZram = "zram";

struct GuestSpec {
  std::string release = kDefaultRelease;
  std::uint64_t memory_bytes = 1024ull * 1024 * 1024;
  unsigned cpus = 2;
  std::uint64_t swap_bytes = 0;
  std::string swap_kind = kSwapDisk;  // kSwapDisk or kSwapZram
  std::optional<int> swappiness;  // vm.swappiness, 0-200; unset: the guest kernel's (60)
  // Debian packages added to the guest image (its own cached image), in file order.
  std::vector<std::string> packages;
};

// One sudden allocation on top of the baseline: "200M@30s" (oom/units.hpp).
using Spike = SizeAt;

// The memory one service's stressor produces.
struct Load {
  std::uint64_t baseline_bytes = 0;   // held by the whole unit once ready (all processes)
  unsigned processes = 1;             // the processes that hold the load
  // oomstress --supervisor: a main process that holds nothing forks the `processes`
  // workers (a pre-fork server's master), so the unit runs processes + 1.
  bool supervisor = false;
  std::uint64_t rate_bytes_per_sec = 0;  // ramp rate to the baseline; 0: as fast as it can
  std::uint64_t leak_bytes_per_sec = 0;  // growth after the baseline; 0: none
  std::optional<Spike> spike;
  std::optional<double> hold_sec;     // release after holding this long; unset: hold forever
  double start_after_sec = 0;
  bool sawtooth = false;
  bool checkpoint = false;
  unsigned compress_ratio = 1;        // how much zram/zswap can shrink its pages (1: not at all)
  // oomstress --health-port: a health endpoint on 0.0.0.0:PORT that answers from the
  // moment the baseline is held (READY=1) until the process dies; 0: none.
  std::uint16_t health_port = 0;
  // Every process in the unit's cgroup: the workers, and the supervisor above them.
  unsigned processesInUnit() const { return processes + (supervisor ? 1u : 0u); }
};

// podman run's --cgroups (docs/containers.md#3): "enabled", Podman's default, puts the
// container in a scope of its own under machine.slice, outside the unit; "split", as
// Quadlet runs it, puts it in the unit's cgroup (with Delegate=yes).
inline constexpr const char* kContainerCgroupsEnabled = "enabled";
inline constexpr const char* kContainerCgroupsSplit = "split";
// The image a container runs when the scenario names none: the static oomstress alone,
// imported in the guest (no network, no registry). Any other image is the user's own,
// loaded in the guest from a docker-archive in the scenario's payload (`archive`), with
// the static oomstress mounted into it to run the load (docs/containers.md#own-image).
inline constexpr const char* kBuiltinImage = "oomstress";
// podman run's --network: none (the default here: oomstress needs none), the guest's
// own (host), or Podman's bridge with the ports `publish` names (-p).
inline constexpr const char* kContainerNetworkNone = "none";
inline constexpr const char* kContainerNetworkHost = "host";
inline constexpr const char* kContainerNetworkBridge = "bridge";

// One `publish` entry, Podman's -p [IP:]HOSTPORT:CONTAINERPORT (TCP).
struct PublishedPort {
  std::string host_ip;  // "" : every address of the guest (0.0.0.0 is read as "")
  std::uint16_t host_port = 0, container_port = 0;
  std::string text() const {
    return (host_ip.empty() ? "" : host_ip + ":") + std::to_string(host_port) + ":" + std::to_string(container_port);
  }
};
// "[IPV4:]HOSTPORT:CONTAINERPORT", ports from 1 to 65535 (a scenario's publish, a
// Quadlet file's PublishPort=); nullopt for anything else.
std::optional<PublishedPort> parsePublishedPort(std::string_view text);
inline constexpr const char* kPublishedPortForm =
    "HOSTPORT:CONTAINERPORT or IPV4:HOSTPORT:CONTAINERPORT with ports from 1 to 65535 (Podman's -p, TCP)";

// A service's workload in a container (`container`): the unit runs `podman run` with
// these settings and the service's load as the container's command. Sizes are bytes.
struct ContainerSpec {
  std::string image = kBuiltinImage;               // or a name the archive's manifest.json gives
  std::string archive;                             // the user's image's archive, as the scenario names it
  std::filesystem::path archive_in_payload;        // the same file, below the payload folder
  std::optional<std::uint64_t> memory_bytes;       // --memory; unset: no limit of the container's own
  std::optional<std::uint64_t> memory_swap_bytes;  // --memory-swap; unset: Podman's default
  std::optional<int> oom_score_adj;                // --oom-score-adj; unset: what the runtime gives
  std::string restart = "no";                      // --restart: no, on-failure, on-failure:N, always
  std::string cgroups = kContainerCgroupsEnabled;  // --cgroups
  std::string network = kContainerNetworkNone;      // --network
  std::vector<PublishedPort> publish;               // -p, on the bridge only
  // From a Quadlet file (`"quadlet": "quadlet/worker.container"`, trixie's Podman):
  // the settings above are what its [Container] section gives podman run, and the
  // unit is the one Quadlet generates from it (scenario/quadlet.hpp).
  std::string quadlet;                         // the file, as the scenario names it
  std::map<std::string, std::string> origins;  // "--memory" -> "quadlet/worker.container:7"

  bool fromQuadlet() const { return !quadlet.empty(); }
  bool ownImage() const { return image != kBuiltinImage; }
  // A Quadlet file that sets Network= or PublishPort= (else the harness gives it none).
  bool networkFromFile() const { return origins.count("--network") > 0 || origins.count("--publish") > 0; }
};

// The layers that can decide an OOM kill (`decided_by`), innermost first: a
// container's own memory limit, the unit's MemoryMax=, a slice (or any other cgroup)
// above the unit, systemd-oomd, or the kernel for the whole guest (CONSTRAINT_NONE).
inline constexpr const char* kLayerContainer = "container";
inline constexpr const char* kLayerUnit = "unit";
inline constexpr const char* kLayerSlice = "slice";
inline constexpr const char* kLayerOomd = "systemd-oomd";
inline constexpr const char* kLayerKernel = "kernel";

struct ServiceSpec {
  std::string name;                     // unit name stem: "report-worker"
  std::string why;
  // systemd directives of the directive table as they take effect, values as strings:
  // the unit files' merged settings (if any), then the scenario's inline `unit`.
  std::vector<UnitProperty> unit;
  std::vector<UnitProperty> inline_unit;  // the scenario's own `unit`, in file order
  std::optional<ServiceFiles> files;      // set when the unit comes from real unit files
  // The unit comes from unit files that were not read (a stored scenario read back
  // from result.json: the plan carries their settings): what they set is unknown here.
  bool files_unread = false;
  // The stand-in's memory. Unset: the service runs its own program, its unit's
  // ExecStart as written (a packaged program, or one from the scenario's payload).
  std::optional<Load> load = Load{};
  // Set when the load runs in a container under the unit (`podman run`).
  std::optional<ContainerSpec> container;

  bool runsOwnCommand() const { return !load.has_value(); }
  // The memory the stand-in holds once ready; 0 for a service running its own program.
  std::uint64_t baselineBytes() const { return load ? load->baseline_bytes : 0; }

  // The directive's value as written, if set.
  std::optional<std::string> directive(const std::string& name) const;
  int oomScoreAdjust() const;           // 0 when unset, as systemd
  double restartSec() const;            // RestartSec= in seconds; kDefaultRestartSec when unset
};

// One field per key of expectations.def, named after it and typed by its kind.
#define OOM_EXPECTATION_FIELD(key, kind) ExpectationValue<ExpectationKind::kind>::type key{};
#define OOM_EXPECTATION_FIELD_unit(key, kind) OOM_EXPECTATION_FIELD(key, kind)
#define OOM_EXPECTATION_FIELD_scenario(key, kind)
#define OOM_EXPECTATION_FIELD_probe(key, kind)

// What the scenario expects of one unit (`expect.units.<service>`).
struct UnitExpectation {
#define OOM_EXPECTATION(key, scope, kind, plan) OOM_EXPECTATION_FIELD_##scope(key, kind)
#include "scenario/expectations.def"
#undef OOM_EXPECTATION

  bool names(std::string_view key) const;           // the file sets this unit-scope key
  bool asks(std::string_view key) const;            // ... to anything but false
  std::optional<double> seconds(std::string_view key) const;  // a duration key's value
  bool namesAnExpectation() const;
};
#undef OOM_EXPECTATION_FIELD_unit
#undef OOM_EXPECTATION_FIELD_probe
#define OOM_EXPECTATION_FIELD_unit(key, kind)
#define OOM_EXPECTATION_FIELD_probe(key, kind) OOM_EXPECTATION_FIELD(key, kind)

// What the scenario expects its clients to see through one probe (`expect.probes.<probe>`).
struct ProbeExpectation {
#define OOM_EXPECTATION(key, scope, kind, plan) OOM_EXPECTATION_FIELD_##scope(key, kind)
#include "scenario/expectations.def"
#undef OOM_EXPECTATION

  bool names(std::string_view key) const;           // the file sets this probe-scope key
  std::optional<double> seconds(std::string_view key) const;  // a duration key's value
  bool namesAnExpectation() const;
};
#undef OOM_EXPECTATION_FIELD_probe
#undef OOM_EXPECTATION_FIELD_scenario
#define OOM_EXPECTATION_FIELD_probe(key, kind)
#define OOM_EXPECTATION_FIELD_scenario(key, kind) OOM_EXPECTATION_FIELD(key, kind)

struct Expectations {
#define OOM_EXPECTATION(key, scope, kind, plan) OOM_EXPECTATION_FIELD_##scope(key, kind)
#include "scenario/expectations.def"
#undef OOM_EXPECTATION
  std::vector<std::pair<std::string, UnitExpectation>> units;  // in file order
  std::vector<std::pair<std::string, ProbeExpectation>> probes;  // by probe name, in file order
  double restart_grace_sec = 10;        // clean_restart: active again within RestartSec + this
  double half_alive_grace_sec = 3;      // half_alive: how long a unit may run short of processes
  // A kernel OOM kill outside the scenario's units (journald, sshd, ...) fails the
  // `collateral` check unless the scenario allows it.
  bool allow_collateral = false;

  bool names(std::string_view key) const;  // the file sets this scenario-scope key
  // True when the file names at least one expectation (a check that can fail);
  // the grace periods and allow_collateral only qualify expectations.
  bool namesAnExpectation() const;

  const UnitExpectation* unit(const std::string& service) const;
};
#undef OOM_EXPECTATION_FIELD_unit
#undef OOM_EXPECTATION_FIELD_scenario
#undef OOM_EXPECTATION_FIELD_probe
#undef OOM_EXPECTATION_FIELD

// A load driver (`drive`): a client command started once pressure is under way, in
// a transient unit of its own (NAME.service), so real services grow as traffic makes
// them (redis-benchmark, curl in a loop, a payload script).
struct DriveSpec {
  std::string name;                  // unit name stem, unique among services and drivers
  std::string why;
  std::vector<std::string> command;  // argv; argv[0] an absolute path in the guest
  double start_after_sec = 0;        // after the pressure phase begins
};

// systemd-oomd in the guest: the scenario's "systemd_oomd" object, whose presence
// enables it. Unset values keep oomd's defaults (docs/kernel-and-systemd.md#systemd-oomd).
struct OomdSpec {
  std::optional<std::string> SwapUsedLimit;                     // "90%"
  std::optional<std::string> DefaultMemoryPressureLimit;        // "60%"
  std::optional<std::string> DefaultMemoryPressureDurationSec;  // "30s"
  // The oomd.conf drop-in the guest writes: "[OOM]\nSwapUsedLimit=...\n".
  std::string confText() const;
};

// probes[].kind: how a probe asks the service (one of `http`, `tcp`, `command`).
inline constexpr const char* kProbeHttp = "http";
inline constexpr const char* kProbeTcp = "tcp";
inline constexpr const char* kProbeCommand = "command";

// A client's view of a service (`probes`): run in the guest through the whole run,
// every attempt recorded (timeline.hpp ProbeAttempt) with its latency and result.
struct ProbeSpec {
  std::string name, why;
  std::string service;               // a service's name; "" when it watches no one service
  std::string kind;                  // kProbeHttp, kProbeTcp or kProbeCommand
  std::string target;                // http: the URL; tcp: "HOST:PORT"; command: ""
  std::vector<std::string> command;  // command probes: argv
  int status = 200;                  // http: the status that counts as up
  std::optional<std::string> output; // a substring the answer must contain (http body; command stdout+stderr)
  double interval_sec = 1, timeout_sec = 1;
};

struct Scenario {
  std::string source;                   // file name as given, for messages
  std::string name;
  std::string description;
  GuestSpec guest;
  double time_limit_sec = 120;
  double settle_sec = 10;
  std::vector<ServiceSpec> services;
  std::vector<DriveSpec> drives;        // `drive`, in file order
  std::optional<OomdSpec> oomd;         // systemd-oomd enabled in the guest when set
  // `payload`: the scenario's folder of its own files, below the scenario's folder
  // (joined to it); the guest sees it read-only at guest::kPayloadDir. Empty: none.
  std::filesystem::path payload_dir;
  std::string payload_digest;           // oom/payload_tree.hpp's, when it was read ("" when not)
  std::vector<ProbeSpec> probes;        // in file order
  Expectations expect;
  nlohmann::ordered_json document;      // the file as parsed (for result.json)

  const ServiceSpec* service(const std::string& name) const;
  // "report-worker.service" -> the service named "report-worker", or nullptr.
  const ServiceSpec* serviceForUnit(const std::string& unit) const;
  // "traffic.service" -> the driver named "traffic", or nullptr.
  const DriveSpec* driveForUnit(const std::string& unit) const;
  const ProbeSpec* probe(const std::string& name) const;  // nullptr when it has none of that name
  // One of the scenario's own units: a service's or a driver's.
  bool ownsUnit(const std::string& unit) const { return serviceForUnit(unit) || driveForUnit(unit); }
};

constexpr const char* kUnitSuffix = ".service";
inline std::string unitName(const std::string& service) { return service + kUnitSuffix; }

}  // namespace oom
