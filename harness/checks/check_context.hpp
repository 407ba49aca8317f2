#pragma once
// Shared by the check files: what every check needs, and the check functions.
#include <optional>
#include <string>
#include <vector>

#include "checks/registry.hpp"
#include "checks/timeline_index.hpp"
#include "checks/verdict.hpp"

namespace oom {

// Evidence that the scenario's pressure happened after the `pressure` phase
// (pressure.cpp). The baseline ramp never counts.
struct PressureProof {
  bool proven = false;
  std::vector<Evidence> evidence;  // what proves it, first the strongest
  std::string observed;            // one line for the `pressure` check
};

// What oomstress achieved against what the scenario asked (fidelity.cpp).
struct LoadFidelity {
  bool delivered = true;           // every measured load reached what was asked
  bool changes_test = false;       // a shortfall changes what the scenario tests
  std::vector<std::string> shortfalls;  // one sentence each
  std::vector<std::string> lines;  // one per measured load, for the summary
  std::vector<Evidence> evidence;
};

// A span in which a witness did not see everything (observation.cpp).
struct BlindSpot {
  double from = 0, to = 0;         // guest seconds; a loss with no time covers the whole run
  bool stalled = false;            // the observer itself stalled: every record in it is suspect
  bool kernel = false;             // kernel log records may be missing (a kill could be unseen)
  bool systemd = false;            // journal or D-Bus records may be missing
  bool samples = false;            // cgroup/process samples may be missing
  // One file the samples could not read (kGuest*, or kCgroup* of `unit`): its values in
  // that stretch are no evidence. Empty for the kinds above.
  std::string file;
  std::string unit;
  std::string what;                // "observer gap of 4.2s (sampler late)", "kmsg sequence_gap x7"
  Evidence evidence;
};

struct CheckContext {
  const Scenario& scenario;
  const TimelineIndex& index;
  PressureProof pressure;
  LoadFidelity load;
  std::optional<double> time_limit_t;   // the run reached its time_limit (phase time_limit)
  int systemd_major = 0;                // the guest's systemd (252 on bookworm, 257 on trixie)
  std::vector<BlindSpot> blind;

  // What the scenario expects of a unit it names under expect.units (evaluate()
  // judges a per-unit check only for those).
  const UnitExpectation& expected(const std::string& service) const { return *scenario.expect.unit(service); }

  // An expected event that did not come: a failure once pressure was proven or
  // the run used its whole time_limit with the load delivered; otherwise the run
  // cannot tell (inconclusive).
  CheckOutcome missingKill() const {
    if (pressure.proven) return CheckOutcome::fail;
    if (time_limit_t && load.delivered) return CheckOutcome::fail;
    return CheckOutcome::inconclusive;
  }
  // The same for an expected kill of `unit` ("" any scenario unit) that the kernel log
  // does not show: when memory.events or systemd saw one, the kernel log is what is
  // missing, so the check is inconclusive; c's observed, why and evidence say what the
  // other witnesses saw (witnesses.cpp).
  CheckOutcome missingKillIn(const std::string& unit, CheckResult& c) const;
  // " (not within time_limit 2min: the run reached it at +95.3s)" when the run
  // reached its limit, else "": appended to what did not happen.
  std::string notWithinTimeLimit() const;
  // "+12.3s": seconds since the pressure phase.
  std::string since(double t) const;
};


// A kill by the kernel (a chosen victim) or by systemd-oomd.
struct AnyKill {
  double t = 0;
  std::string unit;
  const OomEvent* kernel = nullptr;
  const OomdKill* oomd = nullptr;
};
// Both kinds of kill in one time order (kill_checks.cpp).
std::vector<AnyKill> allKills(const TimelineIndex& index);
// ... in `unit`, the first of each invocation (a second kill in one changes nothing);
// kills whose invocation is unknown are each kept.
std::vector<AnyKill> firstKillPerInvocation(const TimelineIndex& index, const std::string& unit);
// The InvocationID of the invocation a kill hit ("" when unknown).
const std::string& invocationOf(const AnyKill& k);
// ... only those at or after the pressure phase: what first_killed and kill_order judge.
std::vector<AnyKill> killsUnderPressure(const TimelineIndex& index);
// The kernel's kill line, or systemd's message with oomd's reason.
Evidence evidenceOf(const AnyKill& k);

// probe_checks.cpp: half alive as the clients saw it. After a kill in the service's
// unit, the invocation the kill left was active while a health probe of it (http or
// command) failed and a port probe of it (tcp) succeeded: up for a load balancer's
// port check, down for every request. (Failures before any kill are a stall, not this.)
struct ClientHalfAlive {
  double from = 0, to = 0;                       // the longest such stretch
  const ProbeAttempt* health = nullptr;          // its first failed health attempt
  const ProbeAttempt* port = nullptr;            // a port attempt that succeeded in it
  const UnitStateChange* active = nullptr;       // systemd's active state then
  const OomEvent* kill = nullptr;                // the kill it followed
  bool ongoing = false;                          // it lasted to the end of the run
};
// The service has a port probe and a health probe: the clients can see it half alive.
bool hasClientView(const Scenario& scenario, const std::string& service);
// Null when the service lacks a port or a health probe, or no such stretch was seen.
std::optional<ClientHalfAlive> clientHalfAlive(const CheckContext& ctx, const std::string& service);
Evidence probeEvidence(const ProbeAttempt& a, const std::string& unit);

// witnesses.cpp: per unit, the kernel's kills, the cgroup's memory.events and
// systemd's view, invocation by invocation.
struct WitnessCounts {
  std::size_t kernel = 0;          // OOM events in the kernel log
  std::size_t cgroup = 0;          // memory.events: oom_group_kill, else oom_kill (max per invocation)
  std::size_t systemd = 0;         // invocations systemd reported as OOM-killed
  // The unit's containers in scopes of their own (outside its cgroup): kills their
  // scopes' memory.events counted (the most each scope showed), and containers Podman
  // marked State.OOMKilled (trixie's Podman does; bookworm's does not for a kill
  // inside the container's limit).
  std::size_t container_cgroup = 0, podman = 0;
  std::vector<Evidence> cgroup_evidence, systemd_evidence, container_evidence;
};
WitnessCounts witnessesOf(const CheckContext& ctx, const std::string& unit);
// unit_checks.cpp: the highest NRestarts systemd reported for the unit (its states and
// its "restart scheduled" messages), with the records that show it appended.
std::uint64_t systemdRestarts(const CheckContext& ctx, const std::string& unit, std::vector<Evidence>& evidence);
// What the witnesses other than the kernel log saw, "memory.events counted 1 and systemd
// reported 1 OOM kill(s) in api.service", with their records appended to `evidence`.
std::string otherWitnessesSaw(const WitnessCounts& w, const std::string& unit, std::vector<Evidence>& evidence);

// pressure.cpp, fidelity.cpp, observation.cpp
PressureProof provePressure(const Scenario& scenario, const TimelineIndex& index);
// MemAvailable at or below this is "near zero" for a guest of mem_total bytes.
std::uint64_t nearZeroAvailableBytes(std::uint64_t mem_total);
// Memory PSI `full` avg10 at or above this (%): every task stalled on memory (the
// pressure proof, and a stalled moment for max_stall).
inline constexpr double kStallPsiFullPercent = 10.0;
// "12.3%": a PSI figure as the checks quote it.
std::string percentText(double v);
CheckResult pressureCheck(const CheckContext& ctx);
LoadFidelity assessLoad(const Scenario& scenario, const TimelineIndex& index);
CheckResult loadFidelityCheck(const CheckContext& ctx);
std::vector<BlindSpot> blindSpots(const TimelineIndex& index);
// The longest blind spot in which `file` (kGuest*, or kCgroup* of `unit`) was not seen
// between from and to: a stall of the whole observer, a hole in the samples, or the
// file itself unreadable. Every check that reads sampled values asks this.
const BlindSpot* unseen(const CheckContext& ctx, const char* file, const std::string& unit, double from, double to);
CheckResult observationCheck(const CheckContext& ctx);
// Turns the expectation checks a blind spot touches inconclusive, saying which.
void applyBlindness(const CheckContext& ctx, Checks& checks);

// explain.cpp: why reality differed, for a failed check's `why`.
std::string explainVictimChoice(const CheckContext& ctx, const OomEvent& victim, const std::string& expected_service);
std::string explainNoRestart(const CheckContext& ctx, const std::string& service, const std::string& result);
// Why systemd-oomd chose k's cgroup: its ranking, where wanted_unit stood in it (when
// given), and the victim's own ManagedOOMPreference. "" or "; ..." to append.
std::string explainOomdChoice(const CheckContext& ctx, const OomdKill& k, const std::string& wanted_unit);

}  // namespace oom
