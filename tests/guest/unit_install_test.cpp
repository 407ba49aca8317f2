// The guest's side of units from real files (guest/unit_install.hpp), on a fixture
// root: the user's files are written; a package's unit file (in_image) is only
// checked against the text the plan was made from, and never written.
#include "guest/unit_install.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using namespace oom;

namespace {

constexpr const char* kPackaged = "[Service]\nExecStart=/usr/sbin/nginx\n";

class UnitInstall : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("oomharness-unit-install-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "lib/systemd/system");
    std::ofstream(root_ / "lib/systemd/system/nginx.service") << kPackaged;
    unit_.unit = "nginx.service";
    unit_.files.files = {
        InstalledFile{"package nginx-common 1.22.1-9+deb12u9", "/lib/systemd/system/nginx.service", kPackaged, true},
        InstalledFile{"units/nginx.service.d/10-oom.conf", "/etc/systemd/system/nginx.service.d/10-oom.conf",
                      "[Service]\nOOMPolicy=continue\n"}};
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string read(const std::string& relative) {
    std::ifstream in(root_ / relative);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path root_;
  PlannedUnit unit_;
};

TEST_F(UnitInstall, APackagedUnitFileIsCheckedNotWrittenAndTheDropInsAreWritten) {
  const auto written = installUnitFiles(SysFs(root_.string()), unit_);
  ASSERT_TRUE(written) << written.error().str();
  EXPECT_EQ(read("etc/systemd/system/nginx.service.d/10-oom.conf"), "[Service]\nOOMPolicy=continue\n");
  EXPECT_FALSE(fs::exists(root_ / "etc/systemd/system/nginx.service"));
  EXPECT_EQ(read("lib/systemd/system/nginx.service"), kPackaged);
}

TEST_F(UnitInstall, APackagedUnitFileThatChangedOrIsMissingFailsTheSetup) {
  std::ofstream(root_ / "lib/systemd/system/nginx.service") << "[Service]\nExecStart=/usr/sbin/nginx -newer\n";
  auto changed = installUnitFiles(SysFs(root_.string()), unit_);
  ASSERT_FALSE(changed);
  EXPECT_NE(changed.error().message.find("not the text of package nginx-common 1.22.1-9+deb12u9"), std::string::npos)
      << changed.error().message;
  EXPECT_EQ(read("lib/systemd/system/nginx.service"), "[Service]\nExecStart=/usr/sbin/nginx -newer\n");  // left as it is
  fs::remove(root_ / "lib/systemd/system/nginx.service");
  auto missing = installUnitFiles(SysFs(root_.string()), unit_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().where, "/lib/systemd/system/nginx.service");
}

}  // namespace
