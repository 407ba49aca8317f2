#include "plan/planner.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "oom/guest_paths.hpp"
#include "oom/shell.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "scenario/quadlet.hpp"
#include "systemd/directives.hpp"

namespace oom {

std::vector<std::string> stressorCommand(const ServiceSpec& service, const PlanOptions& options) {
  const Load& l = service.load.value();
  // Sizes and times spelled so oomstress reads back exactly what the scenario says
  // (tests/plan/stressor_flags_sync_test). --target is the whole unit's baseline;
  // oomstress divides it among --processes.
  std::vector<std::string> argv = {options.stressor_path, "--target", formatSizeExact(l.baseline_bytes)};
  if (l.processes > 1) argv.insert(argv.end(), {"--processes", std::to_string(l.processes)});
  if (l.supervisor) argv.push_back("--supervisor");
  if (l.leak_bytes_per_sec > 0)
    argv.insert(argv.end(), {"--leak", "--rate", formatSizeExact(l.leak_bytes_per_sec) + "/s"});
  else if (l.rate_bytes_per_sec > 0)
    argv.insert(argv.end(), {"--rate", formatSizeExact(l.rate_bytes_per_sec) + "/s"});
  if (l.hold_sec) argv.insert(argv.end(), {"--hold", formatDurationExact(Seconds(*l.hold_sec))});
  if (l.start_after_sec > 0)
    argv.insert(argv.end(), {"--start-after", formatDurationExact(Seconds(l.start_after_sec))});
  if (l.spike) argv.insert(argv.end(), {"--spike", formatSizeAt(*l.spike)});
  if (l.sawtooth) argv.push_back("--sawtooth");
  if (l.compress_ratio > 1) argv.insert(argv.end(), {"--compress-ratio", std::to_string(l.compress_ratio)});
  if (l.health_port) argv.insert(argv.end(), {"--health-port", std::to_string(l.health_port)});
  if (l.checkpoint)
    argv.insert(argv.end(),
                {"--checkpoint", std::string(guest::kCheckpointDir) + "/" + service.name + ".ckpt"});
  if (options.report_interval_sec > 0)
    argv.insert(argv.end(),
                {"--report-interval", formatDurationExact(Seconds(options.report_interval_sec))});
  return argv;
}

std::vector<std::string> containerStressorCommand(const ServiceSpec& service, const PlanOptions& options) {
  PlanOptions inside = options;
  inside.stressor_path = guest::kContainerStressorPath;
  return stressorCommand(service, inside);
}

std::vector<std::string> containerCommand(const ServiceSpec& service, const PlanOptions& options) {
  const ContainerSpec& c = service.container.value();
  // Foreground, so the unit's main process lives as long as the container; READY=1
  // from oomstress inside reaches systemd (--sdnotify=container, NotifyAccess=all).
  // No --name and no --rm: each start is a new container that stays for `podman
  // inspect` at the end, found by its label.
  // The image's own program (no load) sends no READY=1 of its own: conmon says when the
  // container runs (--sdnotify=conmon).
  const char* notify = service.load ? "--sdnotify=container" : "--sdnotify=conmon";
  std::vector<std::string> argv = {guest::kPodmanPath, "run", notify, "--network=" + c.network,
                                   "--pull=never", "--cgroups=" + c.cgroups,
                                   "--label=" + std::string(guest::kContainerServiceLabel) + "=" + service.name};
  for (const auto& port : c.publish) argv.push_back("--publish=" + port.text());
  if (c.memory_bytes) argv.push_back("--memory=" + formatSizeExact(*c.memory_bytes));
  if (c.memory_swap_bytes) argv.push_back("--memory-swap=" + formatSizeExact(*c.memory_swap_bytes));
  if (c.oom_score_adj) argv.push_back("--oom-score-adj=" + std::to_string(*c.oom_score_adj));
  argv.push_back("--restart=" + c.restart);
  if (!service.load) {  // the image's entrypoint and command, as it deploys
    argv.push_back(c.image);
    return argv;
  }
  auto load = containerStressorCommand(service, options);
  if (c.ownImage()) {
    // The user's image has no oomstress: the guest's static one is mounted into it,
    // read-only, and run in place of the image's entrypoint. The image's user, working
    // folder and environment stay its own.
    argv.push_back("--volume=" + std::string(guest::kStressorPath) + ":" + guest::kContainerStressorPath + ":ro");
    argv.push_back("--entrypoint=" + load.front());
    argv.push_back(c.image);
    load.erase(load.begin());
  } else {
    argv.push_back(guest::kContainerImage);
  }
  for (auto& word : load) argv.push_back(std::move(word));
  return argv;
}

// A line for people to read and paste. Each word is printable() before it is
// quoted: a control character (the parser refuses them, so only a Scenario built
// in code could carry one) is shown escaped, never emitted into a terminal.
std::string systemdRunLine(const PlannedUnit& unit) {
  const auto word = [](const std::string& w) { return shellQuote(printable(w)); };
  std::string line = "systemd-run " + word("--unit=" + unit.unit);
  for (const auto& p : unit.properties) line += " -p " + word(p.name + "=" + p.value);
  line += " --";
  for (const auto& arg : unit.exec_start) line += " " + word(arg);
  return line;
}

unsigned decisiveKills(const Scenario& s) {
  const Expectations& e = s.expect;
  std::uint64_t needed = e.kill_order.size();
  if (e.first_killed) needed = std::max<std::uint64_t>(needed, 1);
  std::uint64_t per_unit = 0;
  for (const auto& [name, u] : e.units) {
    std::uint64_t n = u.oom_kills ? u.oom_kills->min.value_or(0) : 0;
    // Every restart of an OOM-killed unit needs a kill before it.
    if (u.restarts && u.Result == "oom-kill") n = std::max(n, u.restarts->min.value_or(0));
    for (const auto& k : kExpectationKeys)
      if ((k.plan & kPlanKill) && k.scope == ExpectationScope::unit && u.asks(k.key))
        n = std::max<std::uint64_t>(n, 1);
    per_unit += n;
  }
  // A probe's key that needs a kill needs one in the service it watches, unless a unit
  // expectation of that service already counted it.
  std::set<std::string> probed;
  for (const auto& [name, p] : e.probes) {
    const ProbeSpec* probe = s.probe(name);
    if (!probe || probe->service.empty() || e.unit(probe->service) || !probed.insert(probe->service).second) continue;
    for (const auto& k : kExpectationKeys)
      if ((k.plan & kPlanKill) && k.scope == ExpectationScope::probe && p.names(k.key)) {
        ++per_unit;
        break;
      }
  }
  return static_cast<unsigned>(std::max(needed, per_unit));
}

double effectiveSettleSec(const Scenario& s) {
  double settle = s.settle_sec;
  for (const auto& [name, u] : s.expect.units) {
    const ServiceSpec* svc = s.service(name);
    const double restart_sec = svc ? svc->restartSec() : kDefaultRestartSec;
    for (const auto& k : kExpectationKeys) {
      if (k.scope != ExpectationScope::unit || !u.names(k.key)) continue;
      if (k.plan & kPlanRestart) settle = std::max(settle, restart_sec + s.expect.restart_grace_sec);
      if (k.plan & kPlanWindow) settle = std::max(settle, u.seconds(k.key).value_or(0));
    }
  }
  for (const auto& [name, p] : s.expect.probes)
    for (const auto& k : kExpectationKeys)
      if (k.scope == ExpectationScope::probe && (k.plan & kPlanWindow) && p.names(k.key))
        settle = std::max(settle, p.seconds(k.key).value_or(0));
  return std::min(settle, s.time_limit_sec);
}

Expected<GuestPlan> makeGuestPlan(const Scenario& s, const PlanOptions& options) {
  GuestPlan plan;
  plan.scenario = s.name;
  plan.time_limit_sec = s.time_limit_sec;
  plan.settle_sec = effectiveSettleSec(s);
  plan.sample_interval_sec = options.sample_interval_sec;
  plan.decisive_kills = decisiveKills(s);
  plan.swappiness = s.guest.swappiness.value_or(-1);
  if (s.guest.swap_kind == kSwapZram) plan.zram_bytes = s.guest.swap_bytes;
  plan.guest = PlannedGuest{s.guest.memory_bytes, s.guest.cpus, s.guest.swap_bytes, s.guest.swap_kind,
                            s.guest.packages, s.payload_digest};
  std::sort(plan.guest.packages.begin(), plan.guest.packages.end());
  if (s.oomd) {
    plan.oomd = true;
    plan.oomd_conf = s.oomd->confText();
  }
  for (std::size_t i = 0; i < s.services.size(); ++i) {
    const ServiceSpec& svc = s.services[i];
    PlannedUnit u;
    u.service = svc.name;
    u.unit = unitName(svc.name);
    u.why = svc.why;
    // A service running its own program keeps its unit's ExecStart= and Type=.
    const bool quadlet = svc.container && svc.container->fromQuadlet();
    // A Quadlet unit's command is the one its generator writes: exec_start is what its
    // container runs (the drop-in's Exec=).
    if (svc.load && quadlet) {
      u.exec_start = containerStressorCommand(svc, options);
    } else if (svc.load) {
      u.exec_start = svc.container ? containerCommand(svc, options) : stressorCommand(svc, options);
    } else if (svc.container) {
      u.exec_start = containerCommand(svc, options);
    }
    // oomstress sends READY=1 once its baseline is held; conmon once the image's own program runs.
    if ((svc.load || svc.container) && !svc.directive("Type")) u.properties.push_back(UnitProperty{"Type", "notify"});
    if (svc.container) {
      const ContainerSpec& c = *svc.container;
      // The user's image is loaded from its archive, which the guest sees in the payload.
      const std::string archive =
          c.ownImage() ? (std::filesystem::path(guest::kPayloadDir) / c.archive_in_payload).string() : "";
      u.container = PlannedContainer{c.ownImage() ? c.image : guest::kContainerImage, archive,
                                     c.cgroups, c.memory_bytes.value_or(0),
                                     c.memory_swap_bytes.value_or(0),
                                     c.oom_score_adj ? std::to_string(*c.oom_score_adj) : "", c.restart,
                                     c.quadlet, c.network, {}};
      for (const auto& port : c.publish) u.container.publish.push_back(port.text());
      // READY=1 comes from the container's process, not the unit's main one (podman).
      if (!svc.directive("NotifyAccess")) u.properties.push_back(UnitProperty{"NotifyAccess", "all"});
      // --cgroups=split makes its cgroups below the unit's: systemd must delegate them.
      if (c.cgroups == kContainerCgroupsSplit && !svc.directive("Delegate"))
        u.properties.push_back(UnitProperty{"Delegate", "yes"});
    }
    for (const auto& p : svc.unit) {
      if (auto d = toDbusProperty(p.name, p.value); !d)
        return fail(s.source + ": $.services[" + std::to_string(i) + "].unit." + p.name,
                    d.error().message);
      u.properties.push_back(p);
    }
    if (quadlet && svc.files) {
      u.files = *svc.files;
      u.files.files.push_back(InstalledFile{"oomharness", quadletDropInPath(svc.name),
                                            quadletDropIn(svc.name, u.exec_start, svc.container->networkFromFile())});
      // What the harness resets in [Service] (TimeoutStartSec=, ...) goes in a systemd
      // drop-in of the generated unit.
      if (!u.files.reset_lines.empty() || !u.files.unit_reset_lines.empty())
        u.files.files.push_back(InstalledFile{"oomharness",
                                              std::string(kGuestUnitDir) + "/" + u.unit + ".d/" + kHarnessDropInName,
                                              harnessDropIn(u.files, {}, {}, "")});
      u.systemd_run = "install " + std::to_string(u.files.files.size()) +
                      " file(s) (unit_setup.files), then: systemctl daemon-reload (Quadlet writes " + u.unit +
                      " from " + quadletFilePath(svc.name) + ") && systemctl start " + u.unit;
    } else if (svc.files) {
      u.files = *svc.files;
      const std::string type = svc.load ? svc.directive("Type").value_or("notify") : "";
      u.files.files.push_back(InstalledFile{"oomharness",
                                            std::string(kGuestUnitDir) + "/" + u.unit + ".d/" + kHarnessDropInName,
                                            harnessDropIn(u.files, svc.inline_unit, u.exec_start, type)});
      u.systemd_run = "install " + std::to_string(u.files.files.size()) +
                      " file(s) (unit_setup.files), then: systemctl daemon-reload && systemctl start " + u.unit;
    } else {
      u.systemd_run = systemdRunLine(u);
    }
    u.baseline_bytes = svc.baselineBytes();
    u.processes = svc.load ? svc.load->processesInUnit() : 0;
    plan.units.push_back(std::move(u));
  }
  for (const ProbeSpec& p : s.probes)
    plan.probes.push_back(PlannedProbe{p.name, p.why, p.service, p.service.empty() ? "" : unitName(p.service), p.kind,
                                       p.target, p.command, p.status, p.output, p.interval_sec, p.timeout_sec});
  for (const auto& d : s.drives)
    plan.drives.push_back(PlannedDrive{d.name, unitName(d.name), d.why, d.command, d.start_after_sec});
  std::stable_sort(plan.drives.begin(), plan.drives.end(),
                   [](const auto& a, const auto& b) { return a.start_after_sec < b.start_after_sec; });
  return plan;
}

}  // namespace oom
