// `oomharness run` on shipped scenarios in a real guest: exit statuses, the
// results folder, and verdicts that cite real kernel and systemd evidence.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "command.hpp"

namespace fs = std::filesystem;

namespace {

struct RunResult {
  int status = -1;
  std::string output;
  fs::path dir;      // the run's results folder
  nlohmann::json result;
};

// Runs `oomharness ARGS`; fills status and output (stdout and stderr).
RunResult oomharness(const std::string& args) {
  RunResult run;
  const auto r = oomtest::runCommand(std::string(OOMHARNESS_BIN) + " " + args);
  run.status = r.status;
  run.output = r.output;
  return run;
}

RunResult runScenario(const std::string& scenario, const std::string& results) {
  fs::remove_all(results);
  RunResult run = oomharness("run --results " + results + " " + SOURCE_DIR + "/" + scenario);
  if (fs::exists(results))
    for (const auto& e : fs::directory_iterator(results)) run.dir = e.path();
  std::ifstream in(run.dir / "result.json");
  run.result = nlohmann::json::parse(in, nullptr, false);
  return run;
}

const nlohmann::json* check(const nlohmann::json& result, const std::string& name) {
  for (const auto& c : result["checks"])
    if (c.value("name", "") == name) return &c;
  return nullptr;
}

}  // namespace

TEST(RunE2E, ThreeServicesPassesWithEvidenceFromTheKernelAndSystemd) {
  const auto run = runScenario("scenarios/three-services.json", E2E_RESULTS "/three-services");
  ASSERT_EQ(run.status, 0) << run.output;
  ASSERT_TRUE(run.result.is_object()) << "no result.json in " << run.dir;
  EXPECT_EQ(run.result["verdict"], "pass");
  for (const char* file : {"junit.xml", "summary.txt", "results.jsonl", "console.log", "journal.txt"})
    EXPECT_TRUE(fs::exists(run.dir / file)) << file;

  // The first victim is the worker, as the kernel said it.
  const auto* first = check(run.result, "first_killed");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ((*first)["outcome"], "pass");
  bool kernel_line = false;
  for (const auto& e : (*first)["evidence"])
    kernel_line = kernel_line || e.value("text", "").find("Killed process") != std::string::npos;
  EXPECT_TRUE(kernel_line) << first->dump(2);

  // systemd reported the kill and restarted the unit with a new invocation.
  const auto& timeline = run.result["timeline"];
  bool oom_result = false;
  std::set<std::string> invocations;
  for (const auto& s : timeline["states"])
    if (s["unit"] == "report-worker.service") {
      oom_result = oom_result || s["Result"] == "oom-kill";
      if (!s["InvocationID"].get<std::string>().empty()) invocations.insert(s["InvocationID"]);
    }
  EXPECT_TRUE(oom_result);
  EXPECT_GE(invocations.size(), 2u) << "a restart is a new invocation";
  // The settings were verified in the guest before pressure.
  for (const auto& setup : timeline["setup"]) EXPECT_TRUE(setup["mismatches"].empty()) << setup.dump();

  // The sampler thread measured the whole guest throughout, and each kill left the
  // guest within a second of the kernel's line (seen_t; the target is 100 ms, which
  // a loaded CI host running TCG may miss: the README gives the measured figures).
  ASSERT_GT(timeline["guest_samples"].size(), 20u);
  const auto mem_total = timeline["guest"]["mem_total_bytes"].get<std::uint64_t>();
  // Before the units start, most of the guest is available; at the kill it can be 0.
  EXPECT_GT(timeline["guest_samples"][0]["mem_available_bytes"].get<std::uint64_t>(), mem_total / 2);
  for (const auto& g : timeline["guest_samples"]) {
    EXPECT_TRUE(g["unavailable"].empty()) << g.dump();
    EXPECT_LE(g["mem_available_bytes"].get<std::uint64_t>(), mem_total) << g.dump();
  }
  for (const auto& k : timeline["kills"]) {
    const double latency = k["seen_t"].get<double>() - k["t"].get<double>();
    EXPECT_GT(latency, 0.0) << k.dump();
    EXPECT_LT(latency, 1.0) << k.dump();
  }
}

// A suite of two scenarios in two guests at once, one failing: the suite exits 1,
// each cell's folder is a complete run, and one junit.xml holds both. The passing
// one runs nginx from a package of its own guest image, from the unit file the package
// installs with the scenario's drop-in and the payload's config (scenarios/nginx), grown
// by a load driver, behind two probes: the kernel kills a worker and the master
// replaces it.
TEST(SuiteE2E, TwoScenariosInParallelGuestsOneFailingCell) {
  const std::string results = E2E_RESULTS "/suite";
  fs::remove_all(results);
  const RunResult run = oomharness("run --results " + results + " -j 2 --oversubscribe " + SOURCE_DIR +
                                   "/scenarios/nginx/continue.json " + SOURCE_DIR +
                                   "/scenarios/examples/wrong-expectations.json");
  EXPECT_EQ(run.status, 1) << run.output;
  fs::path suite;
  for (const auto& e : fs::directory_iterator(results)) suite = e.path();
  std::ifstream in(suite / "index.json");
  const auto index = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(index.is_object()) << "no index.json in " << suite << "\n" << run.output;
  EXPECT_EQ(index["format"], "oomharness-suite/1");
  EXPECT_EQ(index["complete"], true);
  EXPECT_EQ(index["verdict"], "fail");
  EXPECT_EQ(index["exit_status"], 1);
  ASSERT_EQ(index["cells"].size(), 2u);
  const auto& quick = index["cells"][0];  // nginx-continue
  const auto& wrong = index["cells"][1];
  EXPECT_EQ(quick["scenario"], "nginx-continue");
  // On a mismatch, the cell's own summary: its folder is temporary, gone after CI.
  const auto summaryOf = [&](const nlohmann::json& cell) {
    std::ifstream text(suite / cell.value("folder", "") / "summary.txt");
    return std::string(std::istreambuf_iterator<char>(text), std::istreambuf_iterator<char>());
  };
  // Two guests on two cores stretch each run: a kill just before nginx's 90 s time limit
  // leaves the unit's end state undecided (restartNotYetDue, checks/unit_checks.cpp), an
  // honest inconclusive that CI saw once (b37fcfd). That one, with that reason, is the
  // only outcome other than a pass that this suite test accepts; every other assertion
  // on the cell below still holds.
  std::ifstream quick_in(suite / quick.value("folder", "") / "result.json");
  const auto quick_result = nlohmann::json::parse(quick_in, nullptr, false);
  bool late_kill = false;
  if (quick["verdict"] == "inconclusive" && quick_result.is_object()) {
    std::size_t undecided = 0;
    for (const auto& c : quick_result["checks"])
      if (c["outcome"] == "inconclusive") {
        ++undecided;
        late_kill = c["name"] == "nginx.active_at_end" &&
                    c["observed"].get<std::string>().find(", before a restart was due (RestartSec=") != std::string::npos;
      }
    late_kill = late_kill && undecided == 1;
  }
  EXPECT_TRUE(quick["verdict"] == "pass" || late_kill) << quick << "\n" << summaryOf(quick);
  EXPECT_EQ(wrong["scenario"], "wrong-expectations");
  EXPECT_EQ(wrong["verdict"], "fail") << wrong;
  // Two guests at once: the second started before the first ended.
  EXPECT_LE(wrong["started_at"].get<std::string>(), quick["finished_at"].get<std::string>());
  for (const auto& cell : index["cells"]) {
    const fs::path dir = suite / cell["folder"].get<std::string>();
    for (const char* file : {"result.json", "junit.xml", "summary.txt", "results.jsonl", "oomharness.log"})
      EXPECT_TRUE(fs::exists(dir / file)) << dir / file;
    EXPECT_GT(cell["harness_peak_rss_bytes"].get<std::uint64_t>(), 0u);
  }
  // The failing cell says why, as a single run does.
  std::ifstream result_in(suite / wrong["folder"].get<std::string>() / "result.json");
  const auto result = nlohmann::json::parse(result_in, nullptr, false);
  const auto* first = check(result, "first_killed");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ((*first)["outcome"], "fail");
  EXPECT_NE((*first)["observed"].get<std::string>().find("report-worker"), std::string::npos);
  // nginx ran from its package's own unit file, the kernel killed a worker (named by its
  // title: its comm is the master's too), and the health probe never failed after the kill.
  std::ifstream nginx_in(suite / quick["folder"].get<std::string>() / "result.json");
  const auto nginx = nlohmann::json::parse(nginx_in, nullptr, false);
  EXPECT_TRUE(nginx["vm"]["packages"].contains("nginx")) << nginx["vm"];
  bool packaged_unit = false;
  for (const auto& setup : nginx["timeline"]["setup"])
    for (const auto& file : setup.value("unit_files", nlohmann::json::array()))
      packaged_unit = packaged_unit || file.get<std::string>().find("nginx.service (from package nginx-common ") !=
                                           std::string::npos;
  EXPECT_TRUE(packaged_unit) << nginx["timeline"]["setup"];
  const auto* recovered = check(nginx, "health.recovers_within");
  ASSERT_NE(recovered, nullptr);
  EXPECT_EQ((*recovered)["outcome"], "pass") << *recovered;
  std::size_t attempts = 0;
  for (const auto& a : nginx["timeline"]["probes"]) attempts += a["probe"] == "health";
  EXPECT_GT(attempts, 40u);
  bool worker = false;
  for (const auto& k : nginx["timeline"]["kills"]) worker = worker || k["cmdline"] == "nginx: worker process";
  EXPECT_TRUE(worker) << nginx["timeline"]["kills"];
  // One junit.xml: one testsuite per scenario x release, the failure in the second.
  std::ifstream junit(suite / "junit.xml");
  const std::string xml((std::istreambuf_iterator<char>(junit)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("<testsuite name=\"nginx-continue@bookworm\""), std::string::npos) << xml;
  const auto wrong_suite = xml.find("<testsuite name=\"wrong-expectations@bookworm\"");
  ASSERT_NE(wrong_suite, std::string::npos) << xml;
  EXPECT_EQ(xml.find("<failure"), xml.find("<failure", wrong_suite)) << "the only failures are the failing cell's";
  EXPECT_NE(run.output.find("suite: fail (exit 1)"), std::string::npos) << run.output;
  // index.html links each cell's report.html.
  std::ifstream html_in(suite / "index.html");
  const std::string html((std::istreambuf_iterator<char>(html_in)), std::istreambuf_iterator<char>());
  for (const auto& cell : index["cells"])
    EXPECT_NE(html.find("href=\"" + cell["folder"].get<std::string>() + "/report.html\""), std::string::npos) << html;
}

TEST(RunE2E, BadScenarioStartsNothingAndExitsTwo) {
  const std::string bad = E2E_RESULTS "/bad.json";
  fs::create_directories(E2E_RESULTS);
  std::ofstream(bad) << R"({"name": "bad", "services": [{"name": "x", "unit": {"OOMPolicy": "murder"}}]})";
  const RunResult run = oomharness("run --results " E2E_RESULTS "/bad-run " + bad);
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find("OOMPolicy"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(bad), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(E2E_RESULTS "/bad-run")) << "nothing may be started for a bad scenario";
}

// A unit from real files: the unit file sets OOMScoreAdjust=-500, drop-in
// 10-oom.conf 200, 20-oom.conf 700. systemd in the guest must show the merged
// 700, the evidence must cite 20-oom.conf's line, and the kernel's kill line must
// carry 700: the file under review, not a copy of its values, was tested.
TEST(RunE2E, RealUnitFilesTheMergedDropInValueIsTheOneTheKernelSaw) {
  const auto run = runScenario("scenarios/rollout/api-rollout.json", E2E_RESULTS "/api-rollout");
  ASSERT_EQ(run.status, 0) << run.output;
  const nlohmann::json* api_setup = nullptr;
  for (const auto& s : run.result["timeline"]["setup"])
    if (s["unit"] == "api.service") api_setup = &s;
  ASSERT_NE(api_setup, nullptr);
  EXPECT_EQ((*api_setup)["applied"]["OOMScoreAdjust"], "700");
  EXPECT_EQ((*api_setup)["applied"]["OOMPolicy"], "stop");  // the scenario's inline override
  EXPECT_EQ((*api_setup)["applied"]["Restart"], "on-failure");
  bool cited = false;
  for (const auto& e : (*api_setup)["effective"])
    cited = cited || e.get<std::string>() == "OOMScoreAdjust=700 (" SOURCE_DIR "/scenarios/rollout/units/api.service.d/20-oom.conf:3)";
  EXPECT_TRUE(cited) << api_setup->dump(2);
  ASSERT_EQ((*api_setup)["stubs"].size(), 1u);  // Requires=postgresql.service
  EXPECT_TRUE((*api_setup)["systemd_warnings"].empty());
  bool kernel_700 = false;
  for (const auto& k : run.result["timeline"]["kills"])
    kernel_700 = kernel_700 || (k["unit"] == "api.service" && k.value("oom_score_adj", 0) == 700);
  EXPECT_TRUE(kernel_700) << run.result["timeline"]["kills"].dump(2);
  // `report` re-reads the run with the files as the plan installed them.
  const auto again = oomharness("report " + run.dir.string());
  EXPECT_EQ(again.status, 0) << again.output;
  std::ifstream html(run.dir / "report.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("20-oom.conf:3"), std::string::npos);
}

// A misspelt key in a drop-in: systemd skips the line, so the run must not judge
// the policy; it stops at the setup check with systemd's own words, file and line.
TEST(RunE2E, ATypoInADropInIsCaughtBySystemdAndTheRunIsInconclusive) {
  const auto run = runScenario("tests/e2e/typo/typo-in-drop-in.json", E2E_RESULTS "/typo");
  EXPECT_EQ(run.status, 3) << run.output;
  const auto* setup = check(run.result, "setup");
  ASSERT_NE(setup, nullptr);
  EXPECT_EQ((*setup)["outcome"], "inconclusive");
  bool systemd_said = false;
  for (const auto& e : (*setup)["evidence"]) {
    const std::string text = e.value("text", "");
    systemd_said = systemd_said || (text.find("10-oom.conf:3") != std::string::npos &&
                                    text.find("OOMScoreAdjsut") != std::string::npos);
  }
  EXPECT_TRUE(systemd_said) << setup->dump(2);
}

// systemd-oomd and zram in one real guest (tests/e2e/oomd-zram): the agent sets up
// /dev/zram0, oomd is enabled from the scenario and reads the slices' ManagedOOMSwap= (oomctl
// before the pressure), passes over the cache marked avoid although it holds more swap,
// and kills the batch job; the verdict cites oomd's reason and its ranking.
TEST(RunE2E, SystemdOomdPassesOverTheAvoidedUnitOnZramAndTheVerdictCitesItsRanking) {
  const auto run = runScenario("tests/e2e/oomd-zram/oomd-protected-slice-zram.json", E2E_RESULTS "/oomd-zram");
  ASSERT_EQ(run.status, 0) << run.output;
  const auto& timeline = run.result["timeline"];
  EXPECT_EQ(timeline["guest"]["swap_areas"].get<std::string>().rfind("/dev/zram0 (partition, 512.0MiB)", 0), 0u)
      << timeline["guest"].dump(2);
  const auto* by = check(run.result, "batch.killed_by");
  ASSERT_NE(by, nullptr);
  EXPECT_EQ((*by)["outcome"], "pass");
  bool reason = false;
  for (const auto& e : (*by)["evidence"])
    reason = reason || e.value("text", "").find("Killed /batch.slice/batch.service due to") != std::string::npos;
  EXPECT_TRUE(reason) << by->dump(2);
  const auto& oomd = timeline["oomd"];
  ASSERT_FALSE(oomd.empty());
  EXPECT_EQ(oomd[0]["when"], "before_pressure");
  bool critical = false;
  for (const auto& p : oomd[0]["swap_cgroups"]) critical = critical || p == "/critical.slice";
  EXPECT_TRUE(critical) << oomd[0].dump(2);
  // oomd's ranking reached the timeline, and the observer read the cache's swap.
  bool ranking = false;
  for (const auto& j : timeline["journal"])
    ranking = ranking || j.value("MESSAGE", "").rfind("Considered ", 0) == 0;
  EXPECT_TRUE(ranking);
  std::uint64_t cache_swap = 0;
  for (const auto& s : timeline["samples"])
    if (s["unit"] == "cache.service") cache_swap = std::max(cache_swap, s.value("memory_swap_current", std::uint64_t{0}));
  EXPECT_GT(cache_swap, 0u);
  EXPECT_TRUE(timeline["kills"].empty());  // oomd acted before the kernel
}
