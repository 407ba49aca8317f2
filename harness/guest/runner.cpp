#include "guest/runner.hpp"

#include <sys/utsname.h>

#include <ctime>

#include <algorithm>
#include <functional>
#include <cstdio>
#include <map>
#include <set>
#include <variant>

#include "guest/containers.hpp"
#include "oom/guest_paths.hpp"
#include "scenario/scenario.hpp"
#include "guest/observer.hpp"
#include "guest/oomd.hpp"
#include "guest/probes.hpp"
#include "guest/transient_unit.hpp"
#include "guest/zram.hpp"
#include "plan/fingerprint.hpp"
#include "oom/units.hpp"
#include "timeline/message_ids.hpp"
#include "guest/setup_check.hpp"
#include "guest/unit_install.hpp"
#include "oom/clock.hpp"
#include "oom/text.hpp"

namespace oom {
namespace {

// Children of a multi-process stressor may appear a moment after READY=1.
constexpr double kProcessWaitSec = 5.0;
// After the time limit the event loop has this long to end the run itself (a
// last journal read, each unit's state over D-Bus); then the sampler ends it.
constexpr double kHardEndGraceSec = 5.0;

void phase(RecordSink& sink, const std::string& name, const std::string& detail = "") {
  sink.emit(kRecordPhase, Phase{monotonicSeconds(), name, detail});
  std::fprintf(stderr, "oomharness-guest: %s %s\n", name.c_str(), detail.c_str());
}

int endWith(RecordSink& sink, int status) {
  sink.end(status);
  return status;
}

GuestInfo guestInfo(Bus& bus, const SysFs& fs) {
  GuestInfo g;
  g.os_release = fs.osReleasePrettyName();
  utsname u{};
  if (::uname(&u) == 0) g.kernel = u.release;
  g.systemd_version = bus.managerVersion();
  // Unreadable, these stay empty/0 in the record and the reason goes to the agent's output.
  if (auto controllers = fs.readFile("sys/fs/cgroup/cgroup.controllers"))
    g.cgroup_controllers = std::string(trim(*controllers));
  else
    std::fprintf(stderr, "oomharness-guest: %s\n", controllers.error().str().c_str());
  const auto mem = fs.meminfo();
  if (!mem) std::fprintf(stderr, "oomharness-guest: %s\n", mem.error().str().c_str());
  auto get = [&](const char* key) -> std::uint64_t {
    if (!mem) return 0;
    auto it = mem->find(key);
    return it == mem->end() ? 0 : it->second;
  };
  g.mem_total_bytes = get("MemTotal");
  g.swap_total_bytes = get("SwapTotal");
  g.mem_available_at_start_bytes = get("MemAvailable");
  if (auto s = fs.readFile("proc/sys/vm/swappiness")) g.swappiness = leadingNumber<int>(trim(*s)).value_or(-1);
  if (auto swaps = fs.readFile("proc/swaps")) g.swap_areas = swapAreas(*swaps);
  return g;
}

// Each process in the unit's cgroup with its adjustment. One that exited meanwhile
// is left out; any other file that cannot be read is a problem, named in `problems`.
std::vector<ProcessSetting> processSettings(const SysFs& fs, const std::string& control_group,
                                            std::vector<std::string>* problems = nullptr) {
  std::vector<ProcessSetting> out;
  const auto pids = fs.cgroupProcs(control_group);
  if (!pids && problems) problems->push_back("cannot list the processes: " + pids.error().str());
  for (int pid : pids.value_or(std::vector<int>{})) {
    const auto p = fs.process(pid);
    if (p) out.push_back({pid, p->comm, p->oom_score_adj});
    else if (!p.error().absent() && problems)
      problems->push_back("pid " + std::to_string(pid) + ": " + p.error().str());
  }
  return out;
}

// A unit's property that systemd gives as text: "" when it has none, or not as text.
std::string textProperty(Bus& bus, const std::string& unit, const char* name) {
  const auto v = bus.property(unit, name);
  const auto* s = v ? std::get_if<std::string>(&*v) : nullptr;
  return s ? *s : std::string();
}

// A unit a package installed may have been started before the harness (enabled into a
// target the guest boots): its processes would not have the drop-ins' settings, and
// StartUnit would leave them as they are. Why the run cannot go on, or "".
std::string runningBeforeStart(Bus& bus, const PlannedUnit& unit) {
  const std::string state = textProperty(bus, unit.unit, "ActiveState");
  if (state != "active" && state != "activating" && state != "reloading") return "";
  return unit.unit + " was already " + state + " before oomharness started it (its package enabled it into a "
         "target the guest boots?): its processes did not start with the drop-ins under test";
}

constexpr double kPodmanTimeoutSec = 30.0;

// Podman's view of every container of the unit's service, with the kernel's of the
// running ones: "container" records, `when` at setup or at the end.
Expected<std::vector<ContainerRecord>> containersOf(const PlannedUnit& planned, const SysFs& fs,
                                                    Observer* observer, const char* when) {
  const std::string command = inspectContainersCommand(planned.service);
  const std::string what = "podman inspect (" + planned.unit + ")";
  auto text = observer ? observer->commandOutput(ChildCommand::start({"/bin/sh", "-c", command}, what),
                                                 monotonicSeconds() + kPodmanTimeoutSec)
                       : runGuestCommand(command, what);
  if (!text) return tl::unexpected(text.error());
  auto records = parsePodmanInspect(*text);
  if (!records) return records;
  for (auto& r : *records) {
    r.t = monotonicSeconds();
    r.when = when;
    r.service = planned.service;
    r.unit = planned.unit;
    if (r.status == "running") readContainerProcesses(fs, r);
  }
  return records;
}

void verifyContainers(const PlannedUnit& planned, const SysFs& fs, Observer& observer, RecordSink& sink,
                      UnitSetup& setup) {
  auto records = containersOf(planned, fs, &observer, kContainerAtSetup);
  if (!records) {
    setup.mismatches.push_back(records.error().str());
    return;
  }
  if (records->empty()) setup.mismatches.push_back("Podman shows no container of " + planned.unit);
  for (const auto& r : *records) {
    for (auto& m : containerMismatches(planned.container, r)) setup.mismatches.push_back(std::move(m));
    sink.emit(kRecordContainer, r);
  }
}

// Compares what the plan asked with what systemd and /proc say, before pressure.
UnitSetup verifyUnit(const PlannedUnit& planned, Bus& bus, const SysFs& fs, Observer& observer, RecordSink& sink,
                     const std::vector<std::string>& stubs, std::uint64_t installed_at_usec) {
  UnitSetup setup;
  setup.unit = planned.unit;
  setup.systemd_run = planned.systemd_run;
  if (planned.installed()) {
    describeUnitFiles(planned, setup);
    setup.stubs = stubs;
    std::vector<std::string> paths;
    for (const auto& f : planned.files.files) paths.push_back(f.guest_path);
    // Nothing in the files may be ignored: a line systemd skipped is a setting not applied.
    setup.systemd_warnings = unitFileWarnings(paths, installed_at_usec);
    for (auto& w : setup.systemd_warnings)  // name the user's file too, not only where it was put
      for (const auto& f : planned.files.files)
        if (w.rfind(f.guest_path + ":", 0) == 0) {
          w += " [" + f.source + "]";
          break;
        }
    for (const auto& w : setup.systemd_warnings) setup.mismatches.push_back("systemd: " + w);
  }
  if (planned.fromQuadlet()) {
    // The unit systemd runs is the generator's, from the file installed: both read back.
    const std::string fragment = textProperty(bus, planned.unit, "FragmentPath"),
                      source = textProperty(bus, planned.unit, "SourcePath");
    const std::string& installed = planned.files.files.front().guest_path;
    setup.unit_files.push_back((fragment.empty() ? "(no FragmentPath)" : fragment) + " " +
                               writtenByQuadletFrom(source.empty() ? "(no SourcePath)" : source));
    if (source != installed)
      setup.mismatches.push_back(planned.unit + ": systemd shows SourcePath " +
                                 (source.empty() ? "(none)" : source) + ", expected the Quadlet file " + installed);
  }
  setup.control_group = observer.controlGroup(planned.unit);
  if (setup.control_group.empty()) setup.mismatches.push_back("systemd reports no ControlGroup for " + planned.unit);
  for (const auto& asked : planned.properties) {
    auto wanted = toDbusProperty(asked.name, asked.value);
    if (!wanted) {
      setup.mismatches.push_back(asked.name + ": " + wanted.error().message);
      continue;
    }
    const auto actual = bus.property(planned.unit, wanted->name);
    setup.applied[wanted->name] = actual ? formatDbusValue(*actual) : "";
    if (auto mismatch = settingMismatch(asked, *wanted, actual)) setup.mismatches.push_back(*mismatch);
  }
  // What the kernel enforces, read back from the unit's cgroup, against what systemd reports.
  for (const auto& [file, property] : kCgroupLimitFiles)
    if (auto text = fs.cgroupText(setup.control_group, file)) setup.cgroup[file] = *text;
  for (auto& m : cgroupMismatches(setup.applied, setup.cgroup)) setup.mismatches.push_back(std::move(m.text));
  if (planned.inContainer()) {
    // The runtime's processes (podman, conmon at -1000) are in the unit, the load in
    // the container: its settings are checked against what Podman and the kernel show.
    setup.processes = processSettings(fs, setup.control_group);
    // podman run in the foreground stays; Quadlet's runs detached and is gone by now.
    for (auto& m : processMismatches(processesUnderUnitAdjust(planned, setup.processes),
                                     expectedOomScoreAdjust(planned), planned.fromQuadlet() ? 0 : 1,
                                     setup.control_group))
      setup.mismatches.push_back(std::move(m));
    verifyContainers(planned, fs, observer, sink, setup);
    setup.t = monotonicSeconds();
    return setup;
  }
  // Every process, the stressor's children too, must carry the adjustment. A unit
  // that leaks from READY=1 on may already be losing processes to the kernel:
  // those count, with the adjustment their kill lines show (burst-many-small).
  const unsigned want = std::max(planned.processes, 1u);
  observer.runUntil(
      [&] {
        return processSettings(fs, setup.control_group).size() + observer.killedAdjustments(planned.unit).size() >=
               want;
      },
      monotonicSeconds() + kProcessWaitSec);
  std::vector<std::string> problems;
  setup.processes = processSettings(fs, setup.control_group, &problems);
  const std::vector<int> killed = observer.killedAdjustments(planned.unit);
  setup.killed_before_check = static_cast<unsigned>(killed.size());
  // Its cgroup gone with the unit (OOMPolicy stopped it after the kernel's kills) is
  // not a setting that failed to apply.
  if (killed.empty() || !setup.processes.empty())
    setup.mismatches.insert(setup.mismatches.end(), problems.begin(), problems.end());
  // burst-many-small, 2026-12-06: the kernel chose the main process among the first
  // seven it killed, the unit ended and systemd stopped the other 17 before the count.
  const unsigned countable = processesToCount(want, killed.size(), textProperty(bus, planned.unit, "ActiveState"));
  for (auto& m : processMismatches(setup.processes, expectedOomScoreAdjust(planned), countable, setup.control_group,
                                   killed))
    setup.mismatches.push_back(std::move(m));
  setup.t = monotonicSeconds();
  return setup;
}

// What systemd-oomd monitors, checked against the units and slices that ask it to
// act: each with ManagedOOMMemoryPressure=kill must be in its pressure list, each
// with ManagedOOMSwap=kill in its swap list. Read again for up to kOomdWaitSec: oomd
// learns of a unit from systemd shortly after it starts.
constexpr double kOomdWaitSec = 3.0;
constexpr double kOomdReadEverySec = 0.25;
constexpr double kOomctlTimeoutSec = 10.0;

// A cgroup systemd-oomd must monitor: a unit's own (its planned ManagedOOM*=kill) or a
// slice above it (what systemd shows for the slice, from its files or the distribution's).
struct OomdWatch {
  std::string cgroup;  // "/critical.slice", "/" for -.slice
  bool pressure;       // ManagedOOMMemoryPressure=kill; else ManagedOOMSwap=kill
  std::string why;     // "cache.service sets ManagedOOMSwap=kill"
};

std::vector<OomdWatch> oomdWatches(Bus& bus, const std::vector<std::pair<const PlannedUnit*, std::string>>& units) {
  std::vector<OomdWatch> out;
  auto add = [&](const std::string& cgroup, const std::string& directive, const std::string& who) {
    const bool pressure = directive == "ManagedOOMMemoryPressure";
    for (const auto& w : out)
      if (w.cgroup == cgroup && w.pressure == pressure) return;
    out.push_back(OomdWatch{cgroup, pressure, who + " sets " + directive + "=kill"});
  };
  std::map<std::string, std::map<std::string, DbusValue>> slices;  // read once each
  for (const auto& [u, cgroup] : units) {
    for (const auto& p : u->properties)
      if (p.value == "kill" && (p.name == "ManagedOOMMemoryPressure" || p.name == "ManagedOOMSwap"))
        add(cgroup, p.name, u->unit);
    // The slices above it, innermost first: "/a.slice/a-b.slice/x.service" -> a-b.slice, a.slice, -.slice.
    for (std::string path = cgroup; !path.empty() && path != "/";) {
      path = path.substr(0, path.rfind('/'));
      const std::string slice = path.empty() ? "-.slice" : path.substr(path.rfind('/') + 1);
      if (!endsWith(slice, ".slice")) continue;
      auto [it, fresh] = slices.try_emplace(slice);
      if (fresh) it->second = bus.allProperties(slice, "org.freedesktop.systemd1.Slice");
      for (const char* directive : {"ManagedOOMSwap", "ManagedOOMMemoryPressure"}) {
        const auto v = it->second.find(directive);
        if (v != it->second.end() && std::holds_alternative<std::string>(v->second) &&
            std::get<std::string>(v->second) == "kill")
          add(path.empty() ? "/" : path, directive, slice);
      }
    }
  }
  return out;
}

std::vector<std::string> oomdMismatches(const OomdStatus& s, const std::vector<OomdWatch>& watches) {
  std::vector<std::string> out;
  for (const auto& w : watches) {
    const auto& list = w.pressure ? s.pressure_cgroups : s.swap_cgroups;
    if (std::find(list.begin(), list.end(), w.cgroup) == list.end())
      out.push_back("systemd-oomd does not monitor " + w.cgroup + " for " + (w.pressure ? "memory pressure" : "swap") +
                    " (" + w.why + "; see the oomd record)");
  }
  return out;
}

// The pressure phase: the drivers started at their times (plan.drives is in start
// order), each in a transient unit the observer watches like the services'. A driver
// that cannot be started is a phase record naming it and why; the run goes on.
bool observeWithDrivers(const GuestPlan& plan, RecordSink& sink, Bus& bus, Observer& observer,
                        const std::function<bool()>& settledNow, double deadline) {
  const double pressure_t = monotonicSeconds();
  for (const auto& d : plan.drives) {
    if (observer.runUntil(settledNow, std::min(deadline, pressure_t + d.start_after_sec))) return true;
    if (monotonicSeconds() >= deadline) return false;
    observer.watchUnit(d.unit);
    PlannedUnit unit;
    unit.service = d.name;
    unit.unit = d.unit;
    unit.why = d.why;
    unit.exec_start = d.exec_start;
    auto spec = transientUnitSpec(unit);
    auto job = spec ? bus.startTransientUnit(*spec) : Expected<std::string>(tl::unexpected(spec.error()));
    if (job) phase(sink, kPhaseDriveStarted, d.unit);
    else phase(sink, kPhaseDriveFailed, d.unit + ": " + job.error().str());
  }
  return observer.runUntil(settledNow, deadline);
}

// The images the containers run, before any unit starts: the built-in one imported
// from the static oomstress, each user's image loaded from its archive (once per
// archive and image). A phase record each, with what it took.
Expected<void> prepareImages(RecordSink& sink, const GuestPlan& plan) {
  const auto seconds = [](double t0) {
    char took[32];
    std::snprintf(took, sizeof took, "%.2f", monotonicSeconds() - t0);
    return std::string(took);
  };
  std::set<std::pair<std::string, std::string>> done;  // (archive, image); ("", built-in)
  for (const auto& u : plan.units) {
    if (!u.inContainer() || !done.emplace(u.container.archive, u.container.image).second) continue;
    const double t0 = monotonicSeconds();
    if (u.container.archive.empty()) {
      if (auto imported = runGuestCommand(importImageCommand(), "podman import"); !imported)
        return fail("the container image", imported.error().str());
      phase(sink, kPhaseContainerImage, std::string(guest::kContainerImage) + " imported in " + seconds(t0) + " s");
      continue;
    }
    auto id = runGuestCommand(loadImageCommand(u.container.archive, u.container.image), "podman load");
    if (!id)
      return fail("the image " + u.container.image + " of " + u.unit + " from " + u.container.archive,
                  id.error().str());
    // The ID is the last line (a warning of Podman's on stderr may come before it).
    const auto lines = splitLines(trim(*id));
    const std::string id_line = lines.empty() ? "" : std::string(trim(lines.back()));
    phase(sink, kPhaseContainerImage, u.container.image + " loaded from " + u.container.archive + " in " + seconds(t0) +
                                          " s (image ID " + printable(id_line.substr(0, 12)) + ")");
  }
  return {};
}

}  // namespace

int executePlan(const GuestPlan& plan, RecordSink& sink, Bus& bus, const SysFs& fs) {
  // zram swap first, so that the guest record shows it.
  const auto zram = plan.zram_bytes > 0 ? setUpZram(fs, plan.zram_bytes) : Expected<void>{};
  // vm.swappiness before anything runs, so the guest record shows the value in force.
  const bool swappiness_set =
      plan.swappiness < 0 || fs.writeFile("proc/sys/vm/swappiness", std::to_string(plan.swappiness));
  const GuestInfo info = guestInfo(bus, fs);
  sink.emit(kRecordGuest, info);
  sink.emit(kRecordPlan, PlanRecord{monotonicSeconds(), planFingerprint(planFacts(plan)), planFacts(plan)});
  if (!zram) {
    phase(sink, kPhaseSetupFailed, "zram swap of " + formatSize(plan.zram_bytes) + ": " + zram.error().str());
    return endWith(sink, kGuestSetupFailed);
  }
  if (!swappiness_set || (plan.swappiness >= 0 && info.swappiness != plan.swappiness)) {
    phase(sink, kPhaseSetupFailed, "vm.swappiness: asked " + std::to_string(plan.swappiness) + ", the kernel shows " +
                                       std::to_string(info.swappiness));
    return endWith(sink, kGuestSetupFailed);
  }
  if (auto images = prepareImages(sink, plan); !images) {
    phase(sink, kPhaseSetupFailed, images.error().str());
    return endWith(sink, kGuestSetupFailed);
  }
  Observer observer(bus, sink, plan, fs);
  if (auto started = observer.start(); !started) {
    phase(sink, kPhaseSetupFailed, started.error().str());
    return endWith(sink, kGuestInfraError);
  }
  for (const auto& u : plan.units) {
    observer.watchUnit(u.unit);
    if (u.inContainer() && u.container.cgroups != kContainerCgroupsSplit) observer.watchContainerScopesOf(u.unit);
  }
  // Started once the units are; stopped before the observer's last records.
  ProbeRunner probes(sink, plan.probes);

  auto setupFailed = [&](const std::string& why) {
    probes.stop();
    for (const auto& u : plan.units) observer.refreshUnit(u.unit);
    observer.finish();
    phase(sink, kPhaseSetupFailed, why);
    return endWith(sink, kGuestSetupFailed);
  };

  const double deadline = monotonicSeconds() + plan.time_limit_sec;
  observer.setHardEnd(deadline + kHardEndGraceSec, kGuestObserved);
  // Units from real files: installed where systemd reads them, then one daemon-reload.
  std::map<std::string, std::vector<std::string>> stubs;
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::uint64_t installed_at_usec =
      static_cast<std::uint64_t>(now.tv_sec) * 1000000u + static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
  bool any_installed = false;
  if (plan.oomd)
    if (auto prepared = prepareOomd(fs, plan.oomd_conf); !prepared) return setupFailed(prepared.error().str());
  for (const auto& u : plan.units) {
    if (!u.installed()) continue;
    auto written = installUnitFiles(fs, u);
    if (!written) return setupFailed(u.unit + ": " + written.error().str());
    stubs[u.unit] = *written;
    any_installed = true;
  }
  // Quadlet files: what its generator refuses, it refuses silently at daemon-reload
  // (no unit at all), so its own words are read first.
  if (std::any_of(plan.units.begin(), plan.units.end(), [](const PlannedUnit& u) { return u.fromQuadlet(); })) {
    auto said = runGuestCommand(quadletDryRunCommand(), "quadlet -dryrun");
    if (!said) return setupFailed(said.error().str());
    for (const auto& u : plan.units) {
      if (!u.fromQuadlet()) continue;
      std::string problems;
      for (const auto& p : quadletProblems(*said, u.files.files.front().guest_path))
        problems += (problems.empty() ? "" : "; ") + p;
      if (!problems.empty())
        return setupFailed(u.unit + " from " + u.container.quadlet + ": " + problems);
    }
  }
  if (any_installed || plan.oomd) {
    if (auto reloaded = bus.reload(); !reloaded) return setupFailed(reloaded.error().str());
    phase(sink, kPhaseUnitsInstalled);
  }
  if (plan.oomd) {
    auto job = bus.startUnit(kOomdUnit);
    if (!job) return setupFailed(job.error().str());
    observer.runUntil([&] { return observer.jobResult(*job).has_value(); }, deadline);
    const auto result = observer.jobResult(*job);
    if (!result || *result != "done")
      return setupFailed(std::string(kOomdUnit) + ": start job " +
                         (result ? "ended with result '" + *result + "'" : "did not finish before the time limit"));
  }
  // What came before (the guest, the observer, unit files, systemd-oomd) is the
  // harness's setup; what follows, each unit's start_after and baseline, the scenario's.
  phase(sink, kPhaseUnitsStarting);
  std::vector<std::pair<std::string, std::string>> jobs;  // unit, job path
  for (const auto& u : plan.units) {
    Expected<std::string> job = std::string();
    if (u.installed()) {
      if (const std::string running = runningBeforeStart(bus, u); !running.empty()) return setupFailed(running);
      job = bus.startUnit(u.unit);
    } else {
      auto spec = transientUnitSpec(u);
      if (!spec) return setupFailed(spec.error().str());
      job = bus.startTransientUnit(*spec);
    }
    if (!job) return setupFailed(job.error().str());
    jobs.emplace_back(u.unit, *job);
  }
  // Type=notify start jobs finish at READY=1, i.e. once the baseline is held.
  observer.runUntil(
      [&] {
        for (const auto& [unit, job] : jobs)
          if (!observer.jobResult(job)) return false;
        return true;
      },
      deadline);
  for (const auto& [unit, job] : jobs) {
    const auto result = observer.jobResult(job);
    if (!result || *result != "done")
      return setupFailed(unit + ": start job " +
                         (result ? "ended with result '" + *result + "'" : "did not finish before the time limit"));
  }
  for (const auto& u : plan.units) observer.refreshUnit(u.unit);
  phase(sink, kPhaseUnitsStarted);
  if (auto started = probes.start(); !started) return setupFailed(started.error().str());

  bool setup_ok = true;
  std::vector<std::pair<const PlannedUnit*, std::string>> cgroups;  // unit, its control group
  for (const auto& u : plan.units) {
    const UnitSetup setup = verifyUnit(u, bus, fs, observer, sink, stubs[u.unit], installed_at_usec);
    setup_ok = setup_ok && setup.mismatches.empty();
    cgroups.emplace_back(&u, setup.control_group);
    sink.emit(kRecordUnitSetup, setup);
  }
  if (!setup_ok) return setupFailed("settings not applied as asked (see unit_setup)");
  if (plan.oomd) {
    OomdStatus status;
    std::vector<std::string> problems;
    const auto watches = oomdWatches(bus, cgroups);
    const double until = monotonicSeconds() + kOomdWaitSec;
    for (double read_at = monotonicSeconds();; read_at = monotonicSeconds()) {
      // oomctl runs while the loop goes on dispatching: no part of setup blocks it.
      auto text = observer.commandOutput(startOomctl(), read_at + kOomctlTimeoutSec);
      if (text) {
        status = parseOomctl(*text);
        problems = oomdMismatches(status, watches);
      } else {
        problems = {text.error().str()};
      }
      if (problems.empty() || read_at + kOomdReadEverySec >= until) break;
      observer.runUntil([] { return false; }, read_at + kOomdReadEverySec);  // at most every kOomdReadEverySec
    }
    status.t = monotonicSeconds();
    status.when = "before_pressure";
    sink.emit(kRecordOomd, status);
    if (!problems.empty()) {
      std::string why;
      for (const auto& p : problems) why += (why.empty() ? "" : "; ") + p;
      return setupFailed(why);
    }
  }
  phase(sink, kPhaseSettingsVerified);
  phase(sink, kPhasePressure);

  const auto settledNow = [&] {
    return plan.decisive_kills > 0 && observer.chosenKills() >= plan.decisive_kills &&
           monotonicSeconds() - observer.lastActivity() >= plan.settle_sec;
  };
  const bool settled = observeWithDrivers(plan, sink, bus, observer, settledNow, deadline);
  probes.stop();
  for (const auto& u : plan.units) observer.refreshUnit(u.unit);
  for (const auto& d : plan.drives) observer.refreshUnit(d.unit);
  observer.finish();
  // Waited for in place: the sampler has stopped and nothing more is recorded live.
  for (const auto& u : plan.units) {
    if (!u.inContainer()) continue;
    auto records = containersOf(u, fs, nullptr, kContainerAtEnd);
    if (!records) sink.emit(kRecordLoss, Loss{monotonicSeconds(), "podman", "error", 1, records.error().str()});
    for (const auto& r : records.value_or(std::vector<ContainerRecord>{})) sink.emit(kRecordContainer, r);
  }
  if (plan.oomd)
    if (auto text = runOomctl()) {
      OomdStatus status = parseOomctl(*text);
      status.t = monotonicSeconds();
      status.when = "end";
      sink.emit(kRecordOomd, status);
    }
  phase(sink, settled ? kPhaseSettled : kPhaseTimeLimit,
        std::to_string(observer.chosenKills()) +
            (plan.oomd ? " kill(s) by the kernel OOM killer or systemd-oomd" : " victim(s) chosen by the kernel OOM killer"));
  // The units are left running: the guest powers off after us.
  return endWith(sink, kGuestObserved);
}

}  // namespace oom
