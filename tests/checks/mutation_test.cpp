// The mutation suite: each real recording passes its shipped scenario; each
// mutation below breaks the evidence the way a real run can (a kill missing from
// the stream, a guest that died, a blind observer, a ring buffer that wrapped, a
// kill in the wrong unit, no pressure at all) and must turn that PASS into FAIL or
// INCONCLUSIVE. Each case names the check that must catch it.
#include <algorithm>
#include <cstdio>
#include <functional>

#include "checks/timeline_index.hpp"
#include "fixtures.hpp"

using namespace oom;
using namespace oomtest;

namespace {

struct Mutation {
  const char* name;
  const char* what;
  VerdictKind verdict;          // what the mutated run must give
  const char* caught_by;        // the check that must catch it ...
  CheckOutcome caught_as;       // ... with this outcome
  std::function<Records(const Records&, const Scenario&)> apply;
};

const std::vector<Mutation>& mutations() {
  static const std::vector<Mutation> all = {
      {"drop_kill",
       "the kernel's kill records and OOM lines are gone from the stream, while memory.events and systemd saw the "
       "kill: who died first is unknown",
       VerdictKind::inconclusive, "first_killed", CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         Records out;
         for (const auto& r : recs)
           if (r["type"] != "oom_kill" && r["type"] != "kmsg") out.push_back(r);
         return out;
       }},
      {"cut_stream", "the stream stops two thirds in: no end record, the last line cut", VerdictKind::inconclusive,
       "timeline_complete", CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         return Records(recs.begin(), recs.begin() + static_cast<std::ptrdiff_t>(recs.size() * 2 / 3));
       }},
      {"open_gap", "an observer gap of 6 s around the first kill", VerdictKind::inconclusive, "first_killed",
       CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         const double k = firstKillT(recs);
         return withRecord(recs, {{"type", "observer_gap"}, {"t", k - 3}, {"length_sec", 6.0}, {"cause", "loop blocked"}});
       }},
      {"kmsg_gap", "the kernel log lost 12 records just before the first kill, while the guest's oom_kill counter moved",
       VerdictKind::inconclusive, "first_killed", CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         return withRecord(recs, {{"type", "loss"}, {"t", firstKillT(recs) - 0.5}, {"source", "kmsg"},
                                  {"what", "sequence_gap"}, {"count", 12}, {"detail", "seq 4100 after 4087"}});
       }},
      {"move_kill", "the first OOM event is attributed to the first never_killed unit", VerdictKind::fail,
       "never_killed", CheckOutcome::fail,
       [](const Records& recs, const Scenario& s) {
         const std::string to = unitName(s.expect.never_killed.front());
         const double k = firstKillT(recs);
         Records out = recs;
         for (auto& r : out)
           if (r["type"] == "oom_kill" && r["t"].get<double>() - k < 2) {
             r["unit"] = to;
             r["task_memcg"] = "/system.slice/" + to;
           }
         return out;
       }},
      {"remove_pressure",
       "everything after pressure + 1 s (or half way to the first kill, if sooner) is gone but the end record: "
       "nothing happened",
       VerdictKind::inconclusive, "pressure", CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         const double p0 = phaseT(recs, "pressure");
         const double cut = p0 + std::min(1.0, (firstKillT(recs) - p0) / 2);
         Records out;
         for (const auto& r : recs)
           if (!r.contains("t") || r["t"].get<double>() <= cut) out.push_back(r);
         return out;
       }},
      {"headerless_kill",
       "a second kill 0.5 s after the first, printed without its report (rate-limited) and never sampled in a unit",
       VerdictKind::inconclusive, "collateral", CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         const double k = firstKillT(recs);
         nlohmann::json kill;
         for (const auto& r : recs)
           if (r["type"] == "oom_kill" && r["t"].get<double>() == k) kill = r;
         kill["t"] = k + 0.5;
         kill["pid"] = 99999;
         kill["unit"] = "";
         kill["task_memcg"] = "";
         kill["group_kill"] = false;
         kill["attribution"] = "unknown";
         kill["lines"] = {"Out of memory: Killed process 99999 (oomstress) total-vm:1000kB, anon-rss:900kB, "
                          "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:40kB oom_score_adj:0"};
         return withRecord(withRecord(recs, kill), {{"type", "loss"}, {"t", k + 0.5}, {"source", "kmsg"},
                                                    {"what", "unattributed_kill"}, {"count", 1},
                                                    {"detail", "pid 99999 (oomstress)"}});
       }},
      {"drop_setup", "one unit's setup record is missing: nothing shows its settings were applied",
       VerdictKind::inconclusive, "setup", CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         Records out;
         bool dropped = false;
         for (const auto& r : recs) {
           if (!dropped && r["type"] == "unit_setup") {
             dropped = true;
             continue;
           }
           out.push_back(r);
         }
         return out;
       }},
      {"setup_drift", "a unit's processes run with an oom_score_adj other than the plan's, and the guest reported "
                      "no mismatch", VerdictKind::inconclusive, "setup", CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         Records out = recs;
         for (auto& r : out)
           if (r["type"] == "unit_setup" && !r["processes"].empty()) {
             for (auto& p : r["processes"]) p["oom_score_adj"] = p["oom_score_adj"].get<int>() + 1;
             r["mismatches"] = nlohmann::json::array();
             break;
           }
         return out;
       }},
      {"setup_value_drift", "a value the plan asked for was read back different, and the guest reported no mismatch",
       VerdictKind::inconclusive, "setup", CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         Records out = recs;
         for (auto& r : out)
           if (r["type"] == "unit_setup" && r["applied"].contains("Type")) {
             r["applied"]["Type"] = r["applied"]["Type"] == "notify" ? "simple" : "notify";
             r["mismatches"] = nlohmann::json::array();
             break;
           }
         return out;
       }},
      {"garble_line", "one results line is not valid JSON (time unknown)", VerdictKind::inconclusive, "first_killed",
       CheckOutcome::inconclusive,
       [](const Records& recs, const Scenario&) {
         // A JSON string stands for a raw line (see foldRaw): this one was cut mid-record.
         return withRecord(recs, nlohmann::json("{\"type\":\"unit_state\",\"unit\":"));
       }},
  };
  return all;
}

// Records -> timeline; a JSON string record stands for a raw, broken line.
Timeline foldRaw(const Records& recs) {
  Timeline t;
  for (const auto& r : recs) applyStreamLine(t, r.is_string() ? r.get<std::string>() : r.dump());
  return t;
}

// The first service oomstress stands in for (one that runs its own program has no load).
template <typename Json>
Json& withLoad(Json& doc) {
  for (auto& svc : doc["services"])
    if (svc.contains("load")) return svc;
  throw std::logic_error("no service with a load");
}

}  // namespace

TEST(Mutations, EveryMutationOfEveryRecordingTurnsPassIntoFailOrInconclusive) {
  std::string table = "\nrecording | mutation | verdict | caught by\n";
  for (const auto& rec : recordings()) {
    const Records original = records(rec.file);
    const Scenario s = scenarioOf(rec);
    ASSERT_EQ(evaluate(s, foldRaw(original)).verdict, VerdictKind::pass) << rec.file;
    for (const auto& m : mutations()) {
      SCOPED_TRACE(std::string(rec.file) + " / " + m.name + ": " + m.what);
      const Verdict v = evaluate(s, foldRaw(m.apply(original, s)));
      EXPECT_EQ(v.verdict, m.verdict) << v.reason << "\n" << dump(v);
      const auto* c = find(v, m.caught_by);
      ASSERT_NE(c, nullptr) << "no check " << m.caught_by;
      EXPECT_EQ(c->outcome, m.caught_as) << c->observed;
      std::string others;
      for (const auto& x : v.checks)
        if ((x.outcome == CheckOutcome::fail || x.outcome == CheckOutcome::inconclusive) && x.name != m.caught_by)
          others += (others.empty() ? "" : ", ") + x.name;
      table += std::string(rec.file) + " | " + m.name + " | " + toString(v.verdict) + " | " + m.caught_by + " (" +
               toString(c->outcome) + ")" + (others.empty() ? "" : "; also " + others) + "\n";
    }
  }
  std::printf("%s", table.c_str());
}

// The issue's reproduction: three-services cut one second after the pressure
// phase (end record kept), judged against negative expectations only.
TEST(Mutations, NegativeExpectationsWithoutPressureAreInconclusiveNotPass) {
  const auto negative = R"({"never_killed": ["api", "redis"], "units": {"api": {"oom_kills": 0}}})";
  const Records full = records("recorded-three-services-bookworm.jsonl");
  const double cut = phaseT(full, "pressure") + 1;
  Records recs;
  for (const auto& r : full)
    if (!r.contains("t") || r["t"].get<double>() <= cut) recs.push_back(r);
  const Verdict v = evaluate(scenario("three-services.json", negative), fold(recs));
  EXPECT_EQ(v.verdict, VerdictKind::inconclusive) << dump(v);
  EXPECT_TRUE(has(v.reason, "no pressure proven")) << v.reason;
  EXPECT_EQ(outcome(v, "never_killed", "api"), CheckOutcome::pass);  // true, but it proves nothing
  EXPECT_EQ(outcome(v, "pressure"), CheckOutcome::inconclusive);
  // The same expectations over the whole run: pressure happened (report-worker was killed).
  const Verdict whole = evaluate(scenario("three-services.json", negative), fold(full));
  EXPECT_EQ(whole.verdict, VerdictKind::pass) << dump(whole);
}

// The other side of kmsg_gap: a kernel log loss long before the kill, across
// which the guest's own /proc/vmstat oom_kill counter did not move, hides no kill,
// so the verdict stands and the loss is only listed (recordings with guest samples).
TEST(Mutations, ALossTheOomKillCounterRulesOutLeavesThePassStanding) {
  for (const char* file : {"recorded-thrash-no-swap-bookworm.jsonl", "recorded-thrash-no-swap-trixie.jsonl"}) {
    SCOPED_TRACE(file);
    const Records full = records(file);
    const Records recs = withRecord(full, {{"type", "loss"}, {"t", phaseT(full, "pressure") + 5}, {"source", "kmsg"},
                                           {"what", "sequence_gap"}, {"count", 12}, {"detail", "seq 4100 after 4087"}});
    const Verdict v = evaluate(scenario("thrash-no-swap.json"), fold(recs));
    EXPECT_EQ(v.verdict, VerdictKind::pass) << dump(v);
    EXPECT_EQ(outcome(v, "first_killed"), CheckOutcome::pass);
    EXPECT_EQ(outcome(v, "never_killed", "api"), CheckOutcome::pass);
    EXPECT_EQ(outcome(v, "observation"), CheckOutcome::note);
  }
}

// A kill record relayed twice is one kill: the counts, the order and the verdict stay.
TEST(Mutations, AKillRecordedTwiceIsOneKill) {
  for (const auto& rec : recordings()) {
    SCOPED_TRACE(rec.file);
    Records recs = records(rec.file);
    const auto first = std::find_if(recs.begin(), recs.end(), [](const auto& r) { return r["type"] == "oom_kill"; });
    ASSERT_NE(first, recs.end());
    const nlohmann::json copy = *first;
    recs.insert(first + 1, copy);
    const Scenario s = scenarioOf(rec);
    const Verdict once = evaluate(s, foldRaw(records(rec.file)));
    const Verdict twice = evaluate(s, foldRaw(recs));
    EXPECT_EQ(twice.verdict, VerdictKind::pass) << twice.reason;
    ASSERT_EQ(twice.checks.size(), once.checks.size());
    for (std::size_t i = 0; i < once.checks.size(); ++i)
      if (once.checks[i].name.find("oom_kills") != std::string::npos) {
        EXPECT_EQ(twice.checks[i].observed, once.checks[i].observed);
      }
    EXPECT_EQ(TimelineIndex(foldRaw(recs)).duplicateKills(), 1u);
  }
}

// A kill before the pressure phase (a unit that did not fit its baseline) is reported
// and does not decide first_killed or kill_order.
TEST(Mutations, AKillBeforePressureDecidesNoOrder) {
  Records recs = records("recorded-three-services-bookworm.jsonl");
  const double p0 = phaseT(recs, "pressure");
  nlohmann::json early = *std::find_if(recs.begin(), recs.end(), [](const auto& r) { return r["type"] == "oom_kill"; });
  early["t"] = p0 - 2;
  early["unit"] = "redis.service";
  early["task_memcg"] = "/system.slice/redis.service";
  early["pid"] = 204;
  recs.insert(recs.end() - 1, early);
  const Verdict v = evaluate(scenario("three-services.json"), foldRaw(recs));
  EXPECT_EQ(outcome(v, "first_killed"), CheckOutcome::pass) << find(v, "first_killed")->observed;
  EXPECT_EQ(outcome(v, "kill_order"), CheckOutcome::pass);
  const auto* note = find(v, "note.kill_before_pressure");
  ASSERT_NE(note, nullptr);
  EXPECT_NE(note->observed.find("1 kill(s) before the pressure phase, first redis.service pid 204"), std::string::npos)
      << note->observed;
  // ... while never_killed still counts it: redis was killed.
  EXPECT_EQ(outcome(v, "never_killed", "redis"), CheckOutcome::fail);
}

// The other way round (issue 22): the recording untouched, the scenario changed in what
// the run tested. Each change is named, field by field, and the verdict says it was
// re-judged: a PASS against a scenario the run never tested is not a plain PASS.
TEST(Mutations, EveryChangeOfPlanOfEveryRecordingIsNamedAsReJudged) {
  struct PlanMutation {
    const char* name;
    std::string (*field)(const nlohmann::ordered_json& doc);  // the field the binding must name
    void (*apply)(nlohmann::ordered_json& doc);
  };
  static const std::vector<PlanMutation> all = {
      {"double_memory", [](const nlohmann::ordered_json&) { return std::string("guest.memory"); },
       [](nlohmann::ordered_json& doc) {
         doc["guest"]["memory"] = formatSizeExact(2 * parseSize(doc["guest"]["memory"].get<std::string>()).value());
       }},
      {"add_swap", [](const nlohmann::ordered_json&) { return std::string("guest.swap"); },
       [](nlohmann::ordered_json& doc) {
         const auto swap = parseSize(doc["guest"].value("swap", "0")).value();
         doc["guest"]["swap"] = formatSizeExact(swap + 256 * MiB);
       }},
      {"toggle_oomd", [](const nlohmann::ordered_json&) { return std::string("systemd_oomd"); },
       [](nlohmann::ordered_json& doc) { doc["systemd_oomd"] = nlohmann::ordered_json::object(); }},
      {"raise_adjust",
       [](const nlohmann::ordered_json& doc) {
         return "services." + doc["services"][0]["name"].get<std::string>() + ".unit.OOMScoreAdjust";
       },
       [](nlohmann::ordered_json& doc) {
         auto& unit = doc["services"][0]["unit"];
         if (!unit.is_object()) unit = nlohmann::ordered_json::object();  // a unit from drop-ins only
         unit["OOMScoreAdjust"] = unit.value("OOMScoreAdjust", 0) + 17;
       }},
      {"grow_load",
       [](const nlohmann::ordered_json& doc) {
         return "services." + withLoad(doc)["name"].get<std::string>() + ".load";
       },
       [](nlohmann::ordered_json& doc) {
         auto& load = withLoad(doc)["load"];
         load["baseline"] = formatSizeExact(parseSize(load["baseline"].get<std::string>()).value() + MiB);
       }},
  };
  for (const auto& rec : recordings()) {
    for (const auto& m : all) {
      // A Quadlet unit's [Service] is in its file, not in the scenario (its text is a fact
      // of the plan: files./etc/containers/systemd/NAME.container).
      if (std::string_view(m.name) == "raise_adjust" && has(rec.file, "quadlet")) continue;
      SCOPED_TRACE(std::string(rec.file) + " / " + m.name);
      std::string field;
      const Scenario changed = scenario(rec.scenario, "", [&](nlohmann::ordered_json& doc) {
        if (rec.as_run) rec.as_run(doc);
        m.apply(doc);
        field = m.field(doc);
      });
      const Verdict v = evaluate(changed, timeline(rec.file));
      const auto* note = find(v, "note.rejudged");
      ASSERT_NE(note, nullptr) << v.reason;
      // One evidence line per difference (a unit from files also differs by its drop-in's text).
      EXPECT_TRUE(std::any_of(note->evidence.begin(), note->evidence.end(),
                              [&](const Evidence& e) { return has(e.text, field + ": the timeline says "); }))
          << note->observed;
      EXPECT_TRUE(has(v.reason, "re-judged against a changed scenario (")) << v.reason;
      EXPECT_TRUE(has(v.reason, field)) << v.reason;
    }
  }
}
