// A scenario's guest.packages (Debian packages added to its image) and its
// payload folder (its own files, read-only in the guest): what `check` refuses
// before anything starts, and what the plan's facts say about them.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "plan/fingerprint.hpp"
#include "plan/planner.hpp"
#include "scenario/limits.hpp"
#include "scenario/parse.hpp"
#include "error_text.hpp"

namespace fs = std::filesystem;
using namespace oom;

using oomtest::all;

namespace {

std::string scenarioWithPackages(const std::string& extra) {
  return R"({"name": "p", "description": "d", )" + extra +
         R"(, "services": [{"name": "api", "why": "w", "load": {"baseline": "10M"}}],
             "expect": {"never_killed": ["api"]}})";
}

ScenarioCheck withPackages(const std::string& packages) {
  return parseScenario(scenarioWithPackages(R"("guest": {"packages": )" + packages + "}"), "s.json");
}

}  // namespace

TEST(GuestPackages, AreKeptInFileOrderAndSortedInThePlansFacts) {
  const auto check = withPackages(R"(["python3", "nginx", "g++", "libc6.1-dev"])");
  ASSERT_TRUE(check.ok()) << all(check.errors);
  EXPECT_EQ(check.scenario->guest.packages, (std::vector<std::string>{"python3", "nginx", "g++", "libc6.1-dev"}));
  auto plan = makeGuestPlan(*check.scenario);
  ASSERT_TRUE(plan);
  EXPECT_EQ(planFacts(*plan).at("guest.packages"), "g++,libc6.1-dev,nginx,python3");
  EXPECT_EQ(planFacts(*plan).count("payload"), 0u);
}

TEST(GuestPackages, NoneLeavesThePlansFactsAsTheyWere) {
  const auto check = parseScenario(scenarioWithPackages(R"("guest": {"memory": "1G"})"), "s.json");
  ASSERT_TRUE(check.ok()) << all(check.errors);
  auto plan = makeGuestPlan(*check.scenario);
  ASSERT_TRUE(plan);
  EXPECT_EQ(planFacts(*plan).count("guest.packages"), 0u);
}

TEST(GuestPackages, ABadNameIsAnErrorAtItsIndex) {
  const auto check = withPackages(R"(["nginx", "Nginx", "a", "x;rm", "-o"])");
  ASSERT_EQ(check.errors.size(), 4u) << all(check.errors);
  EXPECT_EQ(check.errors[0].where, "s.json: $.guest.packages[1]");
  EXPECT_NE(check.errors[0].message.find("expected a Debian package name ([a-z0-9][a-z0-9+.-]+, at most 100"),
            std::string::npos)
      << check.errors[0].message;
  EXPECT_EQ(check.errors[3].where, "s.json: $.guest.packages[4]");
  const auto long_name = withPackages("[\"" + std::string(101, 'a') + "\"]");
  EXPECT_EQ(long_name.errors.size(), 1u) << all(long_name.errors);
  EXPECT_EQ(withPackages(R"([7])").errors.at(0).where, "s.json: $.guest.packages[0]");
}

TEST(GuestPackages, DuplicatesEmptyAndTooManyAreRefused) {
  const auto dup = withPackages(R"(["nginx", "curl", "nginx"])");
  ASSERT_EQ(dup.errors.size(), 1u) << all(dup.errors);
  EXPECT_EQ(dup.errors[0].where, "s.json: $.guest.packages[2]");
  EXPECT_NE(dup.errors[0].message.find("duplicate package \"nginx\""), std::string::npos);
  for (const std::string bad : {"[]", "\"nginx\""}) {
    const auto check = withPackages(bad);
    ASSERT_EQ(check.errors.size(), 1u) << bad;
    EXPECT_EQ(check.errors[0].where, "s.json: $.guest.packages");
    EXPECT_NE(check.errors[0].message.find("expected an array of 1 to 32 Debian package names"), std::string::npos);
  }
  std::string many = "[";
  for (std::size_t i = 0; i <= limits::kMaxGuestPackages; ++i) many += (i ? ", \"p" : "\"p") + std::to_string(i) + "\"";
  EXPECT_FALSE(withPackages(many + "]").ok());
}

// --- the payload folder ------------------------------------------------------------

class Payload : public ::testing::Test {
 protected:
  void SetUp() override {
    top_ = fs::temp_directory_path() / ("oomharness-payload-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(top_);
    fs::create_directories(top_ / "scen" / "payload");
    std::ofstream(top_ / "cred") << "SECRET\n";
    fs::create_directories(top_ / "outside");
  }
  void TearDown() override { fs::remove_all(top_); }
  fs::path at(const std::string& relative) const { return top_ / "scen" / relative; }
  void write(const std::string& relative, const std::string& text) {
    fs::create_directories(at(relative).parent_path());
    std::ofstream(at(relative)) << text;
  }
  ScenarioCheck load(const std::string& payload = "payload") {
    write("s.json", scenarioWithPackages(R"("payload": ")" + payload + "\""));
    return loadScenarioFile(at("s.json"));
  }
  static bool says(const ScenarioCheck& check, const std::string& part) {
    return all(check.errors).find(part) != std::string::npos;
  }
  fs::path top_;
};

TEST_F(Payload, AFolderBelowTheScenarioIsCheckedAndNamedByItsDigest) {
  write("payload/serve.py", "print('hi')\n");
  write("payload/conf/app.ini", "[app]\n");
  fs::permissions(at("payload/serve.py"), fs::perms::owner_exec, fs::perm_options::add);
  const auto check = load();
  ASSERT_TRUE(check.ok()) << all(check.errors);
  EXPECT_EQ(check.scenario->payload_dir, at("payload"));
  EXPECT_EQ(check.scenario->payload_digest.size(), 16u);
  auto plan = makeGuestPlan(*check.scenario);
  ASSERT_TRUE(plan);
  EXPECT_EQ(planFacts(*plan).at("payload"), "digest " + check.scenario->payload_digest);
  // The same files elsewhere: the same digest. Another mode or text: another.
  write("payload/conf/app.ini", "[app]\nx=1\n");
  EXPECT_NE(load().scenario->payload_digest, check.scenario->payload_digest);
}

TEST_F(Payload, AbsoluteAndDotDotPathsAreRefusedWithTheJsonPath) {
  const auto absolute = load((top_ / "outside").string());
  ASSERT_EQ(absolute.errors.size(), 1u) << all(absolute.errors);
  EXPECT_EQ(absolute.errors[0].where, at("s.json").string() + ": $.payload");
  EXPECT_TRUE(says(absolute, "is an absolute path; expected a path below")) << all(absolute.errors);
  const auto up = load("../outside");
  EXPECT_TRUE(says(up, "leaves the scenario's folder")) << all(up.errors);
  EXPECT_TRUE(says(load("missing"), "no such folder"));
  write("file", "x");
  EXPECT_TRUE(says(load("file"), "expected a folder"));
}

TEST_F(Payload, ALinkOutOfTheScenarioAndALinkInsideAreRefused) {
  fs::create_symlink(top_ / "outside", at("out"));
  const auto out = load("out");
  EXPECT_TRUE(says(out, "leads out of " + (top_ / "scen").string() + " through a symlink")) << all(out.errors);
  fs::create_symlink("../../cred", at("payload/cred"));
  const auto inside = load();
  EXPECT_TRUE(says(inside, "payload/cred: is a symlink; expected regular files and folders only"))
      << all(inside.errors);
  fs::remove(at("payload/cred"));
  write("payload/real", "x");
  fs::create_symlink("real", at("payload/alias"));
  EXPECT_TRUE(says(load(), "payload/alias: is a symlink")) << "even a link that stays below";
  EXPECT_EQ(all(inside.errors).find("SECRET"), std::string::npos);
}

TEST_F(Payload, AFifoIsRefused) {
  ASSERT_EQ(::mkfifo(at("payload/pipe").c_str(), 0600), 0);
  EXPECT_TRUE(says(load(), "payload/pipe: is not a regular file or a folder (a FIFO")) << all(load().errors);
}

TEST_F(Payload, TooManyEntriesTooManyBytesAndTooDeepAreRefused) {
  for (std::size_t i = 0; i <= limits::kMaxPayloadEntries; ++i) write("payload/f" + std::to_string(i), "");
  const auto many = load();
  EXPECT_TRUE(says(many, "more than 1024 files and folders in the payload")) << all(many.errors);
  fs::remove_all(at("payload"));
  write("payload/a", std::string(limits::kMaxPayloadBytes / 2, 'a'));
  write("payload/b", std::string(limits::kMaxPayloadBytes / 2 + 1, 'b'));
  const auto big = load();
  EXPECT_TRUE(says(big, "payload/b: " + std::to_string(limits::kMaxPayloadBytes / 2 + 1) +
                            " bytes: with the payload's other files, more than 64MiB"))
      << all(big.errors);
  fs::remove_all(at("payload"));
  std::string deep = "payload";
  for (std::size_t i = 0; i < limits::kMaxPayloadDepth; ++i) deep += "/d";
  write(deep + "/ok", "");  // a file at depth 17
  const auto too_deep = load();
  EXPECT_TRUE(says(too_deep, "nested 17 levels deep; expected folders at most 16 levels")) << all(too_deep.errors);
  fs::remove(at(deep + "/ok"));
  EXPECT_TRUE(load().ok()) << "16 levels of folders are allowed";
}

TEST_F(Payload, AStoredScenarioIsNotReadAgain) {
  ScenarioSources sources;
  sources.base_dir = top_ / "scen";
  sources.read_unit_files = false;
  const auto check = parseScenario(scenarioWithPackages(R"("payload": "gone")"), "result.json", sources);
  ASSERT_TRUE(check.ok()) << all(check.errors);
  EXPECT_TRUE(check.scenario->payload_digest.empty());
}
