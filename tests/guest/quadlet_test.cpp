// What Quadlet's generator refuses, read from its dry run as recorded in a trixie
// guest (fixtures/quadlet/README.md): the refusal of the service's own file, named.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "guest/containers.hpp"

using namespace oom;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(OOM_GUEST_FIXTURES) + "/quadlet/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kWorker = "/etc/containers/systemd/worker.container";
const std::string kApi = "/etc/containers/systemd/api.container";

}  // namespace

TEST(QuadletDryRun, AKeyTheGeneratorRefusesIsNamedForItsFileOnly) {
  const std::string out = fixture("dryrun-unsupported-key-trixie.txt");
  const auto worker = quadletProblems(out, kWorker);
  ASSERT_EQ(worker.size(), 1u);
  EXPECT_NE(worker[0].find("unsupported key 'Memory' in group 'Container'"), std::string::npos) << worker[0];
  EXPECT_EQ(worker[0].find("Loading source"), std::string::npos);
  // The other file converted; its "Loading source" line is no problem of its own.
  EXPECT_TRUE(quadletProblems(out, kApi).empty());
}

TEST(QuadletDryRun, AFileWithoutAnImageIsRefused) {
  const auto worker = quadletProblems(fixture("dryrun-no-image-trixie.txt"), kWorker);
  ASSERT_EQ(worker.size(), 1u);
  EXPECT_NE(worker[0].find("no Image or Rootfs key specified"), std::string::npos) << worker[0];
}

TEST(QuadletDryRun, ACleanRunHasNoProblem) {
  EXPECT_TRUE(quadletProblems(fixture("dryrun-clean-trixie.txt"), kWorker).empty());
}

TEST(QuadletDryRun, AGeneratorThatIsNotThereSaysSo) {
  // bookworm's Podman 4.3 has no Quadlet: sh's "not found", exit 127.
  const auto p = quadletProblems("sh: 1: /usr/libexec/podman/quadlet: not found\nexit 127\n", kWorker);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("exit 127 (not in the guest: Podman before 4.4 has no Quadlet)"), std::string::npos) << p[0];
  EXPECT_NE(p[0].find("not found"), std::string::npos) << p[0];
  // A failure that names no file is still a failure.
  EXPECT_FALSE(quadletProblems("something broke\nexit 1\n", kWorker).empty());
}
