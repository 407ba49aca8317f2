// A container a probe can reach (docs/containers.md#reached-by-a-probe): container.network,
// publish and load.health_port, read, refused with the field to change, planned as podman
// run's flags and oomstress's, and linted against the probe's port.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "error_text.hpp"
#include "oom/guest_paths.hpp"
#include "plan/planner.hpp"
#include "scenario/parse.hpp"

using namespace oom;
using oomtest::errorsOf;

namespace {

// A web worker in a container published on 127.0.0.1:8080, probed there.
nlohmann::json networkDocument(const std::function<void(nlohmann::json&)>& edit = {}) {
  auto doc = nlohmann::json::parse(R"({
    "name": "n", "description": "d",
    "guest": {"release": "bookworm", "memory": "1G", "packages": ["nftables", "podman"]},
    "services": [
      {"name": "web", "why": "y", "container": {"memory": "96M", "publish": ["127.0.0.1:8080:8080"]},
       "unit": {"Restart": "on-failure"}, "load": {"baseline": "32M", "leak": "8M/s", "health_port": 8080}},
      {"name": "api", "why": "y", "load": {"baseline": "100M"}}],
    "probes": [{"name": "health", "service": "web", "http": "http://127.0.0.1:8080/health"}],
    "expect": {"units": {"web": {"decided_by": "container"}}}
  })");
  if (edit) edit(doc);
  return doc;
}

ScenarioCheck parseNetworked(const nlohmann::json& doc) { return parseScenario(doc.dump(), "n.json"); }
nlohmann::json& webContainer(nlohmann::json& doc) { return doc["services"][0]["container"]; }
nlohmann::json& webLoad(nlohmann::json& doc) { return doc["services"][0]["load"]; }

std::vector<std::string> warningRules(const ScenarioCheck& c) {
  std::vector<std::string> out;
  for (const auto& w : c.warnings) out.push_back(w.rule + " " + w.json_path);
  return out;
}

}  // namespace

TEST(ContainerNetwork, APublishedPortIsTheBridgeAndThePlansFlags) {
  const auto c = parseNetworked(networkDocument());
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const ContainerSpec& spec = *c.scenario->services[0].container;
  EXPECT_EQ(spec.network, kContainerNetworkBridge) << "publish implies Podman's bridge";
  ASSERT_EQ(spec.publish.size(), 1u);
  EXPECT_EQ(spec.publish[0].text(), "127.0.0.1:8080:8080");
  EXPECT_EQ(c.scenario->services[0].load->health_port, 8080);
  EXPECT_TRUE(warningRules(c).empty()) << "the probe reaches the health port: no probe-on-stand-in";

  const auto plan = makeGuestPlan(*c.scenario);
  ASSERT_TRUE(plan.has_value());
  const PlannedUnit& u = plan->units[0];
  const auto& argv = u.exec_start;
  const auto has = [&](const std::string& word) { return std::find(argv.begin(), argv.end(), word) != argv.end(); };
  EXPECT_TRUE(has("--network=bridge"));
  EXPECT_TRUE(has("--publish=127.0.0.1:8080:8080"));
  const auto health = std::find(argv.begin(), argv.end(), "--health-port");
  ASSERT_NE(health, argv.end());
  EXPECT_EQ(*(health + 1), "8080");
  EXPECT_GT(health - argv.begin(), std::find(argv.begin(), argv.end(), guest::kContainerImage) - argv.begin())
      << "--health-port is oomstress's flag, after the image";
  EXPECT_EQ(u.container.network, kContainerNetworkBridge);
  EXPECT_EQ(u.container.publish, std::vector<std::string>{"127.0.0.1:8080:8080"});
  // The plan's JSON carries them for the host's comparison with Podman's record.
  EXPECT_EQ(nlohmann::json(u)["container"]["publish"], nlohmann::json::array({"127.0.0.1:8080:8080"}));
}

TEST(ContainerNetwork, NoneByDefaultHostByChoiceAndAPlainUnitsHealthPort) {
  auto none = parseNetworked(networkDocument([](nlohmann::json& d) {
    webContainer(d).erase("publish");
    d.erase("probes");
  }));
  ASSERT_TRUE(none.ok()) << errorsOf(none);
  EXPECT_EQ(none.scenario->services[0].container->network, kContainerNetworkNone);
  EXPECT_NE(makeGuestPlan(*none.scenario)->units[0].systemd_run.find("--network=none"), std::string::npos);

  auto host = parseNetworked(networkDocument([](nlohmann::json& d) {
    webContainer(d).erase("publish");
    webContainer(d)["network"] = "host";
  }));
  ASSERT_TRUE(host.ok()) << errorsOf(host);
  EXPECT_TRUE(warningRules(host).empty()) << "oomstress answers on the guest's 8080";
  EXPECT_NE(makeGuestPlan(*host.scenario)->units[0].systemd_run.find("--network=host"), std::string::npos);

  // A unit of its own (no container) answers on the guest's network too.
  auto plain = parseNetworked(networkDocument([](nlohmann::json& d) {
    d["services"][0].erase("container");
    d["expect"]["units"]["web"] = {{"restarts", {{"min", 1}}}};
    d["guest"].erase("packages");
  }));
  ASSERT_TRUE(plain.ok()) << errorsOf(plain);
  EXPECT_TRUE(warningRules(plain).empty());
  EXPECT_NE(makeGuestPlan(*plain.scenario)->units[0].systemd_run.find("--health-port 8080"), std::string::npos);
}

TEST(ContainerNetwork, AProbeAtAPortOomstressDoesNotAnswerOnIsWarned) {
  // Published on 8080, but oomstress listens on 9090 inside the container.
  const auto elsewhere = parseNetworked(networkDocument([](nlohmann::json& d) { webLoad(d)["health_port"] = 9090; }));
  ASSERT_TRUE(elsewhere.ok()) << errorsOf(elsewhere);
  ASSERT_EQ(warningRules(elsewhere), std::vector<std::string>{"probe-on-stand-in $.probes[0].service"});
  EXPECT_NE(elsewhere.warnings[0].message.find("answers on port 9090 inside its container, which no published port "
                                               "leads to"),
            std::string::npos)
      << elsewhere.warnings[0].message;
  const auto no_port = parseNetworked(networkDocument([](nlohmann::json& d) { webLoad(d).erase("health_port"); }));
  ASSERT_EQ(warningRules(no_port), std::vector<std::string>{"probe-on-stand-in $.probes[0].service"});
  EXPECT_NE(no_port.warnings[0].message.find("opens no port (no load.health_port)"), std::string::npos)
      << no_port.warnings[0].message;
}

TEST(ContainerNetwork, WhatCannotWorkIsRefusedWithTheFieldToChange) {
  const std::pair<std::function<void(nlohmann::json&)>, std::string> cases[] = {
      {[](nlohmann::json& d) { webContainer(d).erase("publish"); },
       "$.probes[0].http: probes \"web\", whose container has no network (container.network \"none\", the "
       "default): nothing in the guest can reach port 8080; expected \"network\": \"host\" in its container, or "
       "\"publish\": [\"8080:8080\"]"},
      {[](nlohmann::json& d) { d["probes"][0]["http"] = "http://127.0.0.1:8081/health"; },
       "$.probes[0].http: probes \"web\" at 127.0.0.1:8081, which its container does not publish (publish: "
       "127.0.0.1:8080:8080)"},
      {[](nlohmann::json& d) { webContainer(d)["network"] = "host"; },
       "$.services[0].container.publish: publishes ports, which Podman does on its bridge network only"},
      {[](nlohmann::json& d) { webContainer(d)["network"] = "slirp4netns"; },
       "$.services[0].container.network: expected one of none (no interface but its own loopback), host"},
      {[](nlohmann::json& d) { webContainer(d)["publish"] = {"8080"}; },
       "$.services[0].container.publish[0]: expected HOSTPORT:CONTAINERPORT or IPV4:HOSTPORT:CONTAINERPORT"},
      {[](nlohmann::json& d) { webContainer(d)["publish"] = {"localhost:8080:8080"}; },
       "$.services[0].container.publish[0]: expected HOSTPORT:CONTAINERPORT"},
      {[](nlohmann::json& d) { webContainer(d)["publish"] = {"8080:0"}; },
       "$.services[0].container.publish[0]: expected HOSTPORT:CONTAINERPORT"},
      {[](nlohmann::json& d) { webContainer(d)["publish"] = nlohmann::json::array(); },
       "$.services[0].container.publish: expected an array of 1 to 16 ports"},
      {[](nlohmann::json& d) { webContainer(d)["publish"] = {"8080:8080", "8080:9090"}; },
       "$.services[0].container.publish[1]: port 8080 of the guest is already taken by "
       "$.services[0].container.publish[0]"},
      {[](nlohmann::json& d) { webLoad(d)["health_port"] = 0; },
       "$.services[0].load.health_port: expected"},
      {[](nlohmann::json& d) { webLoad(d)["health_port"] = 70000; },
       "$.services[0].load.health_port: expected"},
      {[](nlohmann::json& d) {
         d["guest"]["release"] = "trixie";
         d["guest"]["packages"] = {"podman"};
       },
       "$.services[0].container.publish: Podman's bridge on trixie (netavark) runs nft, which the guest image has "
       "only with nftables: expected \"nftables\" in $.guest.packages"},
      // Two takers of one guest port: the api's health port is the port web publishes.
      {[](nlohmann::json& d) { d["services"][1]["load"]["health_port"] = 8080; },
       "$.services[1].load.health_port: port 8080 of the guest is already taken by "
       "$.services[0].container.publish[0]"},
  };
  for (const auto& [edit, error] : cases) {
    const auto c = parseNetworked(networkDocument(edit));
    EXPECT_FALSE(c.ok()) << error;
    EXPECT_NE(errorsOf(c).find(error), std::string::npos) << "expected: " << error << "\ngot:\n" << errorsOf(c);
  }
  // 0.0.0.0 is every address, written as Podman records it (HostIp "0.0.0.0" -> "8080:8080").
  const auto every = parseNetworked(
      networkDocument([](nlohmann::json& d) { webContainer(d)["publish"] = {"0.0.0.0:8080:8080"}; }));
  ASSERT_TRUE(every.ok()) << errorsOf(every);
  EXPECT_EQ(every.scenario->services[0].container->publish.at(0).text(), "8080:8080");
  // Inside their own containers two health ports may be the same number.
  const auto twin = parseNetworked(networkDocument([](nlohmann::json& d) {
    d["services"][1]["container"] = {{"memory", "200M"}};
    d["services"][1]["load"]["health_port"] = 8080;
  }));
  EXPECT_TRUE(twin.ok()) << errorsOf(twin);
}
