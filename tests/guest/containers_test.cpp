// Podman's view of a container's network, as `podman inspect` shows it, and the
// host's comparison with the plan (guest/containers.hpp); the image it runs the same way.
#include <gtest/gtest.h>

#include "guest/containers.hpp"

using namespace oom;

namespace {

// The fields of `podman inspect` that carry the network, in Podman's shape.
constexpr const char* kInspectWithNetwork = R"([{
  "Id": "4287cd542bf4d65a12171cc3c3d30304dfd3aa9be9fabd526903427fd6c446ee",
  "State": {"Status": "running", "Pid": 812, "ConmonPid": 806},
  "HostConfig": {"Memory": 100663296, "MemorySwap": 100663296, "OomScoreAdj": 0, "NetworkMode": "bridge",
                 "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                                  "9000/tcp": [{"HostIp": "", "HostPort": "9001"}]}}
}])";

PlannedContainer askedNetwork(std::string network, std::vector<std::string> publish) {
  PlannedContainer c;
  c.image = "localhost/oomharness/oomstress:latest";
  c.memory_bytes = 100663296;
  c.network = std::move(network);
  c.publish = std::move(publish);
  return c;
}

std::string joinedLines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

}  // namespace

TEST(ContainerNetworkRecord, NetworkModeAndPortBindingsAsPublishSpellsThem) {
  const auto records = parsePodmanInspect(kInspectWithNetwork);
  ASSERT_TRUE(records) << records.error().str();
  ASSERT_EQ(records->size(), 1u);
  const ContainerRecord& r = records->front();
  EXPECT_EQ(r.network_mode, "bridge");
  EXPECT_EQ(r.published, (std::vector<std::string>{"127.0.0.1:8080:8080", "9001:9000"}));
  EXPECT_NE(containerSetupText(r).find("network bridge publishing 127.0.0.1:8080:8080, 9001:9000"), std::string::npos)
      << containerSetupText(r);
}

TEST(ContainerNetworkRecord, TheHostNamesANetworkOrAPortPodmanDidNotSet) {
  auto r = parsePodmanInspect(kInspectWithNetwork)->front();
  r.memory_max = "100663296";
  EXPECT_EQ(joinedLines(containerMismatches(askedNetwork("bridge", {"127.0.0.1:8080:8080"}), r)), "");
  EXPECT_EQ(joinedLines(containerMismatches(askedNetwork("host", {}), r)),
            "container 4287cd542bf4: Podman shows NetworkMode bridge, asked host (--network)\n");
  EXPECT_EQ(joinedLines(containerMismatches(askedNetwork("bridge", {"8080:8080"}), r)),
            "container 4287cd542bf4: Podman publishes 127.0.0.1:8080:8080, 9001:9000, asked 8080:8080 (--publish)\n");
  // Not recorded: unknown, which is a mismatch for a network asked of Podman ...
  r.network_mode.clear();
  EXPECT_EQ(joinedLines(containerMismatches(askedNetwork("bridge", {}), r)),
            "container 4287cd542bf4: Podman shows NetworkMode (none recorded), asked bridge (--network)\n");
  // ... but not for none: agents before the network was planned did not record it, and ran
  // every container with --network=none.
  EXPECT_EQ(joinedLines(containerMismatches(askedNetwork("none", {}), r)), "");
  // A plan recorded before the network was planned asks nothing of it.
  EXPECT_EQ(joinedLines(containerMismatches(askedNetwork("", {}), r)), "");
}

namespace {

// The fields of `podman inspect` that name the image, as bookworm's Podman showed them
// for containers/own-image (the rest as in kInspectWithNetwork).
constexpr const char* kInspectOwnImage = R"([{
  "Id": "0d8423d6433954b34851363aef7906979974dcdff624b227a6ae5a25ef7b8454",
  "Image": "f5ebfd6e51543c8c69d87d968cda33714610f6a0a5afca15194665082ca4883e",
  "ImageName": "localhost/shop/web:1.4",
  "State": {"Status": "running", "Pid": 267, "ConmonPid": 265},
  "Config": {"User": "web", "Entrypoint": "/oomstress", "WorkingDir": "/srv"},
  "HostConfig": {"Memory": 100663296, "MemorySwap": 100663296, "OomScoreAdj": 0, "NetworkMode": "none"}
}])";

PlannedContainer askedImage(std::string image) {
  PlannedContainer c = askedNetwork("none", {});
  c.image = std::move(image);
  return c;
}

}  // namespace

TEST(ContainerImageRecord, TheImageItsIdAndItsUser) {
  auto r = parsePodmanInspect(kInspectOwnImage)->front();
  EXPECT_EQ(r.image, "localhost/shop/web:1.4");
  EXPECT_EQ(r.image_id, "f5ebfd6e51543c8c69d87d968cda33714610f6a0a5afca15194665082ca4883e");
  EXPECT_EQ(r.user, "web");
  EXPECT_NE(containerSetupText(r).find("image localhost/shop/web:1.4 as user web"), std::string::npos)
      << containerSetupText(r);
  r.memory_max = "100663296";
  EXPECT_EQ(joinedLines(containerMismatches(askedImage("localhost/shop/web:1.4"), r)), "");
  EXPECT_EQ(joinedLines(containerMismatches(askedImage("localhost/shop/web:1.5"), r)),
            "container 0d8423d64339: Podman shows image localhost/shop/web:1.4, asked localhost/shop/web:1.5\n");
  // A short name Podman spelled in full is the same image (bookworm's Podman loads an
  // archive's "web:1.4" as localhost/web:1.4), and another registry's is not.
  r.image = "localhost/web:1.4";
  EXPECT_EQ(joinedLines(containerMismatches(askedImage("web:1.4"), r)), "");
  r.image = "docker.io/library/web:1.4";
  EXPECT_NE(joinedLines(containerMismatches(askedImage("web:1.4"), r)), "");
  r.image = "localhost/shop/web:1.4";
  // Not recorded: unknown, a mismatch for the user's image; agents before the image was
  // recorded ran only the built-in one.
  r.image.clear();
  EXPECT_EQ(joinedLines(containerMismatches(askedImage("localhost/shop/web:1.4"), r)),
            "container 0d8423d64339: Podman shows image (none recorded), asked localhost/shop/web:1.4\n");
  EXPECT_EQ(joinedLines(containerMismatches(askedImage("localhost/oomharness/oomstress:latest"), r)), "");
}

TEST(ContainerImageRecord, TheLoadCommandQuotesItsArchiveAndImage) {
  EXPECT_EQ(loadImageCommand("/opt/oomharness/payload/my image.tar", "localhost/shop/web:1.4"),
            "set -e; /usr/bin/podman load --input '/opt/oomharness/payload/my image.tar' >/dev/null; /usr/bin/podman "
            "image inspect --format '{{.Id}}' localhost/shop/web:1.4");
}
