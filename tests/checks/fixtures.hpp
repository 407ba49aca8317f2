#pragma once
// Shared by the checks tests: fixture lines (recorded-*.jsonl are real guest runs,
// planned-*.jsonl real runs that carry the plan record (binding_test.cpp),
// synthetic-*.jsonl come from fixtures/make_fixtures.py), scenarios, and small
// edits of a recording as JSON records.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/verdict.hpp"
#include "run/packaged_units.hpp"
#include "scenario/parse.hpp"
#include "vm/image.hpp"
#include "timeline/message_ids.hpp"

namespace oomtest {

using Records = std::vector<nlohmann::json>;

inline std::filesystem::path source() { return OOM_SOURCE_DIR; }

inline std::vector<std::string> fixtureLines(const std::string& name) {
  std::ifstream in(source() / "tests/checks/fixtures" / name);
  EXPECT_TRUE(in) << name;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline Records records(const std::string& name) {
  Records out;
  for (const auto& l : fixtureLines(name)) out.push_back(nlohmann::json::parse(l));
  return out;
}

inline oom::Timeline fold(const std::vector<std::string>& lines) {
  oom::Timeline t;
  for (const auto& l : lines) oom::applyStreamLine(t, l);
  return t;
}

inline oom::Timeline fold(const Records& recs) {
  oom::Timeline t;
  for (const auto& r : recs) EXPECT_TRUE(oom::applyStreamLine(t, r.dump())) << r.dump();
  return t;
}

inline oom::Timeline timeline(const std::string& name) { return fold(records(name)); }

// "trixie" for "recorded-nginx-kill-trixie.jsonl": the release a recording ran on.
inline std::string releaseOf(const std::string& recording) {
  const std::string stem = recording.substr(0, recording.rfind('.'));
  return stem.substr(stem.rfind('-') + 1);
}

// The packaged unit files of the guest image a recording ran in, as that image's build
// copied them out: fixtures/images/<release>-<package>.../ holds its image.json and
// units/ (a scenario with `"unit_file": {"package": ...}` is read with them, as `run`
// reads the image). `release` "" is the scenario's own.
inline auto recordedImage(const std::string& release) {
  return [release](const oom::GuestSpec& guest) -> oom::Expected<oom::PackagedUnits> {
    std::string name = release.empty() ? guest.release : release;
    for (const auto& p : guest.packages) name += "-" + p;
    const auto dir = source() / "tests/checks/fixtures/images" / name;
    std::ifstream in(dir / "image.json");
    if (!in) return oom::failSetup(dir.string(), "no recorded guest image here");
    oom::GuestImage image = nlohmann::json::parse(in).get<oom::GuestImage>();
    image.dir = dir;
    return oom::packagedUnitsOf(image);
  };
}

inline oom::Scenario scenario(const std::string& file, const std::string& expect_json = "",
                              const std::function<void(nlohmann::ordered_json&)>& edit = {},
                              const std::string& release = "") {
  auto c = oom::loadScenarioFile(source() / "scenarios" / file, std::nullopt, recordedImage(release));
  EXPECT_TRUE(c.ok()) << file;
  if (expect_json.empty() && !edit) return *c.scenario;
  auto doc = c.scenario->document;
  if (!expect_json.empty()) doc["expect"] = nlohmann::ordered_json::parse(expect_json);
  if (edit) edit(doc);
  // Its drop-ins and unit files are read relative to the file's own folder.
  const auto path = source() / "scenarios" / file;
  oom::ScenarioSources sources;
  sources.base_dir = path.parent_path();
  sources.packaged_units = recordedImage(release);
  auto again = oom::parseScenario(doc.dump(), path.string(), sources);
  EXPECT_TRUE(again.ok()) << (again.errors.empty() ? "" : again.errors[0].str());
  return *again.scenario;
}

// A pointer into a temporary verdict would dangle (ASan found two tests doing
// it): bind the verdict to a name first.
const oom::CheckResult* find(oom::Verdict&& v, const std::string& name, const std::string& unit = "") = delete;
inline const oom::CheckResult* find(const oom::Verdict& v, const std::string& name, const std::string& unit = "") {
  for (const auto& c : v.checks)
    if (c.name == name && (unit.empty() || c.unit == unit)) return &c;
  return nullptr;
}

inline oom::CheckOutcome outcome(const oom::Verdict& v, const std::string& name, const std::string& unit = "") {
  const auto* c = find(v, name, unit);
  EXPECT_NE(c, nullptr) << "no check " << name;
  return c ? c->outcome : oom::CheckOutcome::note;
}

inline std::string dump(const oom::Verdict& v) { return nlohmann::json(v).dump(2); }

inline bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The time of the recording's first kernel kill record.
inline double firstKillT(const Records& recs) {
  double t = 1e300;
  for (const auto& r : recs)
    if (r["type"] == "oom_kill") t = std::min(t, r["t"].get<double>());
  return t;
}

// The recording with one more record, before its end record.
inline Records withRecord(Records recs, nlohmann::json extra) {
  recs.insert(recs.end() - 1, std::move(extra));
  return recs;
}

// The recording's phase time, or -1.
inline double phaseT(const Records& recs, const std::string& name) {
  for (const auto& r : recs)
    if (r["type"] == "phase" && r["name"] == name) return r["t"].get<double>();
  return -1;
}

// The recordings and the shipped scenario each one ran.
struct Recording {
  const char* file;
  const char* scenario;
  // The shipped scenario as it was when recorded, where it has changed since: the host
  // compares the settings the guest read back with the plan, so a recording is judged
  // against the scenario it ran.
  void (*as_run)(nlohmann::ordered_json& scenario) = nullptr;
};

inline nlohmann::ordered_json& unitOf(nlohmann::ordered_json& doc, const std::string& service) {
  for (auto& s : doc["services"])
    if (s["name"] == service) return s["unit"];
  throw std::logic_error("no service " + service);
}
inline nlohmann::ordered_json& loadOf(nlohmann::ordered_json& doc, const std::string& service) {
  for (auto& s : doc["services"])
    if (s["name"] == service) return s["load"];
  throw std::logic_error("no service " + service);
}
inline void restartLoopAsRun(nlohmann::ordered_json& doc) { unitOf(doc, "exporter")["StartLimitIntervalSec"] = "60s"; }
// recorded-half-alive-continue-main-killed-bookworm.jsonl ran before the scenario's web
// had a supervisor: its main process was one of the four that held the load.
inline void halfAliveWithoutSupervisor(nlohmann::ordered_json& doc) { loadOf(doc, "web").erase("supervisor"); }
inline const std::vector<Recording>& recordings() {
  static const std::vector<Recording> all = {
      {"recorded-three-services-bookworm.jsonl", "three-services.json"},
      {"recorded-three-services-trixie.jsonl", "three-services.json"},
      {"recorded-batch-stop-checkpoint-bookworm.jsonl", "batch-stop-checkpoint.json"},
      {"recorded-image-worker-bookworm.jsonl", "image-worker.json"},
      // With the sampler thread: guest samples, kill seen_t, gap causes.
      {"recorded-thrash-no-swap-bookworm.jsonl", "thrash-no-swap.json"},
      {"recorded-thrash-no-swap-trixie.jsonl", "thrash-no-swap.json"},
      {"recorded-memorymax-contained-trixie.jsonl", "memorymax-contained.json"},
      {"recorded-image-worker-trixie.jsonl", "image-worker.json"},  // a group kill on 6.12
      // systemd 257 reports every kill of the loop as oom-kill (252 does not: below).
      // Recorded with StartLimitIntervalSec=60s (the scenario then; now 300s: the checks read the
      // guest's own setup record, which says 60s, so the verdict is the same).
      {"recorded-restart-loop-trixie.jsonl", "restart-loop.json", restartLoopAsRun},
      // Run with MemoryMax=160M and start_after 15s (the scenario then): 12 kills in
      // 1.4 s, the last 2 printed without a report (rate-limited), attributed by pid.
      {"recorded-burst-many-small-trixie.jsonl", "burst-many-small.json",
       [](nlohmann::ordered_json& doc) {
         unitOf(doc, "shards")["MemoryMax"] = "160M";
         loadOf(doc, "shards").erase("supervisor");  // both ran before the shards had one
       }},
      // Run with start_after 8s (the scenario then): 13 kills, 3 without a report (6.1's rate limit), attributed by pid.
      {"recorded-burst-many-small-bookworm.jsonl", "burst-many-small.json",
       [](nlohmann::ordered_json& doc) {
         loadOf(doc, "shards")["start_after"] = "8s";
         loadOf(doc, "shards").erase("supervisor");
       }},
      // The oomd-swap leak with swap but no systemd-oomd: the kernel kills it (vm.swappiness 100).
      {"recorded-swap-no-oomd-bookworm.jsonl", "swap-no-oomd.json"},
      {"recorded-swap-no-oomd-trixie.jsonl", "swap-no-oomd.json"},
      // The same leak with 512M of zram: data that compresses 3 times, and data that does not.
      {"recorded-zram-compressible-bookworm.jsonl", "zram-compressible.json"},
      {"recorded-zram-incompressible-bookworm.jsonl", "zram-incompressible.json"},
      {"recorded-zram-compressible-trixie.jsonl", "zram-compressible.json"},
      {"recorded-zram-incompressible-trixie.jsonl", "zram-incompressible.json"},
      // Eleven units from drop-ins, with the observer awaiting its D-Bus calls: no gap.
      {"recorded-many-units-bookworm.jsonl", "many-units.json"},
      {"recorded-many-units-trixie.jsonl", "many-units.json"},
      // A real program (payload perl) grown by a load driver, behind two probes; a neighbour's
      // spike makes the kernel kill its worker.
      {"recorded-prefork-continue-bookworm.jsonl", "prefork/continue.json"},
      {"recorded-prefork-kill-bookworm.jsonl", "prefork/kill.json"},
      {"recorded-prefork-continue-trixie.jsonl", "prefork/continue.json"},
      {"recorded-prefork-kill-trixie.jsonl", "prefork/kill.json"},
      // nginx (the packaged program, the team's config from the payload): a slow upload grows
      // one worker, a neighbour's spike makes the kernel kill it; each process named by its title.
      {"recorded-nginx-continue-bookworm.jsonl", "nginx/continue.json"},
      {"recorded-nginx-kill-bookworm.jsonl", "nginx/kill.json"},
      {"recorded-nginx-continue-trixie.jsonl", "nginx/continue.json"},
      {"recorded-nginx-kill-trixie.jsonl", "nginx/kill.json"},
      // A packaged program (redis-server) and its fork: copy-on-write during a BGSAVE.
      {"recorded-redis-bgsave-bookworm.jsonl", "redis-bgsave/bgsave.json"},
      // The same, run again after the titles were recorded: both releases killed the server.
      {"recorded-redis-bgsave-run2-bookworm.jsonl", "redis-bgsave/bgsave.json"},
      {"recorded-redis-bgsave-run2-trixie.jsonl", "redis-bgsave/bgsave.json"},
      // A leaking worker in a Podman container with its own 96M limit (--cgroups=enabled: a
      // scope under machine.slice), restarted by systemd after each kill (container_test.cpp).
      {"recorded-container-limit-decides-bookworm.jsonl", "containers/limit-decides.json"},
      {"recorded-container-limit-decides-trixie.jsonl", "containers/limit-decides.json"},
      // The same worker without a limit of its own on a 640M guest: the kernel decides for
      // the whole guest, and ranks the container's process against the host's services.
      {"recorded-container-no-limit-bookworm.jsonl", "containers/no-limit-tight-guest.json"},
      {"recorded-container-no-limit-trixie.jsonl", "containers/no-limit-tight-guest.json"},
      // The policy of limit-decides as a Quadlet file (trixie): the unit Podman's generator
      // wrote, the container below it (--cgroups=split), removed after each exit (--rm).
      {"recorded-container-quadlet-trixie.jsonl", "containers/quadlet-limit-decides.json"},
      // Podman's own --restart=on-failure:2, no Restart= in the unit: Podman restarts the same
      // container (twice on trixie; on bookworm podman run exits during the second).
      {"recorded-container-podman-restarts-bookworm.jsonl", "containers/podman-restarts.json"},
      {"recorded-container-podman-restarts-trixie.jsonl", "containers/podman-restarts.json"},
      // The worker behind a published port (Podman's bridge), oomstress answering a probe
      // there until each kill; systemd starts a new container after each.
      {"recorded-container-published-port-bookworm.jsonl", "containers/published-port.json"},
      {"recorded-container-published-port-trixie.jsonl", "containers/published-port.json"},
      {"recorded-container-quadlet-published-port-trixie.jsonl", "containers/quadlet-published-port.json"},
      // limit-decides with the team's own image, loaded from the docker-archive in the
      // payload (podman load), oomstress mounted into it, run as the image's user.
      {"recorded-container-own-image-bookworm.jsonl", "containers/own-image.json"},
      {"recorded-container-own-image-trixie.jsonl", "containers/own-image.json"},
  };
  return all;
}

inline oom::Scenario scenarioOf(const Recording& rec) {
  if (!rec.as_run) return scenario(rec.scenario, "", {}, releaseOf(rec.file));
  return scenario(rec.scenario, "", [&](nlohmann::ordered_json& doc) { rec.as_run(doc); }, releaseOf(rec.file));
}

}  // namespace oomtest
