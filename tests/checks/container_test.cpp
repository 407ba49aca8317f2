// A service's load in a Podman container, on real recordings of scenarios/containers/
// limit-decides.json (2026-12-05, TCG): a leak in a container with a 96M limit, in a
// scope of its own under machine.slice (Podman's default --cgroups), restarted by
// systemd after each kill. The kernel sees the kill outside the unit; the host ties it
// to the unit by the container's id, and judges which layer decided it.
#include <set>

#include "checks/timeline_index.hpp"
#include "checks/victim_choice.hpp"
#include "fixtures.hpp"
#include "guest/containers.hpp"

using namespace oom;
using namespace oomtest;

namespace {

const char* const kRecordings[] = {"recorded-container-limit-decides-bookworm.jsonl",
                                   "recorded-container-limit-decides-trixie.jsonl"};
const char* const kScenario = "containers/limit-decides.json";

Scenario withWorker(const std::string& key, nlohmann::ordered_json value) {
  return scenario(kScenario, "", [&](nlohmann::ordered_json& doc) { doc["expect"]["units"]["worker"][key] = value; });
}

Records without(Records recs, const std::function<bool(const nlohmann::json&)>& drop) {
  recs.erase(std::remove_if(recs.begin(), recs.end(), drop), recs.end());
  return recs;
}

bool isContainerRecord(const nlohmann::json& r) { return r["type"] == kRecordContainer; }
bool isPodmanEvent(const nlohmann::json& r) {
  return r["type"] == kRecordJournal && r.contains("fields") && r["fields"].value("SOURCE", "") == kPodmanSource;
}

}  // namespace

TEST(Containers, TheContainersLimitDecidesAndTheKillsAreTheUnits) {
  for (const char* file : kRecordings) {
    SCOPED_TRACE(file);
    const Timeline t = timeline(file);
    const Verdict v = evaluate(scenario(kScenario), t);
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    // The kernel's task_memcg is the container's scope, outside the unit ...
    ASSERT_FALSE(t.kills.empty());
    EXPECT_TRUE(has(t.kills.front().task_memcg, "/machine.slice/libpod-")) << t.kills.front().task_memcg;
    EXPECT_NE(t.kills.front().unit, "worker.service");
    // ... and every kill is the worker's, each in a container Podman started for it.
    const TimelineIndex index(t);
    ASSERT_EQ(index.eventsIn("worker.service").size(), t.kills.size());
    for (const auto* e : index.eventsIn("worker.service")) {
      EXPECT_EQ(e->container.size(), 64u);
      EXPECT_EQ(index.layerOf(*e).layer, kLayerContainer);
    }
    const CheckResult* d = find(v, "worker.decided_by");
    ASSERT_NE(d, nullptr);
    EXPECT_TRUE(has(d->observed, "container: the container's memory limit (--memory) of /machine.slice/libpod-"))
        << d->observed;
    const CheckResult* w = find(v, "witnesses");
    ASSERT_NE(w, nullptr);
    EXPECT_TRUE(has(w->observed, "in containers' own scopes, outside the unit")) << w->observed;
  }
}

TEST(Containers, PodmansOwnWordIsCitedNotTrusted) {
  // Bookworm's Podman 4.3 reports OOMKilled false for a kill inside the container's
  // limit (docs/containers.md#5); trixie's 5.4 true. The verdict is the same.
  const std::pair<const char*, const char*> expected[] = {
      {"recorded-container-limit-decides-bookworm.jsonl", "State.OOMKilled true for 0, exit code 137 for 4"},
      {"recorded-container-limit-decides-trixie.jsonl", "State.OOMKilled true for 4, exit code 137 for 4"}};
  for (const auto& [file, podman] : expected) {
    SCOPED_TRACE(file);
    const Verdict v = evaluate(scenario(kScenario), timeline(file));
    const CheckResult* c = find(v, "worker.oom_killed");
    ASSERT_NE(c, nullptr) << dump(v);
    EXPECT_EQ(c->outcome, CheckOutcome::pass) << c->observed;
    EXPECT_TRUE(has(c->observed, "4 kill(s) in its containers")) << c->observed;
    EXPECT_TRUE(has(c->observed, podman)) << c->observed;
  }
}

TEST(Containers, AnotherLayerExpectedFails) {
  for (const char* file : kRecordings) {
    SCOPED_TRACE(file);
    const Timeline t = timeline(file);
    for (const char* layer : {kLayerUnit, kLayerKernel, kLayerSlice}) {
      const Verdict v = evaluate(withWorker("decided_by", layer), t);
      const CheckResult* c = find(v, "worker.decided_by");
      ASSERT_NE(c, nullptr);
      EXPECT_EQ(c->outcome, CheckOutcome::fail) << layer;
      EXPECT_TRUE(has(c->why, "the container's own memory limit was hit before")) << c->why;
    }
    const Verdict none = evaluate(withWorker("oom_killed", false), t);
    EXPECT_EQ(outcome(none, "worker.oom_killed"), CheckOutcome::fail);
  }
}

TEST(Containers, WithoutPodmansRecordsTheKillsAreNobodysAndTheRunSaysSo) {
  const Records recs = records(kRecordings[0]);
  // Either witness of the container's id is enough to tie it to the unit ...
  for (const auto& drop : {isContainerRecord, isPodmanEvent}) {
    const Verdict v = evaluate(scenario(kScenario), fold(without(recs, drop)));
    EXPECT_EQ(outcome(v, "worker.oom_kills"), CheckOutcome::pass) << dump(v);
  }
  // ... without both, the kills are in cgroups no unit of the scenario ran: collateral.
  const Verdict v = evaluate(scenario(kScenario),
                             fold(without(recs, [](const nlohmann::json& r) { return isContainerRecord(r) || isPodmanEvent(r); })));
  EXPECT_EQ(outcome(v, "collateral"), CheckOutcome::fail) << dump(v);
  EXPECT_NE(v.verdict, VerdictKind::pass);
}

TEST(Containers, TheHostRejudgesTheContainersSetup) {
  // The guest found nothing wrong; a container record that shows no limit in the kernel
  // is a setting not applied, whatever the guest said.
  Records recs = records(kRecordings[0]);
  for (auto& r : recs)
    if (isContainerRecord(r) && r["when"] == kContainerAtSetup) r["memory_max"] = "max";
  const Verdict v = evaluate(scenario(kScenario), fold(recs));
  const CheckResult* c = find(v, "setup");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->outcome, CheckOutcome::inconclusive);
  EXPECT_TRUE(has(c->observed, "the host finds container ")) << c->observed;
  EXPECT_TRUE(has(c->observed, "memory.max of /machine.slice/libpod-")) << c->observed;
}

TEST(Containers, ContainerIdsAreReadFromPodmansCgroupNames) {
  const std::string id(64, 'a');
  EXPECT_EQ(containerIdInCgroup("/machine.slice/libpod-" + id + ".scope/container"), id);
  EXPECT_EQ(containerIdInCgroup("/machine.slice/libpod-" + id + ".scope"), id);
  EXPECT_EQ(containerIdInCgroup("/system.slice/w.service/runtime/libpod-payload-" + id), id);
  EXPECT_EQ(containerIdInCgroup("libpod-" + id + ".scope"), id);
  EXPECT_EQ(containerIdInCgroup("/machine.slice/libpod-conmon-" + id + ".scope"), "");
  EXPECT_EQ(containerIdInCgroup("/machine.slice/libpod-" + id.substr(1) + ".scope"), "");
  EXPECT_EQ(containerIdInCgroup("/system.slice/worker.service"), "");
}

TEST(Containers, TheVictimsAdjustmentIsExplainedAgainstTheUnitsAndConmons) {
  for (const char* file : kRecordings) {
    SCOPED_TRACE(file);
    const Timeline t = timeline(file);
    const TimelineIndex index(t);
    const auto events = index.eventsIn("worker.service");
    ASSERT_FALSE(events.empty());
    const std::string note = containerNote(index, *events.front());
    EXPECT_TRUE(has(note, "ran in container " + events.front()->container.substr(0, 12) + " of worker.service"))
        << note;
    // The unit sets OOMScoreAdjust=0 and the container's process ran at 0 on both releases.
    EXPECT_TRUE(has(note, "with oom_score_adj 0, the same as the unit's OOMScoreAdjust=0")) << note;
    EXPECT_TRUE(has(note, "conmon, Podman's monitor, runs at -1000 and is never chosen")) << note;
    EXPECT_TRUE(has(explainVictim(index, *events.front()).sentence, note)) << note;
  }
}

TEST(Containers, WhoRestartedItIsSystemdAndTwoPoliciesWouldShow) {
  for (const char* file : kRecordings) {
    SCOPED_TRACE(file);
    const Records recs = records(file);
    const Verdict v = evaluate(scenario(kScenario), fold(recs));
    const CheckResult* c = find(v, "worker.restarted_by");
    ASSERT_NE(c, nullptr) << dump(v);
    EXPECT_EQ(c->outcome, CheckOutcome::pass) << c->observed;
    EXPECT_TRUE(has(c->observed, "systemd: systemd NRestarts=4, Podman restarted a container 0 time(s)"))
        << c->observed;
    // Podman's own policy restarting the same container too (as --restart=on-failure does:
    // its journal event): two policies on one service, which this scenario says is not so.
    nlohmann::json restart;
    for (const auto& r : recs)
      if (isPodmanEvent(r) && r["fields"].value("PODMAN_EVENT", "") == kPodmanEventStart) {
        restart = r;
        break;
      }
    ASSERT_FALSE(restart.is_null());
    restart["fields"]["PODMAN_EVENT"] = kPodmanEventRestart;
    restart["t"] = firstKillT(recs) + 0.5;
    const Verdict both = evaluate(scenario(kScenario), fold(withRecord(recs, restart)));
    const CheckResult* b = find(both, "worker.restarted_by");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->outcome, CheckOutcome::fail);
    EXPECT_TRUE(has(b->observed, "both:")) << b->observed;
    EXPECT_TRUE(has(b->why, "two restart policies on one service")) << b->why;
  }
}

TEST(Containers, WithoutALimitTheKernelDecidesAndRanksTheContainerAgainstTheHost) {
  for (const char* file : {"recorded-container-no-limit-bookworm.jsonl", "recorded-container-no-limit-trixie.jsonl"}) {
    SCOPED_TRACE(file);
    const Timeline t = timeline(file);
    const Verdict v = evaluate(scenario("containers/no-limit-tight-guest.json"), t);
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    const CheckResult* d = find(v, "worker.decided_by");
    ASSERT_NE(d, nullptr);
    EXPECT_TRUE(has(d->observed, "kernel: the whole guest's memory (CONSTRAINT_NONE)")) << d->observed;
    // The kernel weighed the container's process against the host's services' ...
    const TimelineIndex index(t);
    const auto events = index.eventsIn("worker.service");
    ASSERT_EQ(events.size(), 1u);
    const VictimChoice choice = explainVictim(index, *events.front());
    ASSERT_EQ(choice.source, VictimChoice::Source::task_dump);
    EXPECT_FALSE(choice.memcg);
    EXPECT_TRUE(std::any_of(choice.candidates.begin(), choice.candidates.end(),
                            [](const VictimCandidate& c) { return c.unit == "cache.service" && !c.victim; }));
    const auto victim = std::find_if(choice.candidates.begin(), choice.candidates.end(),
                                     [](const VictimCandidate& c) { return c.victim; });
    ASSERT_NE(victim, choice.candidates.end());
    EXPECT_EQ(victim->unit, "worker.service");  // its scope's samples name the unit that ran it
    // ... and conmon, at -1000, was listed but never a candidate.
    EXPECT_GE(choice.unkillable, 1u);
    EXPECT_TRUE(has(choice.sentence, "conmon, Podman's monitor, runs at -1000 and is never chosen")) << choice.sentence;
  }
}

// scenarios/containers/quadlet-limit-decides.json, recorded on trixie (2026-12-06, TCG):
// the unit Quadlet's generator wrote from quadlet/worker.container, the container below
// the unit (--cgroups=split, Quadlet's default), removed after each exit (--rm).
TEST(Containers, AQuadletUnitsContainerIsBelowTheUnitAndItsFileIsReadBack) {
  const char* const file = "recorded-container-quadlet-trixie.jsonl";
  const char* const quadlet = "containers/quadlet-limit-decides.json";
  const Timeline t = timeline(file);
  const Verdict v = evaluate(scenario(quadlet), t);
  EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
  // The kernel's task_memcg is inside the unit this time: the container's own cgroup.
  ASSERT_EQ(t.kills.size(), 4u);
  for (const auto& k : t.kills)
    EXPECT_TRUE(has(k.task_memcg, "/system.slice/worker.service/libpod-payload-")) << k.task_memcg;
  const TimelineIndex index(t);
  for (const auto* e : index.eventsIn("worker.service")) {
    EXPECT_EQ(index.layerOf(*e).layer, kLayerContainer);
    // Podman, run detached, is gone; the container's process carries the unit's value
    // (conmon 2.1.12 restores it), in every container systemd started again too.
    EXPECT_EQ(e->victim->oom_score_adj, 300);
    EXPECT_TRUE(has(explainVictim(index, *e).sentence, "the same as the unit's OOMScoreAdjust=300"));
  }
  // Nothing is left to inspect at the end: Quadlet's podman run has --rm.
  const CheckResult* r = find(v, "worker.restarted_by");
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(has(r->observed, "systemd: systemd NRestarts=3")) << r->observed;
  EXPECT_TRUE(has(r->observed, "no container of it left to inspect at the end, 4 removed (podman run --rm)"))
      << r->observed;

  // The unit must be the one Quadlet wrote from the installed file: without the guest's
  // word for it, setup is not verified.
  Records recs = records(file);
  for (auto& rec : recs)
    if (rec["type"] == kRecordUnitSetup && rec["unit"] == "worker.service") {
      auto& files = rec["unit_files"];
      files.erase(std::remove_if(files.begin(), files.end(),
                                 [](const nlohmann::json& f) { return has(f.get<std::string>(), "written by Quadlet"); }),
                  files.end());
    }
  const Verdict without = evaluate(scenario(quadlet), fold(recs));
  const CheckResult* setup = find(without, "setup");
  ASSERT_NE(setup, nullptr);
  EXPECT_EQ(setup->outcome, CheckOutcome::inconclusive);
  EXPECT_TRUE(has(dump(without), "no unit of worker.service (written by Quadlet from /etc/containers/systemd/worker.container)"))
      << dump(without);
  // A container setting that did not apply is found by the host too (Podman's Memory).
  for (auto& rec : recs)
    if (rec["type"] == kRecordContainer) rec["memory_bytes"] = 0;
  const Verdict unlimited = evaluate(scenario(quadlet), fold(recs));
  EXPECT_TRUE(has(dump(unlimited), "Podman shows Memory 0, asked 100663296 (--memory)")) << dump(unlimited);
}

// scenarios/containers/podman-restarts.json, recorded on both releases (2026-12-06, TCG):
// Podman's --restart=on-failure:2, the unit without Restart=. Podman starts the same
// container again and systemd never does; the releases differ in how it ends.
TEST(Containers, PodmansOwnRestartPolicyRestartsTheSameContainer) {
  struct Case {
    const char* file;
    std::size_t kills;
    const char* restarts;  // what restarted_by observes
  };
  for (const Case& k : {Case{"recorded-container-podman-restarts-bookworm.jsonl", 2,
                             "podman: systemd NRestarts=0, Podman restarted a container 1 time(s) (its events; "
                             "RestartCount at the end adds up to 2)"},
                        Case{"recorded-container-podman-restarts-trixie.jsonl", 3,
                             "podman: systemd NRestarts=0, Podman restarted a container 2 time(s) (its events; "
                             "RestartCount at the end adds up to 2)"}}) {
    SCOPED_TRACE(k.file);
    const Timeline t = timeline(k.file);
    const Verdict v = evaluate(scenario("containers/podman-restarts.json"), t);
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    EXPECT_EQ(t.kills.size(), k.kills);
    // One container, started again by Podman: every kill is in it.
    const TimelineIndex index(t);
    std::set<std::string> containers;
    for (const auto* e : index.eventsIn("worker.service")) containers.insert(e->container);
    EXPECT_EQ(containers.size(), 1u);
    const CheckResult* r = find(v, "worker.restarted_by");
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(has(r->observed, k.restarts)) << r->observed;
    // Expecting nobody to restart it fails, and says who did.
    const Verdict neither = evaluate(scenario("containers/podman-restarts.json", "", [](nlohmann::ordered_json& doc) {
                                       doc["expect"]["units"]["worker"]["restarted_by"] = "neither";
                                     }),
                                     t);
    const CheckResult* n = find(neither, "worker.restarted_by");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->outcome, CheckOutcome::fail);
    EXPECT_TRUE(has(n->why, "the service was restarted by podman, not neither")) << n->why;
  }
}

// scenarios/containers/published-port.json, recorded on both releases, and its Quadlet
// twin on trixie (2026-12-06, TCG): a container on Podman's bridge with 127.0.0.1:8080
// published, oomstress answering there (--health-port) from READY=1 until its kill;
// systemd starts a new container after each.
TEST(Containers, APublishedPortIsDownFromEachKillUntilTheNewContainerAnswers) {
  const std::pair<const char*, const char*> runs[] = {
      {"recorded-container-published-port-bookworm.jsonl", "containers/published-port.json"},
      {"recorded-container-published-port-trixie.jsonl", "containers/published-port.json"},
      {"recorded-container-quadlet-published-port-trixie.jsonl", "containers/quadlet-published-port.json"}};
  for (const auto& [file, scenario_file] : runs) {
    SCOPED_TRACE(file);
    const Records recs = records(file);
    const Timeline t = fold(recs);
    const Scenario s = scenario(scenario_file);
    const Verdict v = evaluate(s, t);
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    // Podman's own record of the network, before the pressure.
    std::size_t at_setup = 0;
    for (const auto& c : t.containers)
      if (c.when == kContainerAtSetup) {
        ++at_setup;
        EXPECT_EQ(c.network_mode, kContainerNetworkBridge);
        EXPECT_EQ(c.published, std::vector<std::string>{"127.0.0.1:8080:8080"});
      }
    EXPECT_GE(at_setup, 1u);
    // After each kill the probe fails until the new container answers: never sooner than
    // systemd's RestartSec=2s, and within the scenario's 20 s.
    ASSERT_GE(t.kills.size(), 2u);
    for (const auto& kill : t.kills) {
      std::optional<double> failed, back;
      for (const auto& x : recs) {
        if (x["type"] != "probe" || x["t"].get<double>() < kill.t) continue;
        if (!x["ok"].get<bool>() && !failed) failed = x["t"].get<double>();
        if (x["ok"].get<bool>() && failed) {
          back = x["t"].get<double>();
          break;
        }
      }
      ASSERT_TRUE(failed.has_value()) << "kill at " << kill.t;
      ASSERT_TRUE(back.has_value()) << "kill at " << kill.t;
      EXPECT_GT(*back - kill.t, 2.0);
      EXPECT_LT(*back - kill.t, 20.0);
    }
    const CheckResult* r = find(v, "health.recovers_within");
    ASSERT_NE(r, nullptr);
    EXPECT_TRUE(has(r->observed, "back after")) << r->observed;
    // A tighter window fails, with the times that broke it.
    const Verdict tight = evaluate(scenario(scenario_file, "", [](nlohmann::ordered_json& doc) {
                                     doc["expect"]["probes"]["health"]["recovers_within"] = "2s";
                                   }),
                                   t);
    const CheckResult* f = find(tight, "health.recovers_within");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->outcome, CheckOutcome::fail) << dump(tight);
    // A container Podman put on another network is found by the host, whatever the guest said.
    Records other = recs;
    for (auto& rec : other)
      if (rec["type"] == kRecordContainer && rec["when"] == kContainerAtSetup) rec["network_mode"] = "none";
    const Verdict moved = evaluate(s, fold(other));
    EXPECT_EQ(moved.verdict, VerdictKind::inconclusive) << dump(moved);
    EXPECT_TRUE(has(dump(moved), "Podman shows NetworkMode none, asked bridge (--network)")) << dump(moved);
  }
}

// scenarios/containers/own-image.json, recorded on both releases (2026-12-06, TCG): the
// worker of limit-decides in the team's own image (localhost/shop/web:1.4, user web),
// loaded in the guest from the payload's docker-archive, oomstress mounted into it.
TEST(Containers, TheTeamsOwnImageIsLoadedAndTheLoadRunsAsItsUser) {
  const char* const own_image = "containers/own-image.json";
  for (const char* file : {"recorded-container-own-image-bookworm.jsonl", "recorded-container-own-image-trixie.jsonl"}) {
    SCOPED_TRACE(file);
    const Records recs = records(file);
    const Timeline t = fold(recs);
    const Scenario s = scenario(own_image);
    const Verdict v = evaluate(s, t);
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    // Loaded before any unit, from the payload, and named by the ID Podman gave it ...
    std::string loaded;
    for (const auto& r : recs)
      if (r["type"] == kRecordPhase && r["name"] == kPhaseContainerImage) loaded = r["detail"];
    EXPECT_TRUE(has(loaded, "localhost/shop/web:1.4 loaded from /opt/oomharness/payload/shop-web.tar in ")) << loaded;
    // ... which is every container's image, run as the image's own user.
    std::size_t containers = 0;
    for (const auto& c : t.containers) {
      ++containers;
      EXPECT_EQ(c.image, "localhost/shop/web:1.4");
      EXPECT_EQ(c.user, "web");
      ASSERT_EQ(c.image_id.size(), 64u);
      EXPECT_TRUE(has(loaded, "(image ID " + c.image_id.substr(0, 12) + ")")) << loaded;
    }
    EXPECT_GE(containers, 3u);
    // The kernel's own line says whose process it killed: the image's uid, not root.
    ASSERT_GE(t.kills.size(), 2u);
    for (const auto& k : t.kills) {
      const bool says_uid = std::any_of(k.lines.begin(), k.lines.end(), [](const std::string& l) {
        return has(l, "Killed process") && has(l, "UID:10001");
      });
      EXPECT_TRUE(says_uid) << "kill of pid " << k.pid << " at " << k.t;
    }
    const CheckResult* d = find(v, "worker.decided_by");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->outcome, CheckOutcome::pass);
    // A container Podman ran from another image is found by the host, whatever the guest said.
    Records other = recs;
    for (auto& rec : other)
      if (rec["type"] == kRecordContainer && rec["when"] == kContainerAtSetup)
        rec["image"] = "localhost/oomharness/oomstress:latest";
    const Verdict swapped = evaluate(s, fold(other));
    EXPECT_EQ(swapped.verdict, VerdictKind::inconclusive) << dump(swapped);
    EXPECT_TRUE(has(dump(swapped), "Podman shows image localhost/oomharness/oomstress:latest, asked localhost/shop/web:1.4"))
        << dump(swapped);
  }
}
