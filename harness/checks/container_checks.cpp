// A container as a layer (docs/containers.md): which layer decided a unit's first
// kill (`decided_by`), and whether the kernel killed a process in the service's
// containers (`oom_killed`), with Podman's own State.OOMKilled as one more witness.
#include <algorithm>

#include "check_context.hpp"
#include "guest/containers.hpp"

namespace oom {
namespace {

// Podman's word on the service's containers at the end, in one clause: "Podman: 2
// container(s), State.OOMKilled true for 1, exit code 137 for 2"; "" without records.
std::string podmanView(const CheckContext& ctx, const std::string& unit, CheckResult& c) {
  unsigned n = 0, oom = 0, sigkill = 0;
  for (const auto& r : ctx.index.timeline().containers) {
    if (r.unit != unit || r.when != kContainerAtEnd) continue;
    ++n;
    oom += r.oom_killed ? 1 : 0;
    sigkill += r.exit_code == 137 ? 1 : 0;
    c.evidence.push_back(Evidence{r.t, kRecordContainer, unit, "", 0,
                                  "podman inspect " + r.id.substr(0, 12) + ": Status " + r.status + ", ExitCode " +
                                      std::to_string(r.exit_code) + ", OOMKilled " + (r.oom_killed ? "true" : "false") +
                                      ", RestartCount " + std::to_string(r.restart_count)});
  }
  if (n == 0) return "";
  return "Podman: " + std::to_string(n) + " container(s), State.OOMKilled true for " + std::to_string(oom) +
         ", exit code 137 for " + std::to_string(sigkill);
}

}  // namespace

// The layer of the unit's first kill: a kernel OOM's by the cgroup whose limit was
// hit, or systemd-oomd's.
static void checkDecidedBy(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const std::string unit = unitName(svc);
  const std::string& want = *ctx.expected(svc).decided_by;
  CheckResult c{.name = svc + ".decided_by",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = "the first kill in " + unit + " is decided by " + want};
  const auto kernel = ctx.index.eventsIn(unit);
  const auto oomd = ctx.index.oomdKillsIn(unit);
  const OomEvent* first_kernel = kernel.empty() ? nullptr : kernel.front();
  const OomdKill* first_oomd = oomd.empty() ? nullptr : oomd.front();
  if (!first_kernel && !first_oomd) {
    c.observed = "no kill in " + unit + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unit, c);
    out.push_back(std::move(c));
    return;
  }
  KillLayer seen;
  if (first_oomd && (!first_kernel || first_oomd->t < first_kernel->t)) {
    seen = {kLayerOomd, "systemd-oomd", "systemd-oomd"};
    c.evidence.push_back(oomdKillEvidence(*first_oomd));
  } else {
    seen = ctx.index.layerOf(*first_kernel);
    c.evidence.push_back(killEvidence(*first_kernel->victim));
  }
  c.observed = seen.layer + ": " + seen.words;
  if (seen.layer != want) {
    c.outcome = CheckOutcome::fail;
    if (want == kLayerContainer)
      c.why = "the container's own limit was not the first to be hit: " + seen.words + " decided first";
    else if (seen.layer == kLayerContainer)
      c.why = "the container's own memory limit was hit before " +
              std::string(want == kLayerKernel ? "the whole guest ran out" : want + "'s limit");
    else
      c.why = seen.words + " decided before " + want;
  }
  out.push_back(std::move(c));
}

// A kill inside one of the service's containers, by the kernel's kill lines (the
// victim's cgroup names the container); Podman's State.OOMKilled is cited, not trusted.
static void checkOomKilled(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const std::string unit = unitName(svc);
  const bool want = *ctx.expected(svc).oom_killed;
  CheckResult c{.name = svc + ".oom_killed",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = want ? "the kernel OOM-kills a process in one of " + svc + "'s containers"
                                 : "no OOM kill in " + svc + "'s containers"};
  std::vector<const OomEvent*> in_container;
  for (const auto* e : ctx.index.eventsIn(unit))
    if (!e->container.empty()) in_container.push_back(e);
  for (const auto* e : in_container) c.evidence.push_back(killEvidence(*e->victim));
  c.observed = std::to_string(in_container.size()) + " kill(s) in its containers" +
               (in_container.empty() ? "" : ", first in container " + in_container.front()->container.substr(0, 12));
  if (const std::string podman = podmanView(ctx, unit, c); !podman.empty()) c.observed += "; " + podman;
  if (want && in_container.empty()) {
    c.observed += ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unit, c);
  } else if (!want && !in_container.empty()) {
    c.outcome = CheckOutcome::fail;
    c.why = "the kernel killed pid " + std::to_string(in_container.front()->victim->pid) + " in " +
            ctx.index.layerOf(*in_container.front()).words;
  }
  out.push_back(std::move(c));
}

// Who started the service again after a kill: systemd (NRestarts, its unit's Restart=),
// Podman (its --restart policy: a "restart" event of the same container), both or neither.
static void checkRestartedBy(const CheckContext& ctx, const std::string& svc, Checks& out) {
  const std::string unit = unitName(svc);
  const std::string& want = *ctx.expected(svc).restarted_by;
  CheckResult c{.name = svc + ".restarted_by",
                .unit = svc,
                .outcome = CheckOutcome::pass,
                .expected = "after a kill, " + unit + " is restarted by " + want};
  const std::uint64_t systemd = systemdRestarts(ctx, unit, c.evidence);
  std::uint64_t podman = 0, counted = 0;
  unsigned removed = 0;
  for (const auto& j : ctx.index.timeline().journal) {
    const auto e = podmanEvent(j);
    if (j.unit != unit || !e) continue;
    if (e.event == kPodmanEventRemove) ++removed;
    if (e.event != kPodmanEventRestart) continue;
    ++podman;
    c.evidence.push_back(journalEvidence(j));
  }
  unsigned at_end = 0;
  for (const auto& r : ctx.index.timeline().containers)
    if (r.unit == unit && r.when == kContainerAtEnd) {
      counted += r.restart_count;
      ++at_end;
    }
  const std::string seen = systemd && podman ? "both" : systemd ? "systemd" : podman ? "podman" : "neither";
  c.observed = seen + ": systemd NRestarts=" + std::to_string(systemd) + ", Podman restarted a container " +
               std::to_string(podman) + " time(s) (its events; " +
               (at_end ? "RestartCount at the end adds up to " + std::to_string(counted)
                       : "no container of it left to inspect at the end, " + std::to_string(removed) +
                             " removed (podman run --rm)") +
               ")";
  if (ctx.index.eventsIn(unit).empty() && ctx.index.oomdKillsIn(unit).empty() && want != "neither") {
    c.observed += "; no kill in " + unit + ctx.notWithinTimeLimit();
    c.outcome = ctx.missingKillIn(unit, c);
  } else if (seen != want) {
    c.outcome = CheckOutcome::fail;
    c.why = seen == "both"      ? "Podman's --restart and the unit's Restart= both acted: two restart policies on one service"
            : seen == "neither" ? "nothing started it again after the kill"
                                : "the service was restarted by " + seen + ", not " + want;
  }
  out.push_back(std::move(c));
}

extern const CheckDef kCheck_restarted_by{
    .name = "restarted_by",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindRecordsOnly,
    .passes_when = "for a service in a container: who started it again after its kills is `systemd` (NRestarts > 0), "
                   "`podman` (its `--restart`: a `restart` event of the container), `both` or `neither`",
    .evidence = "systemd's NRestarts (states, restart-scheduled messages); Podman's `restart` events in the unit's "
                "journal and each container's RestartCount at the end",
    .judge = checkRestartedBy,
};

extern const CheckDef kCheck_decided_by{
    .name = "decided_by",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindNoEarlierKill,
    .passes_when = "the unit's first kill was decided by that layer: `container` (the container's own memory "
                   "limit), `unit` (its `MemoryMax=`), `slice` (a limit above it), `systemd-oomd`, or `kernel` (the "
                   "whole guest ran out, `CONSTRAINT_NONE`)",
    .evidence = "the first kill line (`constraint`, `oom_memcg` against the container's and the unit's cgroups), or "
                "systemd-oomd's kill",
    .judge = checkDecidedBy,
};

extern const CheckDef kCheck_oom_killed{
    .name = "oom_killed",
    .kind = CheckKind::expectation,
    .naming = CheckNaming::service_prefix,
    .blind = kBlindNoKillInUnit,
    .passes_when = "`true`: the kernel killed a process in one of the service's containers (its cgroup names the "
                   "container); `false`: it killed none",
    .evidence = "the kill lines; Podman's `State.OOMKilled` and exit code of each container (cited, never trusted: "
                "bookworm's Podman reports false for a kill inside the container's limit)",
    .judge = checkOomKilled,
};

}  // namespace oom
