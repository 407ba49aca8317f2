// A timeline is judged only against the scenario it was recorded with (issue 22):
// every real recording is bound to its own scenario, and each kind of change to the
// scenario (a unit's setting, its load, the guest's memory or swap, systemd-oomd) is
// named as a difference, from a `plan` record or, for recordings made before that
// record existed, from the evidence they carry.
#include <filesystem>

#include "checks/binding.hpp"
#include "fixtures.hpp"
#include "plan/fingerprint.hpp"
#include "plan/planner.hpp"

using namespace oom;
using namespace oomtest;

namespace {

namespace fs = std::filesystem;
using Edit = std::function<void(nlohmann::ordered_json&)>;

// The scenario a recording ran: the recordings() table's (with its as_run edits), else by
// its file name, recorded-<scenario>-<release>.jsonl, as tools/regress.sh finds it.
Scenario ranWith(const std::string& file, const Edit& edit = {}) {
  // Recorded with StartLimitIntervalSec=60s, as its trixie twin (fixtures.hpp).
  if (file == "recorded-restart-loop-bookworm.jsonl")
    return scenario("restart-loop.json", "", [&](nlohmann::ordered_json& doc) {
      restartLoopAsRun(doc);
      if (edit) edit(doc);
    });
  if (file == "recorded-half-alive-continue-main-killed-bookworm.jsonl")
    return scenario("half-alive-continue.json", "", [&](nlohmann::ordered_json& doc) {
      halfAliveWithoutSupervisor(doc);
      if (edit) edit(doc);
    });
  for (const auto& rec : recordings())
    if (file == rec.file)
      return scenario(rec.scenario, "", [&](nlohmann::ordered_json& doc) {
        if (rec.as_run) rec.as_run(doc);
        if (edit) edit(doc);
      }, releaseOf(rec.file));
  std::string name = file.substr(std::string("recorded-").size());
  name = name.substr(0, name.rfind('-'));
  std::optional<fs::path> units;
  if (name == "api-rollout-proposed") units = source() / "scenarios/rollout/proposed";
  if (name.rfind("api-rollout-", 0) == 0) name = "rollout/api-rollout";
  else if (name == "redis-bgsave") name = "redis-bgsave/bgsave";
  else if (name == "nginx-continue-stall") name = "nginx/continue";
  else if (!fs::exists(source() / "scenarios" / (name + ".json"))) name = "examples/" + name;
  const fs::path path = source() / "scenarios" / (name + ".json");
  auto c = loadScenarioFile(path, units, recordedImage(releaseOf(file)));
  EXPECT_TRUE(c.ok()) << file;
  if (!edit) return *c.scenario;
  auto doc = c.scenario->document;
  edit(doc);
  ScenarioSources sources{path.parent_path(), units};
  sources.packaged_units = recordedImage(releaseOf(file));
  auto again = parseScenario(doc.dump(), path.string(), sources);
  EXPECT_TRUE(again.ok()) << (again.errors.empty() ? "" : again.errors[0].str());
  return *again.scenario;
}

PlanBinding bind(const Scenario& s, const Timeline& t) {
  const auto plan = makeGuestPlan(s);
  EXPECT_TRUE(plan.has_value());
  return bindTimeline(*plan, t);
}

std::string listed(const PlanBinding& b) {
  std::string out = b.by;
  for (const auto& d : b.differences) out += "\n  " + d.str();
  return out;
}

const PlanDifference* differenceIn(const PlanBinding& b, const std::string& field) {
  for (const auto& d : b.differences)
    if (d.field == field) return &d;
  return nullptr;
}

// A recording as a run of this build writes it: its plan record right after the guest record.
Records withPlanRecord(Records recs, const Scenario& s) {
  const PlanFacts facts = planFacts(*makeGuestPlan(s));
  const PlanRecord rec{0.5, planFingerprint(facts), facts};
  recs.insert(recs.begin() + 1, toStreamRecord(kRecordPlan, rec));
  return recs;
}

std::vector<std::string> recordedFixtures() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(source() / "tests/checks/fixtures"))
    if (e.path().filename().string().rfind("recorded-", 0) == 0) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Binding, EveryRecordingIsBoundToTheScenarioItRan) {
  const auto files = recordedFixtures();
  EXPECT_GE(files.size(), 32u);
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    const Scenario s = ranWith(file);
    const Timeline t = timeline(file);
    const PlanBinding b = bind(s, t);
    EXPECT_TRUE(b.bound()) << listed(b);
    const Verdict v = evaluate(s, t);
    EXPECT_EQ(find(v, "note.rejudged"), nullptr);
    EXPECT_FALSE(has(v.reason, "re-judged"));
  }
}

TEST(Binding, AnotherScenarioWithOtherServicesIsNamedServiceByService) {
  const PlanBinding b = bind(scenario("three-services.json"), timeline("recorded-oomd-swap-bookworm.jsonl"));
  ASSERT_NE(differenceIn(b, "services.leaker"), nullptr) << listed(b);
  EXPECT_EQ(differenceIn(b, "services.leaker")->str(),
            "services.leaker: the timeline says started as leaker.service, the scenario says (no such service)");
  EXPECT_EQ(differenceIn(b, "services.redis")->str(),
            "services.redis: the timeline says (no such unit), the scenario says started as redis.service");
  EXPECT_EQ(differenceIn(b, "services.api.unit.RestartSec")->str(),
            "services.api.unit.RestartSec: the timeline says (not set in its systemd-run line), the scenario says 5s");
  EXPECT_NE(differenceIn(b, "systemd_oomd"), nullptr) << listed(b);
  EXPECT_NE(differenceIn(b, "guest.swap"), nullptr) << listed(b);
}

TEST(Binding, ChangedExpectationsAreNoChangedPlan) {
  const Scenario s = scenario("three-services.json", R"({"first_killed": "api"})");
  EXPECT_TRUE(bind(s, timeline("recorded-three-services-bookworm.jsonl")).bound());
}

// A change of the scenario and the field the binding must name.
struct Change {
  const char* fixture;
  const char* field;
  Edit edit;
};

const std::vector<Change>& changes() {
  static const std::vector<Change> all = {
      {"recorded-three-services-bookworm.jsonl", "services.api.unit.OOMScoreAdjust",
       [](auto& doc) { unitOf(doc, "api")["OOMScoreAdjust"] = -200; }},
      {"recorded-three-services-trixie.jsonl", "services.report-worker.unit.OOMScoreAdjust",
       [](auto& doc) { unitOf(doc, "report-worker")["OOMScoreAdjust"] = 300; }},
      {"recorded-three-services-bookworm.jsonl", "services.redis.unit.Restart",
       [](auto& doc) { unitOf(doc, "redis")["Restart"] = "always"; }},
      {"recorded-three-services-bookworm.jsonl", "services.api.load",
       [](auto& doc) { loadOf(doc, "api")["baseline"] = "200M"; }},
      {"recorded-three-services-bookworm.jsonl", "guest.memory", [](auto& doc) { doc["guest"]["memory"] = "2G"; }},
      {"recorded-three-services-trixie.jsonl", "guest.memory", [](auto& doc) { doc["guest"]["memory"] = "768M"; }},
      {"recorded-thrash-no-swap-bookworm.jsonl", "guest.memory", [](auto& doc) { doc["guest"]["memory"] = "1G"; }},
      {"recorded-restart-loop-bookworm.jsonl", "guest.memory", [](auto& doc) { doc["guest"]["memory"] = "768M"; }},
      {"recorded-three-services-bookworm.jsonl", "guest.swap", [](auto& doc) { doc["guest"]["swap"] = "512M"; }},
      {"recorded-swap-no-oomd-trixie.jsonl", "guest.swap", [](auto& doc) { doc["guest"]["swap"] = "256M"; }},
      {"recorded-swap-no-oomd-bookworm.jsonl", "guest.swappiness",
       [](auto& doc) { doc["guest"]["swappiness"] = 60; }},
      {"recorded-zram-compressible-bookworm.jsonl", "guest.swap_kind",
       [](auto& doc) { doc["guest"]["swap_kind"] = "disk"; }},
      {"recorded-three-services-bookworm.jsonl", "systemd_oomd",
       [](auto& doc) { doc["systemd_oomd"] = nlohmann::ordered_json::object(); }},
      {"recorded-oomd-swap-bookworm.jsonl", "systemd_oomd",
       [](auto& doc) {
         doc.erase("systemd_oomd");
         doc["expect"] = {{"first_killed", "leaker"}};
       }},
      {"recorded-oomd-swap-trixie.jsonl", "systemd_oomd.SwapUsedLimit",
       [](auto& doc) { doc["systemd_oomd"]["SwapUsedLimit"] = "90%"; }},
      {"recorded-oomd-memory-pressure-bookworm.jsonl", "systemd_oomd.DefaultMemoryPressureDurationSec",
       [](auto& doc) { doc["systemd_oomd"].erase("DefaultMemoryPressureDurationSec"); }},
  };
  return all;
}

TEST(Binding, AnOlderRecordingIsRefusedForEachChangeOfPlan) {
  for (const auto& change : changes()) {
    SCOPED_TRACE(std::string(change.fixture) + " " + change.field);
    const PlanBinding b = bind(ranWith(change.fixture, change.edit), timeline(change.fixture));
    EXPECT_NE(differenceIn(b, change.field), nullptr) << listed(b);
  }
}

TEST(Binding, AnOlderRecordingSaysWhatDiffers) {
  const PlanBinding b = bind(ranWith("recorded-three-services-bookworm.jsonl",
                                     [](auto& doc) {
                                       doc["guest"]["memory"] = "2G";
                                       unitOf(doc, "api")["OOMScoreAdjust"] = -200;
                                     }),
                             timeline("recorded-three-services-bookworm.jsonl"));
  ASSERT_EQ(b.differences.size(), 2u) << listed(b);
  EXPECT_EQ(b.differences[0].str(),
            "guest.memory: the timeline says MemTotal 972MiB, the scenario says 2G (MemTotal 1.8GiB to 2GiB: "
            "the kernel keeps up to 256MiB)");
  EXPECT_EQ(b.differences[1].str(),
            "services.api.unit.OOMScoreAdjust: the timeline says -300 (its systemd-run line), the scenario says -200");
}

// Recorded with earlier scenarios (fixtures.hpp's as_run): the shipped ones now differ.
TEST(Binding, TheShippedScenarioNoLongerBindsARecordingOfItsEarlierSelf) {
  const Scenario shipped = scenario("restart-loop.json");
  const PlanBinding b = bind(shipped, timeline("recorded-restart-loop-trixie.jsonl"));
  EXPECT_NE(differenceIn(b, "services.exporter.unit.StartLimitIntervalSec"), nullptr) << listed(b);
  const PlanBinding burst = bind(scenario("burst-many-small.json"), timeline("recorded-burst-many-small-bookworm.jsonl"));
  EXPECT_NE(differenceIn(burst, "services.shards.load"), nullptr) << listed(burst);
}

TEST(Binding, APlanRecordBindsByItsFacts) {
  const std::string file = "recorded-three-services-bookworm.jsonl";
  const Scenario own = scenario("three-services.json");
  const Timeline t = fold(withPlanRecord(records(file), own));
  ASSERT_FALSE(t.plan.fingerprint.empty());
  const PlanBinding bound = bind(own, t);
  EXPECT_TRUE(bound.bound()) << listed(bound);
  EXPECT_EQ(bound.by, "its plan record " + t.plan.fingerprint);

  const auto changed = [&](const Edit& edit) { return bind(scenario("three-services.json", "", edit), t); };
  auto b = changed([](auto& doc) { unitOf(doc, "api")["OOMScoreAdjust"] = -200; });
  ASSERT_EQ(b.differences.size(), 1u) << listed(b);
  EXPECT_EQ(b.differences[0].str(),
            "services.api.unit.OOMScoreAdjust: the timeline says -300, the scenario says -200");
  b = changed([](auto& doc) { doc["guest"]["cpus"] = 4; });
  EXPECT_EQ(listed(b), b.by + "\n  guest.cpus: the timeline says 2, the scenario says 4");
  b = changed([](auto& doc) { doc["time_limit"] = "5min"; });
  ASSERT_NE(differenceIn(b, "time_limit"), nullptr) << listed(b);
  b = changed([](auto& doc) { doc["systemd_oomd"] = {{"SwapUsedLimit", "70%"}}; });
  ASSERT_NE(differenceIn(b, "systemd_oomd"), nullptr) << listed(b);
  EXPECT_EQ(differenceIn(b, "systemd_oomd.SwapUsedLimit")->str(),
            "systemd_oomd.SwapUsedLimit: the timeline says (not set), the scenario says 70%");
  b = changed([](auto& doc) { loadOf(doc, "report-worker")["leak"] = "30M/s"; });
  ASSERT_NE(differenceIn(b, "services.report-worker.load"), nullptr) << listed(b);
  b = changed([](auto& doc) { doc["guest"]["memory"] = "1100M"; });
  ASSERT_NE(differenceIn(b, "guest.memory"), nullptr) << listed(b);
}

// planned-three-services-bookworm.jsonl: scenarios/three-services.json run by this build
// (2026-12-05, bookworm, TCG), its plan record written by the guest. Not named recorded-*,
// so the tools that judge every older recording leave it alone.
TEST(Binding, ARealRunsPlanRecordIsThePlanTheHostMakes) {
  const Timeline t = timeline("planned-three-services-bookworm.jsonl");
  ASSERT_FALSE(t.plan.fingerprint.empty());
  const Scenario own = scenario("three-services.json");
  EXPECT_EQ(t.plan.facts, planFacts(*makeGuestPlan(own)));
  const PlanBinding b = bind(own, t);
  EXPECT_TRUE(b.bound()) << listed(b);
  const Verdict v = evaluate(own, t);
  EXPECT_EQ(v.verdict, VerdictKind::pass) << v.reason;
  EXPECT_EQ(find(v, "note.rejudged"), nullptr);

  const PlanBinding changed = bind(scenario("three-services.json", "",
                                            [](auto& doc) {
                                              doc["guest"]["swap"] = "512M";
                                              loadOf(doc, "redis")["baseline"] = "250M";
                                            }),
                                   t);
  ASSERT_EQ(changed.differences.size(), 2u) << listed(changed);
  EXPECT_EQ(changed.differences[0].str(), "guest.swap: the timeline says 0, the scenario says 512M");
  EXPECT_EQ(changed.differences[1].str(),
            "services.redis.load: the timeline says --target 200M --report-interval 1s, the scenario says "
            "--target 250M --report-interval 1s");
}

TEST(Binding, AnEditedPlanRecordIsNamed) {
  const Scenario own = scenario("three-services.json");
  Records recs = withPlanRecord(records("recorded-three-services-bookworm.jsonl"), own);
  recs[1]["facts"]["services.api.unit.OOMScoreAdjust"] = "-200";  // the fingerprint left as it was
  const PlanBinding b = bind(own, fold(recs));
  ASSERT_NE(differenceIn(b, "plan"), nullptr) << listed(b);
  EXPECT_NE(differenceIn(b, "services.api.unit.OOMScoreAdjust"), nullptr) << listed(b);
}

TEST(Binding, ARejudgedVerdictSaysSo) {
  const std::string file = "recorded-three-services-bookworm.jsonl";
  const Verdict v = evaluate(scenario("three-services.json", "", [](auto& doc) { doc["guest"]["memory"] = "2G"; }),
                             timeline(file));
  const CheckResult* note = find(v, "note.rejudged");
  ASSERT_NE(note, nullptr) << dump(v);
  EXPECT_EQ(note->outcome, CheckOutcome::note);
  EXPECT_TRUE(has(note->observed, "re-judged against a changed scenario: 1 difference(s), first guest.memory: "))
      << note->observed;
  EXPECT_TRUE(has(v.reason, "; re-judged against a changed scenario (guest.memory)")) << v.reason;
  // The same recording with its own scenario: no note, the verdict as before.
  const Verdict own = evaluate(scenario("three-services.json"), timeline(file));
  EXPECT_EQ(find(own, "note.rejudged"), nullptr);
  EXPECT_EQ(own.verdict, VerdictKind::pass) << own.reason;
}

}  // namespace
