// The payload disk's staging tree: the harness's files in bin/ and job/, the
// payload folder only below payload/, with normalised modes.
#include "vm/payload.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "oom/guest_paths.hpp"
#include "vm/process.hpp"

using namespace oom;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(PayloadDisk, ThePayloadLandsBelowPayloadOnlyWithNormalisedModes) {
  if (findProgram("mkfs.ext4").empty()) GTEST_SKIP() << "no mkfs.ext4";
  const fs::path top = fs::temp_directory_path() / ("oomharness-payload-disk-" + std::to_string(::getpid()));
  fs::remove_all(top);
  fs::create_directories(top / "scen" / "payload" / "job");
  fs::create_directories(top / "scen" / "payload" / "lib");
  std::ofstream(top / "scen" / "payload" / "job" / "run.sh") << "echo pwned\n";  // not the harness's job/
  std::ofstream(top / "scen" / "payload" / "serve") << "#!/bin/sh\n";
  std::ofstream(top / "scen" / "payload" / "lib" / "data") << "data";
  fs::permissions(top / "scen" / "payload" / "serve", static_cast<fs::perms>(0700));
  fs::permissions(top / "scen" / "payload" / "lib" / "data", static_cast<fs::perms>(0600));
  PayloadSpec spec;
  spec.payload_dir = top / "scen" / "payload";
  spec.payload_confined_to = top / "scen";
  spec.command = {"/bin/true"};
  auto built = buildPayloadDisk(spec, top / "staging", top / "payload.img");
  ASSERT_TRUE(built) << built.error().str();
  EXPECT_EQ(built->entries, 5u);
  EXPECT_EQ(slurp(top / "staging" / "job" / "run.sh"), jobScript({"/bin/true"}));
  EXPECT_EQ(slurp(top / "staging" / "payload" / "job" / "run.sh"), "echo pwned\n");
  EXPECT_EQ(fs::status(top / "staging" / "payload" / "serve").permissions(), static_cast<fs::perms>(0755));
  EXPECT_EQ(fs::status(top / "staging" / "payload" / "lib" / "data").permissions(), static_cast<fs::perms>(0644));
  EXPECT_EQ(fs::status(top / "staging" / "payload" / "lib").permissions(), static_cast<fs::perms>(0755));
  EXPECT_TRUE(fs::exists(top / "payload.img"));
  // `vm run --payload DIR`: DIR itself confines, and a link in it is refused.
  fs::create_symlink("/etc/shadow", top / "scen" / "payload" / "lib" / "shadow");
  spec.payload_confined_to.clear();
  fs::remove_all(top / "staging");
  auto refused = buildPayloadDisk(spec, top / "staging", top / "payload.img");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().str().find("lib/shadow: is a symlink"), std::string::npos) << refused.error().str();
  fs::remove_all(top);
}

TEST(PayloadDisk, TheJobScriptEntersThePayloadFolder) {
  EXPECT_NE(jobScript({"x"}).find(std::string("cd ") + guest::kPayloadDir + " "), std::string::npos);
}
