// What a scenario, a --units tree and `lint` may read (issue 23): files below
// their own folder only; links that stay below it (aliases) and masks (links to
// /dev/null) as systemd reads them; a budget for all of one scenario's unit
// files; and a file that is not a unit file never echoed line by line. Each test
// puts a "credential" beside the folder and checks that its text never appears.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scenario/limits.hpp"
#include "scenario/lint_inputs.hpp"
#include "scenario/parse.hpp"
#include "scenario/unit_sources.hpp"
#include "systemd/unit_file.hpp"

namespace fs = std::filesystem;
using namespace oom;

namespace {

constexpr const char* kSecret = "root:$y$j9T$SECRETHASH:19000:0:99999:7:::";

class Confinement : public ::testing::Test {
 protected:
  void SetUp() override {
    top_ = fs::temp_directory_path() / ("oomharness-confinement-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(top_);
    fs::create_directories(top_ / "scen");
    std::ofstream(top_ / "cred") << kSecret << "\n" << kSecret << "\n";
    fs::permissions(top_ / "cred", fs::perms::owner_read | fs::perms::owner_write);
    fs::create_directories(top_ / "etc");
    std::ofstream(top_ / "etc" / "10-x.conf") << "[Service]\nOOMScoreAdjust=-1000\n";
  }
  void TearDown() override { fs::remove_all(top_); }

  void write(const std::string& relative, const std::string& text) {
    fs::create_directories((top_ / "scen" / relative).parent_path());
    std::ofstream(top_ / "scen" / relative) << text;
  }
  void link(const fs::path& target, const std::string& relative) {
    fs::create_directories((top_ / "scen" / relative).parent_path());
    fs::create_symlink(target, top_ / "scen" / relative);
  }
  // A scenario with one service whose files are `files` (the JSON of unit_file/drop_ins).
  ScenarioCheck load(const std::string& files, const std::optional<fs::path>& units = std::nullopt) {
    write("s.json", R"({"name": "c", "description": "d", "services": [{"name": "api", "why": "w", )" + files +
                        R"(, "load": {"baseline": "10M"}}], "expect": {"never_killed": ["api"]}})");
    return loadScenarioFile(top_ / "scen" / "s.json", units);
  }
  static std::string all(const std::vector<Error>& errors) {
    std::string text;
    for (const auto& e : errors) text += e.str() + "\n";
    return text;
  }
  // Fails the test if the credential's text was read into any message.
  static std::string checked(const std::vector<Error>& errors) {
    const std::string text = all(errors);
    EXPECT_EQ(text.find("SECRETHASH"), std::string::npos) << text;
    return text;
  }
  static bool says(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
  fs::path top_;
};

// --- a scenario's unit_file and drop_ins -----------------------------------------

TEST_F(Confinement, AUnitFileAboveTheScenariosFolderIsRefusedWithItsJsonPath) {
  const auto check = load(R"("unit_file": "../cred")");
  ASSERT_FALSE(check.ok());
  EXPECT_EQ(check.errors[0].where, (top_ / "scen" / "s.json").string() + ": $.services[0].unit_file");
  EXPECT_EQ(check.errors[0].message, "\"../cred\" leaves the scenario's folder; expected a path below " +
                                         (top_ / "scen").string());
  checked(check.errors);
}

TEST_F(Confinement, AbsolutePathsAreRefused) {
  const auto check = load(R"("unit_file": ")" + (top_ / "cred").string() + R"(", "drop_ins": ["/etc"])");
  ASSERT_EQ(check.errors.size(), 2u) << all(check.errors);
  EXPECT_TRUE(says(check.errors[0].message, "is an absolute path; expected a path below")) << all(check.errors);
  EXPECT_TRUE(says(check.errors[1].where, "$.services[0].drop_ins[0]"));
  checked(check.errors);
}

TEST_F(Confinement, ADropInLinkedOutOfTheFolderIsRefused) {
  write("units/api.service.d/10-ok.conf", "[Service]\nOOMPolicy=stop\n");
  link(top_ / "cred", "units/api.service.d/30-x.conf");
  link("../../../cred", "units/api.service.d/31-y.conf");
  const auto check = load(R"("drop_ins": ["units/api.service.d"])");
  const std::string text = checked(check.errors);
  EXPECT_TRUE(says(text, "30-x.conf: leads out of " + (top_ / "scen").string() + " through a symlink")) << text;
  EXPECT_TRUE(says(text, "31-y.conf: leads out of")) << text;
}

TEST_F(Confinement, AFolderLinkedOutAndASymlinkLoopAreRefused) {
  link(top_ / "etc", "units/api.service.d");
  link("b.conf", "units/a.conf");
  link("a.conf", "units/b.conf");
  const auto out = load(R"("drop_ins": ["units/api.service.d"])");
  EXPECT_TRUE(says(checked(out.errors), "leads out of")) << all(out.errors);
  const auto loop = load(R"("drop_ins": ["units/a.conf"])");
  EXPECT_TRUE(says(checked(loop.errors), "a symlink loop")) << all(loop.errors);
}

TEST_F(Confinement, AFifoIsRefusedWithoutWaitingForAWriter) {
  fs::create_directories(top_ / "scen" / "units" / "api.service.d");
  ASSERT_EQ(::mkfifo((top_ / "scen" / "units" / "api.service.d" / "10-fifo.conf").c_str(), 0600), 0);
  const auto check = load(R"("drop_ins": ["units/api.service.d"])");
  EXPECT_TRUE(says(checked(check.errors), "expected a regular file; got a FIFO")) << all(check.errors);
}

TEST_F(Confinement, AnAliasInsideTheFolderIsReadAndAMaskIsRecognised) {
  write("real/api.service", "[Service]\nExecStart=/bin/true\nOOMScoreAdjust=-100\n");
  link("../real/api.service", "units/api.service");
  write("units/api.service.d/10.conf", "[Service]\nOOMPolicy=kill\n");
  link("/dev/null", "units/api.service.d/20-masked.conf");
  const auto check = load(R"("unit_file": "units/api.service", "drop_ins": ["units/api.service.d/"])");
  ASSERT_TRUE(check.ok()) << all(check.errors);
  EXPECT_EQ(check.scenario->services[0].oomScoreAdjust(), -100);
  EXPECT_EQ(check.scenario->services[0].directive("OOMPolicy"), "kill");
  for (const auto& f : check.scenario->services[0].files->files) EXPECT_FALSE(says(f.guest_path, "20-masked"));
  link("/dev/null", "units/masked.service");
  const auto masked = load(R"("unit_file": "units/masked.service")");
  EXPECT_TRUE(says(checked(masked.errors), "masked (a link to /dev/null): systemd would not load the unit"))
      << all(masked.errors);
}

// --- a --units tree --------------------------------------------------------------

TEST_F(Confinement, AUnitsTreeIsReadBelowItselfOnly) {
  write("tree/api.service", "[Service]\nExecStart=/bin/true\n");
  link(top_ / "etc", "tree/service.d");
  const auto out = load(R"("unit": {"OOMScoreAdjust": 1})", top_ / "scen" / "tree");
  EXPECT_TRUE(says(checked(out.errors), "service.d: leads out of " + (top_ / "scen" / "tree").string()))
      << all(out.errors);
  fs::remove(top_ / "scen" / "tree" / "service.d");
  fs::remove(top_ / "scen" / "tree" / "api.service");
  link("../../cred", "tree/api.service");
  const auto cred = load(R"("unit": {"OOMScoreAdjust": 1})", top_ / "scen" / "tree");
  EXPECT_TRUE(says(checked(cred.errors), "api.service: leads out of")) << all(cred.errors);
}

TEST_F(Confinement, AUnitsTreeKeepsItsAliasesMasksAndReportsLoops) {
  write("tree/real/api.service", "[Service]\nExecStart=/bin/true\nOOMScoreAdjust=-200\n");
  link("real/api.service", "tree/api.service");
  write("tree/api.service.d/10.conf", "[Service]\nOOMPolicy=kill\n");
  link("/dev/null", "tree/api.service.d/20-masked.conf");
  const auto ok = load(R"("unit": {"MemoryHigh": "400M"})", top_ / "scen" / "tree");
  ASSERT_TRUE(ok.ok()) << all(ok.errors);
  EXPECT_EQ(ok.scenario->services[0].oomScoreAdjust(), -200);
  link("api-.service.d", "tree/service.d");
  link("service.d", "tree/api-.service.d");
  const auto loop = load(R"("unit": {"MemoryHigh": "400M"})", top_ / "scen" / "tree");
  EXPECT_TRUE(says(checked(loop.errors), "a symlink loop")) << all(loop.errors);
}

// --- the budget ------------------------------------------------------------------

// A drop-in of exactly `bytes`: a section header, then comment lines.
std::string dropInOf(std::size_t bytes) {
  std::string text = "[Service]\n";
  while (text.size() < bytes) text += std::string(std::min<std::size_t>(bytes - text.size(), 1000) - 1, '#') + "\n";
  return text;
}

TEST_F(Confinement, AScenariosUnitFilesMayTotalTheBudgetAndNotOneByteMore) {
  static_assert(limits::kMaxUnitFileBytesTotal == 4 * kMaxUnitFileBytes);
  for (const char* name : {"10", "20", "30", "40"}) write(std::string("u/a.service.d/") + name + ".conf", dropInOf(kMaxUnitFileBytes));
  ServiceFileRefs refs;
  refs.base = top_ / "scen" / "u";
  refs.drop_ins = {"a.service.d"};
  UnitFileBudget budget;
  const auto at_limit = readServiceFiles("a", refs, {}, "s.json: $.services[0]", budget);
  EXPECT_TRUE(at_limit.errors.empty()) << all(at_limit.errors);
  EXPECT_EQ(budget.bytes_left, 0u);
  write("u/b.service", "\n");
  refs.drop_ins.clear();
  refs.unit_file = "b.service";
  const auto over = readServiceFiles("b", refs, {}, "s.json: $.services[1]", budget);
  ASSERT_EQ(over.errors.size(), 1u);
  EXPECT_TRUE(says(over.errors[0].message, "together exceed 4MiB (4194304 bytes)")) << all(over.errors);
}

TEST_F(Confinement, AFolderWithTooManyDropInsIsRefused) {
  for (std::size_t i = 0; i <= limits::kMaxDropInsPerFolder; ++i)
    write("units/api.service.d/" + std::to_string(100 + i) + ".conf", "[Service]\n");
  const auto check = load(R"("drop_ins": ["units/api.service.d"])");
  EXPECT_TRUE(says(all(check.errors), "129 *.conf drop-ins; expected at most 128 in one folder")) << all(check.errors);
}

// --- a file that is not a unit file ----------------------------------------------

TEST(ForeignFile, IsReportedByExcerptsAndNotReadPastTheThirdBadLine) {
  const std::string text = std::string(kSecret) + "\n\x1b[2Jbin:x:1:1::/bin:\xff\xfe\n[broken\nfourth line never shown\n";
  const UnitFileText f = parseUnitFile(text, "shadow");
  ASSERT_EQ(f.problems.size(), 4u);
  EXPECT_TRUE(f.foreign);
  EXPECT_EQ(f.problems[0].message, "missing '=' in \"root:$y$j9T$SECRETHASH:19000:0:99999:7::...\"");
  EXPECT_EQ(f.problems[1].message, "missing '=' in \"\\x1b[2Jbin:x:1:1::/bin:\\xff\\xfe\"");
  EXPECT_EQ(f.problems[2].message, "invalid section header in \"[broken\"");
  EXPECT_EQ(f.problems[3].line, 3u);
  EXPECT_EQ(f.problems[3].message, "does not look like a unit file: 3 lines are not systemd syntax; the rest is not read");
  for (const auto& p : f.problems) EXPECT_FALSE(p.message.find("fourth") != std::string::npos);
  // A few slips in a real unit file are each reported, and the rest is still read.
  const UnitFileText unit = parseUnitFile("[Service]\nOOMPolicy stop\nMemoryMax=1G\n", "api.service");
  EXPECT_FALSE(unit.foreign);
  EXPECT_EQ(unit.problems.size(), 1u);
  EXPECT_EQ(unit.assignments.size(), 1u);
}

TEST(ForeignFile, AnExcerptIsCutAtACharacterBoundary) {
  const std::string text = std::string(39, 'a') + "\xc3\xa9" + "tail";  // 'é' straddles byte 40
  EXPECT_EQ(unitTextExcerpt(text), std::string(39, 'a') + "...");
  EXPECT_EQ(unitTextExcerpt("short\n"), "short\\n");
}

// --- lint ------------------------------------------------------------------------

TEST_F(Confinement, LintTakesAFolderWithATrailingSlash) {
  write("api.service.d/10.conf", "[Service]\nOOMScoreAdjust=-1000\n");
  const auto in = collectLintInputs({(top_ / "scen" / "api.service.d").string() + "/"});
  EXPECT_TRUE(in.unreadable.empty()) << all(in.unreadable);
  ASSERT_EQ(in.units.size(), 1u);
  EXPECT_EQ(in.units[0].name, "api.service");
}

TEST_F(Confinement, LintReadsWhatItFindsInAFolderBelowThatFolder) {
  write("tree/api.service", "[Service]\nExecStart=/bin/true\n");
  link(top_ / "cred", "tree/cred.service");
  link(top_ / "etc", "tree/service.d");
  link("loop.d", "tree/db.service.d");
  link("db.service.d", "tree/loop.d");
  fs::create_directories(top_ / "scen" / "tree" / "api.service.d");
  link("../../../cred", "tree/api.service.d/30-x.conf");
  ASSERT_EQ(::mkfifo((top_ / "scen" / "tree" / "api.service.d" / "40-fifo.conf").c_str(), 0600), 0);
  const auto in = collectLintInputs({(top_ / "scen" / "tree").string()});
  const std::string text = checked(in.unreadable);
  EXPECT_TRUE(says(text, "cred.service: leads out of")) << text;
  EXPECT_TRUE(says(text, "service.d: leads out of")) << text;
  EXPECT_TRUE(says(text, "db.service.d: a symlink loop")) << text;
  EXPECT_TRUE(says(text, "30-x.conf: leads out of")) << text;
  EXPECT_TRUE(says(text, "40-fifo.conf: expected a regular file; got a FIFO")) << text;
  // The NAME.d folder named alone is a folder of its own: its links are held to it.
  const auto alone = collectLintInputs({(top_ / "scen" / "tree" / "api.service.d").string()});
  EXPECT_TRUE(says(checked(alone.unreadable), "30-x.conf: leads out of")) << all(alone.unreadable);
}

TEST_F(Confinement, LintKeepsAliasesAndMasksInATree) {
  write("tree/api.service", "[Service]\nExecStart=/bin/true\n");
  link("api.service", "tree/alias.service");
  link("/dev/null", "tree/masked.service");
  write("tree/real.d/10.conf", "[Service]\nOOMPolicy=stop\n");
  link("real.d", "tree/api.service.d");
  link("/dev/null", "tree/real.d/20-masked.conf");
  const auto in = collectLintInputs({(top_ / "scen" / "tree").string()});
  EXPECT_TRUE(in.unreadable.empty()) << all(in.unreadable);
  ASSERT_EQ(in.units.size(), 1u);
  EXPECT_EQ(in.units[0].drop_ins.size(), 1u);
}

// lint's budget in all: exactly kMaxLintFiles files are read, the next is said once.
TEST_F(Confinement, LintReadsAtMostItsBudgetOfFilesAndSaysSo) {
  for (std::size_t i = 0; i < limits::kMaxLintFiles; ++i) write("tree/u" + std::to_string(i) + ".service", "[Service]\n");
  const auto at = collectLintInputs({(top_ / "scen" / "tree").string()});
  EXPECT_TRUE(at.unreadable.empty()) << all(at.unreadable);
  EXPECT_EQ(at.units.size(), limits::kMaxLintFiles);
  write("tree/zz-one-more.service", "[Service]\n");
  write("tree/zz-two-more.service", "[Service]\n");
  const auto over = collectLintInputs({(top_ / "scen" / "tree").string()});
  ASSERT_EQ(over.unreadable.size(), 1u) << all(over.unreadable);
  EXPECT_TRUE(says(all(over.unreadable), "not read, nor anything after it: lint reads at most 4096 files"))
      << all(over.unreadable);
  EXPECT_EQ(over.units.size(), limits::kMaxLintFiles);
}

// ... and of bytes: files up to 64 MiB in all are read; the one after is not.
TEST_F(Confinement, LintReadsAtMostItsBudgetOfBytes) {
  const std::string body = "[Service]\n#" + std::string(kMaxUnitFileBytes - 12, 'x') + "\n";
  ASSERT_EQ(body.size(), kMaxUnitFileBytes);
  const std::size_t fit = limits::kMaxLintBytesTotal / kMaxUnitFileBytes;
  for (std::size_t i = 0; i < fit; ++i) write("tree/u" + std::to_string(100 + i) + ".service", body);
  const auto at = collectLintInputs({(top_ / "scen" / "tree").string()});
  EXPECT_TRUE(at.unreadable.empty()) << all(at.unreadable);
  write("tree/z.service", "[Service]\n");
  const auto over = collectLintInputs({(top_ / "scen" / "tree").string()});
  EXPECT_TRUE(says(all(over.unreadable), "z.service: not read, nor anything after it")) << all(over.unreadable);
  EXPECT_EQ(over.units.size(), fit);
}

}  // namespace
