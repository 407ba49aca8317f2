// A service whose unit file is the one its Debian package installs
// ("unit_file": {"package": "nginx"}), with the user's drop-ins: parsed, merged and
// cited from the text the guest image holds (here bookworm's nginx.service, as
// nginx-common 1.22.1-9+deb12u12 ships it), and what the plan and its facts say.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "plan/fingerprint.hpp"
#include "plan/planner.hpp"
#include "scenario/parse.hpp"
#include "scenario/unit_lint.hpp"
#include "error_text.hpp"

namespace fs = std::filesystem;
using namespace oom;

using oomtest::all;

namespace {

constexpr const char* kVersion = "1.22.1-9+deb12u12";
constexpr const char* kGuestPath = "/lib/systemd/system/nginx.service";

// The unit file a real bookworm image's build copied out of nginx-common (the image the
// nginx recordings ran in: tests/checks/fixtures/images/bookworm-nginx).
std::string fixture(const std::string& name) {
  std::ifstream in(std::string(OOM_SOURCE_DIR) + "/tests/checks/fixtures/images/bookworm-nginx/units/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

PackagedUnits bookwormImage() {
  PackagedUnits image;
  image.image = "bookworm-0523ecae7aa0";
  image.units.push_back(
      PackagedUnit{"nginx.service", "nginx-common", kVersion, kGuestPath, fixture("nginx.service"), {"nginx"}});
  return image;
}

const SettingOrigin* origin(const std::vector<SettingOrigin>& list, const std::string& directive) {
  for (const auto& o : list)
    if (o.directive == directive) return &o;
  return nullptr;
}

class PackagedUnitFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("oomharness-packaged-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "units/nginx.service.d");
    std::ofstream(dir_ / "units/nginx.service.d/10-oom.conf") << "[Service]\nOOMPolicy=continue\nOOMScoreAdjust=500\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A scenario whose service `name` takes its unit from `unit_file`, with the drop-in above.
  ScenarioCheck parse(const std::string& unit_file, const std::string& name = "nginx",
                      const std::string& packages = R"(["nginx"])") {
    const std::string text = R"({"name": "p", "description": "d", "guest": {"packages": )" + packages +
                             R"(}, "services": [{"name": ")" + name + R"(", "why": "w", "unit_file": )" + unit_file +
                             R"(, "drop_ins": ["units/nginx.service.d"]}], "expect": {"never_killed": [")" + name +
                             R"("]}})";
    ScenarioSources sources;
    sources.base_dir = dir_;
    sources.packaged_units = provider;
    return parseScenario(text, "s.json", sources);
  }

  fs::path dir_;
  std::function<Expected<PackagedUnits>(const GuestSpec&)> provider = [](const GuestSpec&) -> Expected<PackagedUnits> {
    return bookwormImage();
  };
};

TEST_F(PackagedUnitFile, TheShippedFileIsMergedWithTheDropInAndCitedByItsGuestPathAndPackage) {
  const auto check = parse(R"({"package": "nginx"})");
  ASSERT_TRUE(check.ok()) << all(check.errors);
  const ServiceSpec& svc = check.scenario->services[0];
  ASSERT_TRUE(svc.files);
  ASSERT_EQ(svc.files->files.size(), 2u);
  const InstalledFile& unit = svc.files->files[0];
  EXPECT_EQ(unit.guest_path, kGuestPath);
  EXPECT_TRUE(unit.in_image);
  EXPECT_EQ(unit.source, "package nginx-common 1.22.1-9+deb12u12");
  EXPECT_EQ(unit.text, fixture("nginx.service"));
  EXPECT_EQ(svc.files->files[1].guest_path, "/etc/systemd/system/nginx.service.d/10-oom.conf");
  EXPECT_FALSE(svc.files->files[1].in_image);
  // The drop-in's settings win; the package's own table directives are cited by line.
  EXPECT_EQ(svc.directive("OOMPolicy"), "continue");
  EXPECT_EQ(svc.directive("OOMScoreAdjust"), "500");
  ASSERT_TRUE(origin(svc.files->effective, "TimeoutStopSec"));
  EXPECT_EQ(origin(svc.files->effective, "TimeoutStopSec")->where,
            "/lib/systemd/system/nginx.service:26 (package nginx-common 1.22.1-9+deb12u12)");
  EXPECT_EQ(origin(svc.files->effective, "KillMode")->value, "mixed");
  EXPECT_EQ(origin(svc.files->effective, "OOMPolicy")->where, (dir_ / "units/nginx.service.d/10-oom.conf").string() + ":2");
  // Its own program: ExecStart=, Type=forking, PIDFile= and ExecStartPre= are left to systemd.
  EXPECT_TRUE(svc.runsOwnCommand());
  ASSERT_TRUE(origin(svc.files->passed_through, "ExecStartPre"));
  EXPECT_EQ(origin(svc.files->passed_through, "ExecStart")->where,
            "/lib/systemd/system/nginx.service:23 (package nginx-common 1.22.1-9+deb12u12)");
  EXPECT_TRUE(svc.files->neutralized.empty());
}

TEST_F(PackagedUnitFile, ThePlanWritesOnlyTheDropInsAndItsFactsNameThePackageAndText) {
  const auto check = parse(R"({"package": "nginx"})");
  ASSERT_TRUE(check.ok()) << all(check.errors);
  auto plan = makeGuestPlan(*check.scenario);
  ASSERT_TRUE(plan) << plan.error().str();
  const PlannedUnit& u = plan->units[0];
  ASSERT_EQ(u.files.files.size(), 3u);  // the package's, the user's drop-in, the harness drop-in
  EXPECT_TRUE(u.files.files[0].in_image);
  EXPECT_EQ(u.files.files[2].guest_path, "/etc/systemd/system/nginx.service.d/zz-oomharness.conf");
  const auto facts = planFacts(*plan);
  const std::string fact = facts.at("services.nginx.files./lib/systemd/system/nginx.service");
  EXPECT_NE(fact.find("package nginx-common 1.22.1-9+deb12u12"), std::string::npos) << fact;
  // Another build of the package, another plan.
  PackagedUnits changed = bookwormImage();
  changed.units[0].version = "1.22.1-9+deb12u13";
  provider = [changed](const GuestSpec&) -> Expected<PackagedUnits> { return changed; };
  auto again = makeGuestPlan(*parse(R"({"package": "nginx"})").scenario);
  ASSERT_TRUE(again);
  EXPECT_NE(planFingerprint(planFacts(*again)), planFingerprint(facts));
  // And the JSON the guest reads says which file is already there.
  const auto json = nlohmann::json(u.files.files[0]);
  EXPECT_EQ(json.at("in_image"), true);
  EXPECT_FALSE(nlohmann::json(u.files.files[1]).contains("in_image"));
  EXPECT_TRUE(nlohmann::json(u.files.files[0]).get<InstalledFile>().in_image);
}

TEST_F(PackagedUnitFile, APackageNotInGuestPackagesIsAnErrorAtItsPath) {
  const auto check = parse(R"({"package": "nginx-common"})");
  ASSERT_EQ(check.errors.size(), 1u) << all(check.errors);
  EXPECT_EQ(check.errors[0].json_path, "$.services[0].unit_file.package");
  EXPECT_EQ(check.errors[0].kind, ErrorKind::input);
  EXPECT_NE(check.errors[0].message.find("is not in [nginx]"), std::string::npos) << check.errors[0].message;
}

TEST_F(PackagedUnitFile, AUnitThePackageDoesNotShipNamesThePackageAndListsWhatItShips) {
  const auto check = parse(R"({"package": "nginx"})", "ngnix");
  ASSERT_EQ(check.errors.size(), 1u) << all(check.errors);
  EXPECT_EQ(check.errors[0].json_path, "$.services[0].unit_file");
  EXPECT_NE(check.errors[0].message.find("package \"nginx\" installs no ngnix.service in the guest image "
                                         "bookworm-0523ecae7aa0; it installs nginx.service"),
            std::string::npos)
      << check.errors[0].message;
}

TEST_F(PackagedUnitFile, AnUnknownKeyOrAPackageThatIsNotAStringIsAnError) {
  EXPECT_EQ(parse(R"({"package": "nginx", "path": "x"})").errors.at(0).json_path, "$.services[0].unit_file.path");
  EXPECT_EQ(parse(R"({"package": 7})").errors.at(0).json_path, "$.services[0].unit_file.package");
  EXPECT_EQ(parse(R"({})").errors.at(0).json_path, "$.services[0].unit_file.package");
}

TEST_F(PackagedUnitFile, AnImageThatCannotBeReadIsASetupErrorNotAPass) {
  provider = [](const GuestSpec& guest) -> Expected<PackagedUnits> {
    return failSetup("guest image", "the " + guest.release + " guest image with nginx is not built yet");
  };
  const auto check = parse(R"({"package": "nginx"})");
  ASSERT_EQ(check.errors.size(), 1u) << all(check.errors);
  EXPECT_EQ(check.errors[0].kind, ErrorKind::setup);
  EXPECT_EQ(check.errors[0].json_path, "$.services[0].unit_file");
  EXPECT_FALSE(check.scenario);
}

TEST_F(PackagedUnitFile, WithoutAnImageToReadTheUnitIsLeftUnreadForTheRunToRead) {
  provider = nullptr;
  const auto check = parse(R"({"package": "nginx"})");
  ASSERT_TRUE(check.ok()) << all(check.errors);
  EXPECT_TRUE(check.scenario->services[0].files_unread);
  EXPECT_FALSE(check.scenario->services[0].files);
}

TEST_F(PackagedUnitFile, TheImageIsAskedOnceWithTheScenariosGuest) {
  int asked = 0;
  provider = [&asked](const GuestSpec& guest) -> Expected<PackagedUnits> {
    ++asked;
    EXPECT_EQ(guest.packages, std::vector<std::string>{"nginx"});
    return bookwormImage();
  };
  EXPECT_TRUE(parse(R"({"package": "nginx"})").ok());
  EXPECT_EQ(asked, 1);
}

TEST_F(PackagedUnitFile, LintSaysItDidNotReadThePackagedUnitInsteadOfPassingIt) {
  std::ofstream(dir_ / "s.json") << R"({"name": "p", "description": "d", "guest": {"packages": ["nginx"]},
    "services": [{"name": "nginx", "why": "w",
                  "unit_file": {"package": "nginx"}, "drop_ins": ["units/nginx.service.d"]}],
    "expect": {"never_killed": ["nginx"]}})";
  const auto findings = lintScenarioAt(dir_ / "s.json");
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].rule, "packaged-unit-not-linted");
  EXPECT_EQ(findings[0].severity, LintSeverity::note);
  EXPECT_EQ(findings[0].at.line, 3u);
  EXPECT_NE(findings[0].message.find("nginx.service"), std::string::npos) << findings[0].message;
}

}  // namespace
