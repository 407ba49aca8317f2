// The unit files an image's extra packages install, copied out at build time
// (vm/package_units.hpp), on a fixture root laid out as mmdebstrap leaves it:
// a dpkg database, merged /usr (lib -> usr/lib), files the packages list.
#include "vm/package_units.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "vm/image.hpp"

namespace fs = std::filesystem;
using namespace oom;

namespace {

// bookworm's dpkg status, cut to what the rule reads: nginx has no Source: (its
// own), nginx-common is built from source nginx, libc6 from glibc (with a version).
constexpr const char* kStatus = R"(Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc (2.36-9+deb12u10)
Version: 2.36-9+deb12u10
Description: GNU C Library
 continuation: not a field

Package: nginx
Status: install ok installed
Architecture: amd64
Version: 1.22.1-9+deb12u12
Depends: libc6 (>= 2.34), nginx-common (>= 1.22.1-9+deb12u12)

Package: nginx-common
Status: install ok installed
Architecture: all
Source: nginx
Version: 1.22.1-9+deb12u12

Package: nginx-doc
Status: deinstall ok config-files
Architecture: all
Source: nginx
Version: 1.22.1-9+deb12u12
)";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PackageUnits : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("oomharness-package-units-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "usr/lib/systemd/system");
    fs::create_directory_symlink("usr/lib", root_ / "lib");  // merged /usr, as Debian links it
    write("var/lib/dpkg/status", kStatus);
    write("var/lib/dpkg/info/nginx.list", "/.\n/usr\n/usr/sbin/nginx\n");
    write("var/lib/dpkg/info/nginx-common.list",
          "/.\n/etc/nginx/nginx.conf\n/lib/systemd/system\n/lib/systemd/system/nginx.service\n"
          "/lib/systemd/system/nginx-alias.service\n/lib/systemd/system/nested/x.service\n"
          "/lib/systemd/system/README\n");
    write("var/lib/dpkg/info/libc6:amd64.list", "/lib/systemd/system/libc-thing.service\n");
    write("usr/lib/systemd/system/nginx.service", "[Service]\nExecStart=/usr/sbin/nginx\n");
    write("usr/lib/systemd/system/libc-thing.service", "[Service]\n");
    fs::create_symlink("/etc/shadow", root_ / "usr/lib/systemd/system/nginx-alias.service");
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  fs::path root_;
};

TEST(DpkgStatus, ListsInstalledPackagesWithTheirSourceWithoutItsVersion) {
  const auto packages = parseDpkgStatus(kStatus);
  ASSERT_EQ(packages.size(), 3u);  // nginx-doc is only configuration files
  EXPECT_EQ(packages[0].name, "libc6");
  EXPECT_EQ(packages[0].source, "glibc");
  EXPECT_EQ(packages[1].source, "nginx");  // no Source: field, its own name
  EXPECT_EQ(packages[2].name, "nginx-common");
  EXPECT_EQ(packages[2].source, "nginx");
  EXPECT_EQ(packages[2].version, "1.22.1-9+deb12u12");
}

TEST(DpkgFileList, KeepsServiceSocketAndTimerFilesDirectlyInAUnitFolder) {
  const auto units = unitFilesListed(
      "/lib/systemd/system\n/lib/systemd/system/a.service\n/usr/lib/systemd/system/b.socket\n"
      "/lib/systemd/system/c.timer\n/lib/systemd/system/d.path\n/lib/systemd/system/x/e.service\n"
      "/etc/systemd/system/f.service\n/lib/systemd/system/.service\n");
  EXPECT_EQ(units, (std::vector<std::string>{"/lib/systemd/system/a.service", "/usr/lib/systemd/system/b.socket",
                                             "/lib/systemd/system/c.timer"}));
}

TEST_F(PackageUnits, ASiblingFromTheSameSourceShipsTheUnitTheUserAsksFor) {
  const fs::path out = root_.parent_path() / (root_.filename().string() + "-units");
  auto units = extractPackageUnits(root_, {"nginx"}, out);
  ASSERT_TRUE(units) << units.error().str();
  // nginx-common's regular file only: not the alias link (it leads out of the root),
  // not a file in a subfolder, not libc6's (another source).
  ASSERT_EQ(units->size(), 1u);
  const PackageUnit& u = units->at("nginx.service");
  EXPECT_EQ(u.package, "nginx-common");
  EXPECT_EQ(u.version, "1.22.1-9+deb12u12");
  EXPECT_EQ(u.path, "/lib/systemd/system/nginx.service");
  EXPECT_EQ(u.extracted_for, std::vector<std::string>{"nginx"});
  EXPECT_EQ(slurp(out / "nginx.service"), "[Service]\nExecStart=/usr/sbin/nginx\n");
  EXPECT_FALSE(fs::exists(out / "nginx-alias.service"));
  fs::remove_all(out);
}

TEST_F(PackageUnits, NoExtraPackagesCopiesNothingAndAMissingDatabaseIsASetupError) {
  const fs::path out = root_ / "out";
  auto none = extractPackageUnits(root_, {}, out);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  fs::remove(root_ / "var/lib/dpkg/status");
  auto broken = extractPackageUnits(root_, {"nginx"}, out);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().kind, ErrorKind::setup);
}

TEST(ImageJsonPackageUnits, AnImageBuiltBeforeTheCopiesHasNoneAndSaysSo) {
  const fs::path dir = fs::temp_directory_path() / ("oomharness-image-json-units-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "image.json") << R"({"release":"bookworm","kernel_version":"6.1.0-50-cloud-amd64",)"
                                    << R"("packages":{"nginx":"1.22.1-9+deb12u12"}})";
  auto old = readImageJson(dir);
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->package_units_extracted);
  GuestImage image = *old;
  image.package_units["nginx.service"] =
      PackageUnit{"nginx-common", "1.22.1-9+deb12u12", "/lib/systemd/system/nginx.service", {"nginx"}};
  std::ofstream(dir / "image.json") << nlohmann::json(image).dump();
  auto back = readImageJson(dir);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->package_units_extracted);
  EXPECT_EQ(back->package_units.at("nginx.service").package, "nginx-common");
  EXPECT_EQ(back->packageUnitFile("nginx.service"), dir / "units/nginx.service");
  fs::remove_all(dir);
}

}  // namespace
