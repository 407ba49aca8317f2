// `--units DIR`: which files systemd named are copied where, on a fixture root.
#include <gtest/gtest.h>

#include <fstream>

#include "capture/unit_copy.hpp"
#include "fixture_tree.hpp"

namespace oom {
namespace {

CapturedService service(const std::string& unit, const std::string& fragment, std::vector<std::string> dropins) {
  CapturedService s;
  s.unit = unit;
  s.load_state = "loaded";
  s.fragment_path = fragment;
  s.drop_in_paths = std::move(dropins);
  return s;
}

std::vector<CapturedService> services() {
  auto masked = service("old.service", "/dev/null", {});
  masked.load_state = "masked";
  return {service("api.service", "/usr/lib/systemd/system/api.service",
                  {"/etc/systemd/system/api.service.d/10-oom.conf", "/run/systemd/system/api.service.d/20-mem.conf",
                   "/usr/lib/systemd/system/service.d/10-timeout-abort.conf"}),
          service("worker@1.service", "/etc/systemd/system/worker@.service",
                  {"/etc/systemd/system/worker@.service.d/oom.conf",
                   "/usr/lib/systemd/system/service.d/10-timeout-abort.conf"}),
          service("run-u7.service", "/run/systemd/transient/run-u7.service", {}),
          service("gen.service", "", {}), masked,
          service("api2.service", "/opt/other/api.service", {})};
}

TEST(CaptureUnitCopy, LaidOutAsEtcSystemdSystem) {
  const auto plan = planUnitCopies(services());
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& c : plan.copies) got.emplace_back(c.source, c.relative);
  const std::vector<std::pair<std::string, std::string>> expected{
      {"/usr/lib/systemd/system/api.service", "api.service"},
      {"/etc/systemd/system/api.service.d/10-oom.conf", "api.service.d/10-oom.conf"},
      {"/run/systemd/system/api.service.d/20-mem.conf", "api.service.d/20-mem.conf"},
      {"/usr/lib/systemd/system/service.d/10-timeout-abort.conf", "service.d/10-timeout-abort.conf"},  // once
      {"/etc/systemd/system/worker@.service", "worker@.service"},
      {"/etc/systemd/system/worker@.service.d/oom.conf", "worker@.service.d/oom.conf"},
      {"/run/systemd/transient/run-u7.service", "run-u7.service"}};
  EXPECT_EQ(got, expected);
  const std::vector<std::string> not_copied{
      "gen.service: no unit file (systemd gives no FragmentPath)",
      "old.service: masked (FragmentPath /dev/null)",
      "api2.service: /opt/other/api.service not copied: api.service is already /usr/lib/systemd/system/api.service"};
  EXPECT_EQ(plan.not_copied, not_copied);
}

TEST(CaptureUnitCopy, CopiesFromTheRootAndNeverReplacesAFile) {
  test::FixtureTree t;
  t.write("host/usr/lib/systemd/system/api.service", "[Service]\nExecStart=/usr/bin/api\n");
  t.write("host/etc/systemd/system/api.service.d/10-oom.conf", "[Service]\nOOMScoreAdjust=-300\n");
  UnitCopyPlan plan;
  plan.copies = {{"api.service", "/usr/lib/systemd/system/api.service", "api.service"},
                 {"api.service", "/etc/systemd/system/api.service.d/10-oom.conf", "api.service.d/10-oom.conf"}};
  const SysFs root((t.root / "host").string());
  const auto out = t.root / "units";
  const auto written = copyUnitFiles(plan, root, out);
  ASSERT_TRUE(written) << written.error().str();
  EXPECT_EQ(written->size(), 2u);
  std::ifstream in(out / "api.service.d/10-oom.conf");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "[Service]\nOOMScoreAdjust=-300\n");
  const auto again = copyUnitFiles(plan, root, out);
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().str().find("api.service: already exists"), std::string::npos) << again.error().str();
  plan.copies = {{"gone.service", "/etc/systemd/system/gone.service", "gone.service"}};
  const auto missing = copyUnitFiles(plan, root, out);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().where, "/etc/systemd/system/gone.service");
}

}  // namespace
}  // namespace oom
