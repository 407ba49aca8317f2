// `oomharness lint` through the built binary: exit statuses (0 clean or below
// --fail-on, 1 findings at or above it, 2 unreadable input naming the file), the
// compiler-style lines, and JSON and SARIF 2.1.0 that parse and carry the required
// fields. Boots nothing (no vm label).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "command.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kCorpus = fs::path(OOM_SOURCE_DIR) / "tests/scenario/units";

struct Output {
  int status = -1;
  std::string out, err;
};

fs::path scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() /
                   ("oomharness-lint-cli-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Output lint(const std::string& args) {
  Output o;
  const auto err_dir = scratch("stderr");
  const auto err_file = err_dir / "stderr.txt";
  const auto ran = oomtest::runCommand(std::string(OOMHARNESS_BIN) + " lint " + args, err_file.string());
  o.status = ran.status;
  o.out = ran.output;
  o.err = ran.error;
  fs::remove_all(err_dir);
  return o;
}

std::string at(const std::string& folder) { return (kCorpus / folder).string(); }

}  // namespace

TEST(LintCli, CleanIsZeroFindingsAreOne) {
  auto o = lint(at("clean-three-services"));
  EXPECT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_EQ(o.out, "");
  o = lint(at("restart-on-abort"));
  EXPECT_EQ(o.status, 1) << o.out << o.err;
  EXPECT_NE(o.out.find(at("restart-on-abort") + "/worker.service:5: warning: Restart=on-abort"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("[restart-ignores-oom-kill]\n"), std::string::npos) << o.out;
}

TEST(LintCli, FailOnSetsTheThreshold) {
  // Warnings only: below --fail-on error.
  EXPECT_EQ(lint("--fail-on error " + at("restart-on-abort")).status, 0);
  EXPECT_EQ(lint("--fail-on error " + at("invalid-values")).status, 1);
  // Notes only (a drop-in replacing the unit file's value): below the default, warning.
  const auto dir = scratch("notes");
  fs::create_directories(dir / "api.service.d");
  std::ofstream(dir / "api.service") << "[Service]\nOOMScoreAdjust=-300\nRestart=on-failure\n";
  std::ofstream(dir / "api.service.d/oom.conf") << "[Service]\nOOMScoreAdjust=-200\n";
  auto o = lint(dir.string());
  EXPECT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_NE(o.out.find(": note: "), std::string::npos) << o.out;
  EXPECT_EQ(lint("--fail-on note " + dir.string()).status, 1);
  EXPECT_EQ(lint("--fail-on sometimes " + dir.string()).status, 2);
  fs::remove_all(dir);
}

TEST(LintCli, UnreadableInputIsTwoAndNamed) {
  const auto dir = scratch("unreadable");
  fs::create_directories(dir / "empty");
  std::ofstream(dir / "binary.service") << std::string("[Service]\n\0\x01", 12);
  std::ofstream(dir / "notes.txt") << "hello\n";
  ASSERT_EQ(::mkfifo((dir / "fifo.service").c_str(), 0600), 0);
  fs::create_directories(dir / "big");
  std::ofstream(dir / "big/huge.service") << "[Service]\n" << std::string(1024 * 1024, '#') << "\n";
  for (const auto& bad : {(dir / "missing.service").string(), (dir / "empty").string(),
                          (dir / "binary.service").string(), (dir / "notes.txt").string(),
                          (dir / "fifo.service").string(), (dir / "big/huge.service").string()}) {
    const auto o = lint(bad);
    EXPECT_EQ(o.status, 2) << bad << "\n" << o.out << o.err;
    EXPECT_NE(o.err.find("error: " + bad + ": "), std::string::npos) << o.err;
  }
  // The readable inputs are still linted and reported.
  const auto o = lint((dir / "missing.service").string() + " " + at("restart-on-abort"));
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.out.find("[restart-ignores-oom-kill]"), std::string::npos) << o.out;
  fs::remove_all(dir);
}

TEST(LintCli, JsonHasItsStableKeys) {
  const auto o = lint("--format json " + at("drop-in-overrides"));
  EXPECT_EQ(o.status, 1);
  const auto doc = nlohmann::json::parse(o.out);
  EXPECT_EQ(doc.at("format"), "oomharness-lint/1");
  EXPECT_EQ(doc.at("inputs").size(), 4u);
  ASSERT_FALSE(doc.at("findings").empty());
  for (const auto& f : doc.at("findings")) {
    for (const char* key : {"rule", "severity", "file", "line", "message", "related", "suppressed"})
      EXPECT_TRUE(f.contains(key)) << key;
  }
  EXPECT_EQ(doc.at("counts").at("warning"), 3);
  EXPECT_EQ(doc.at("counts").at("note"), 2);
}

TEST(LintCli, SarifIsValid210) {
  const auto o = lint("--format sarif " + at("min-adjust") + " " + at("invalid-values") + " " +
                      (fs::path(OOM_SOURCE_DIR) / "scenarios/half-alive-continue.json").string());
  EXPECT_EQ(o.status, 1) << o.err;
  const auto doc = nlohmann::json::parse(o.out);
  EXPECT_EQ(doc.at("version"), "2.1.0");
  ASSERT_EQ(doc.at("runs").size(), 1u);
  const auto& run = doc.at("runs")[0];
  const auto& driver = run.at("tool").at("driver");
  EXPECT_EQ(driver.at("name"), "oomharness-lint");
  std::set<std::string> ids;
  for (const auto& r : driver.at("rules")) {
    ids.insert(r.at("id").get<std::string>());
    EXPECT_FALSE(r.at("help").at("text").get<std::string>().empty());
    EXPECT_TRUE(r.at("shortDescription").contains("text"));
  }
  bool saw_suppressed = false, saw_scenario = false;
  ASSERT_FALSE(run.at("results").empty());
  for (const auto& res : run.at("results")) {
    EXPECT_TRUE(ids.count(res.at("ruleId").get<std::string>())) << res;
    const std::set<std::string> levels = {"error", "warning", "note", "none"};
    EXPECT_TRUE(levels.count(res.at("level").get<std::string>()));
    EXPECT_FALSE(res.at("message").at("text").get<std::string>().empty());
    const auto& loc = res.at("locations")[0].at("physicalLocation");
    EXPECT_FALSE(loc.at("artifactLocation").at("uri").get<std::string>().empty());
    EXPECT_GE(loc.at("region").at("startLine").get<int>(), 1);
    if (res.contains("suppressions")) {
      saw_suppressed = true;
      EXPECT_EQ(res.at("suppressions")[0].at("kind"), "inSource");
    }
    if (loc.at("artifactLocation").at("uri").get<std::string>().find("half-alive-continue.json") !=
        std::string::npos)
      saw_scenario = true;
  }
  EXPECT_TRUE(saw_suppressed);
  EXPECT_TRUE(saw_scenario);
}

// A tree from a pull request: a link out of it is exit 2 naming the link, and the
// file it points at is never printed; "api.service.d/" (a trailing slash) is linted.
TEST(LintCli, ALinkOutOfANamedFolderIsAnErrorAndNothingOfItsTargetIsPrinted) {
  const auto dir = scratch("confined");
  std::ofstream(dir / "cred") << "root:SECRETHASH:19000\n";
  fs::create_directories(dir / "tree/api.service.d");
  std::ofstream(dir / "tree/api.service") << "[Service]\nExecStart=/bin/true\nRestart=on-failure\n";
  std::ofstream(dir / "tree/api.service.d/10.conf") << "[Service]\nOOMScoreAdjust=-1000\n";
  fs::create_symlink("../../cred", dir / "tree/api.service.d/30-x.conf");
  const auto o = lint((dir / "tree").string());
  EXPECT_EQ(o.status, 2) << o.out << o.err;
  EXPECT_NE(o.err.find("30-x.conf: leads out of " + (dir / "tree").string()), std::string::npos) << o.err;
  EXPECT_EQ((o.out + o.err).find("SECRETHASH"), std::string::npos) << o.out << o.err;
  fs::remove(dir / "tree/api.service.d/30-x.conf");
  const auto slash = lint((dir / "tree/api.service.d").string() + "/");
  EXPECT_EQ(slash.status, 1) << slash.out << slash.err;
  EXPECT_NE(slash.out.find("[oom-score-adjust-min]"), std::string::npos) << slash.out;
  fs::remove_all(dir);
}
