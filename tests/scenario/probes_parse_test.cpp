// `probes`: each kind read into the model and copied into the plan, and every
// error naming $.probes[i].field and what was expected.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "plan/fingerprint.hpp"
#include "plan/planner.hpp"
#include "scenario/parse.hpp"
#include "scenario/probe_address.hpp"
#include "error_text.hpp"

using namespace oom;

using oomtest::errorsOf;

namespace {

std::string scenarioWith(const std::string& probes) {
  return R"({"name": "p", "description": "d",
  "services": [{"name": "web", "why": "y", "load": {"baseline": "10M"}},
               {"name": "cache", "why": "y", "load": {"baseline": "10M"}}],
  "probes": )" + probes + R"(,
  "expect": {"never_killed": ["web"]}})";
}

// The errors of a scenario whose probes are `probes`.
std::string errorsFor(const std::string& probes) {
  const auto c = parseScenario(scenarioWith(probes), "p.json");
  EXPECT_FALSE(c.ok()) << probes;
  return errorsOf(c);
}

const char* kThreeKinds = R"([
  {"name": "health", "why": "what the load balancer asks", "service": "web",
   "http": "http://127.0.0.1:8080/health", "status": 204, "output": "up", "interval": "500ms", "timeout": "2s"},
  {"name": "port", "service": "web", "tcp": "localhost:8080"},
  {"name": "ping", "service": "cache", "command": ["redis-cli", "ping"], "output": "PONG"},
  {"name": "anything", "command": ["/bin/true"]}
])";

}  // namespace

TEST(ProbeParse, ThreeKindsAreReadIntoTheModelAndThePlan) {
  const auto c = parseScenario(scenarioWith(kThreeKinds), "p.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const auto& p = c.scenario->probes;
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0].name, "health");
  EXPECT_EQ(p[0].why, "what the load balancer asks");
  EXPECT_EQ(p[0].kind, kProbeHttp);
  EXPECT_EQ(p[0].target, "http://127.0.0.1:8080/health");
  EXPECT_EQ(p[0].status, 204);
  EXPECT_EQ(p[0].output, "up");
  EXPECT_DOUBLE_EQ(p[0].interval_sec, 0.5);
  EXPECT_DOUBLE_EQ(p[0].timeout_sec, 2);
  EXPECT_EQ(p[1].kind, kProbeTcp);
  EXPECT_EQ(p[1].target, "localhost:8080");
  EXPECT_EQ(p[1].status, 200);  // the default, unused
  EXPECT_FALSE(p[1].output);
  EXPECT_DOUBLE_EQ(p[1].interval_sec, 1);
  EXPECT_DOUBLE_EQ(p[1].timeout_sec, 1);
  EXPECT_EQ(p[2].kind, kProbeCommand);
  EXPECT_EQ(p[2].command, (std::vector<std::string>{"redis-cli", "ping"}));
  EXPECT_EQ(p[2].service, "cache");
  EXPECT_EQ(p[3].service, "");

  const auto plan = makeGuestPlan(*c.scenario, PlanOptions{});
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->probes.size(), 4u);
  EXPECT_EQ(plan->probes[0].unit, "web.service");
  EXPECT_EQ(plan->probes[3].unit, "");
  EXPECT_EQ(plan->probes[2].command, p[2].command);
  EXPECT_EQ(plan->probes[0].output, "up");
  // Through plan.json and back, as the guest reads it.
  const GuestPlan back = nlohmann::json(*plan).get<GuestPlan>();
  ASSERT_EQ(back.probes.size(), 4u);
  EXPECT_EQ(back.probes[0].target, p[0].target);
  EXPECT_EQ(back.probes[0].status, 204);
  EXPECT_EQ(back.probes[0].output, "up");
  EXPECT_FALSE(back.probes[1].output);
  EXPECT_DOUBLE_EQ(back.probes[0].interval_sec, 0.5);
  // Each probe's settings are facts the timeline is bound to.
  const PlanFacts f = planFacts(*plan);
  EXPECT_EQ(f.at("probes.health.http"), "http://127.0.0.1:8080/health");
  EXPECT_EQ(f.at("probes.health.status"), "204");
  EXPECT_EQ(f.at("probes.health.interval"), "500ms");
  EXPECT_EQ(f.at("probes.health.timeout"), "2s");
  EXPECT_EQ(f.at("probes.port.tcp"), "localhost:8080");
  EXPECT_EQ(f.at("probes.ping.command"), "redis-cli ping");
  EXPECT_EQ(f.at("probes.ping.output"), "PONG");
}

TEST(ProbeParse, APlanWithoutProbesKeepsItsFactsAndReadsFromOlderPlanJson) {
  const auto c = parseScenario(scenarioWith("[]"), "p.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const auto plan = makeGuestPlan(*c.scenario, PlanOptions{});
  for (const auto& [k, v] : planFacts(*plan)) EXPECT_NE(k.rfind("probes.", 0), 0u) << k;
  nlohmann::json old = *plan;
  old.erase("probes");
  EXPECT_TRUE(old.get<GuestPlan>().probes.empty());
}

TEST(ProbeParse, EachErrorNamesItsFieldAndWhatWasExpected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"name": "x"})", "$.probes[0]: expected exactly one of http, tcp, command; got none"},
      {R"({"name": "x", "tcp": "127.0.0.1:1", "command": ["true"]})",
       "$.probes[0]: expected exactly one of http, tcp, command; got tcp, command"},
      {R"({"tcp": "127.0.0.1:1"})", "$.probes[0].name: missing"},
      {R"({"name": "a b", "tcp": "127.0.0.1:1"})", "$.probes[0].name: expected a name of letters, digits and _.-"},
      {R"({"name": ")" + std::string(65, 'n') + R"(", "tcp": "127.0.0.1:1"})", "at most 64 bytes"},
      {R"({"name": "x", "tcp": "127.0.0.1:1"}, {"name": "x", "tcp": "127.0.0.1:2"})",
       "$.probes[1].name: duplicate probe name \"x\""},
      {R"({"name": "x", "service": "db", "tcp": "127.0.0.1:1"})",
       "$.probes[0].service: no service named \"db\"; services are web, cache"},
      {R"({"name": "x", "http": "https://127.0.0.1/"})", "$.probes[0].http: expected a URL http://HOST[:PORT][/PATH]"},
      {R"({"name": "x", "http": "http://example.com/"})", "$.probes[0].http: expected a host that is an IPv4 address"},
      {R"({"name": "x", "http": "http://127.0.0.1:0/"})", "$.probes[0].http: expected a port from 1 to 65535"},
      {R"({"name": "x", "http": "http://127.0.0.1/a b"})", "$.probes[0].http: expected a path without spaces"},
      {R"({"name": "x", "tcp": "127.0.0.1"})", "$.probes[0].tcp: expected HOST:PORT"},
      {R"({"name": "x", "tcp": "127.0.0.1:70000"})", "$.probes[0].tcp: expected a port from 1 to 65535"},
      {R"({"name": "x", "command": []})", "$.probes[0].command: expected an array of 1 to 64 words"},
      {R"({"name": "x", "command": "true"})", "$.probes[0].command: expected an array of 1 to 64 words"},
      {R"({"name": "x", "command": ["bin/true"]})",
       "$.probes[0].command[0]: expected an absolute path or a program name looked up in PATH"},
      {R"({"name": "x", "command": ["true", 1]})", "$.probes[0].command[1]: expected a string"},
      {R"({"name": "x", "tcp": "127.0.0.1:1", "status": 200})", "$.probes[0].status: only an http probe has a status"},
      {R"({"name": "x", "http": "http://127.0.0.1/", "status": 600})",
       "$.probes[0].status: expected an integer from 100 to 599"},
      {R"({"name": "x", "tcp": "127.0.0.1:1", "output": "a"})", "$.probes[0].output: a tcp probe reads no output"},
      {R"({"name": "x", "tcp": "127.0.0.1:1", "interval": "100ms"})",
       "$.probes[0].interval: expected a duration of at least 200ms and at most 60s"},
      {R"({"name": "x", "tcp": "127.0.0.1:1", "interval": "2min"})", "$.probes[0].interval: expected a duration"},
      {R"({"name": "x", "tcp": "127.0.0.1:1", "timeout": 0})",
       "$.probes[0].timeout: expected a duration more than 0"},
      {R"({"name": "x", "tcp": "127.0.0.1:1", "timeout": "31s"})", "$.probes[0].timeout: expected a duration"},
      {R"({"name": "x", "tcp": "127.0.0.1:1", "url": "x"})", "$.probes[0].url: unknown key"},
      {R"("health")", "$.probes[0]: expected an object"},
  };
  for (const auto& [probes, expected] : cases) {
    const std::string errors = errorsFor("[" + probes + "]");
    EXPECT_NE(errors.find(expected), std::string::npos) << probes << "\nexpected: " << expected << "\ngot: " << errors;
  }
  std::string seventeen;
  for (int i = 0; i < 17; ++i)
    seventeen += std::string(i ? ", " : "") + R"({"name": "p)" + std::to_string(i) + R"(", "tcp": "127.0.0.1:1"})";
  EXPECT_NE(errorsFor("[" + seventeen + "]").find("$.probes: expected an array of at most 16 probes; got 17"),
            std::string::npos);
  EXPECT_NE(errorsFor("{}").find("$.probes: expected an array"), std::string::npos);
}

TEST(ProbeAddress, SplitsUrlsAndHostPorts) {
  const auto url = parseProbeUrl("http://localhost");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->ipv4(), "127.0.0.1");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->path, "/");
  const auto full = parseProbeUrl("http://10.0.0.2:8080/a/b?c=d");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->port, 8080);
  EXPECT_EQ(full->path, "/a/b?c=d");
  EXPECT_FALSE(parseProbeUrl("http://127.0.0.1:/"));
  EXPECT_FALSE(parseProbeUrl("http://256.0.0.1/"));
  EXPECT_FALSE(parseProbeHostPort(":80"));
  EXPECT_EQ(parseProbeHostPort("127.0.0.1:9")->port, 9);
}

namespace {

std::vector<std::string> rulesAt(const ScenarioCheck& c) {
  std::vector<std::string> out;
  for (const auto& w : c.warnings) out.push_back(w.rule + " " + w.json_path);
  return out;
}

TEST(ProbeLint, ANetworkProbeOfAStandInIsWarnedACommandProbeIsNot) {
  // web and cache both run oomstress (a load): it opens no port.
  const auto c = parseScenario(scenarioWith(kThreeKinds), "p.json");
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  EXPECT_EQ(rulesAt(c), (std::vector<std::string>{"probe-on-stand-in $.probes[0].service",
                                                   "probe-on-stand-in $.probes[1].service"}));
}

TEST(ProbeLint, ContinueOnAServiceRunningItsOwnProgramSaysWhetherAProbeWatchesIt) {
  // The shipped prefork server (its own program, OOMPolicy=continue), with its probes and without.
  const std::string path = std::string(OOM_SOURCE_DIR) + "/scenarios/prefork/continue.json";
  std::ifstream in(path);
  auto doc = nlohmann::json::parse(in);
  ScenarioSources sources;
  sources.base_dir = std::filesystem::path(path).parent_path();
  const auto watched = parseScenario(doc.dump(), path, sources);
  doc.erase("probes");
  doc["expect"].erase("probes");
  const auto unwatched = parseScenario(doc.dump(), path, sources);
  ASSERT_TRUE(watched.ok()) << errorsOf(watched);
  ASSERT_TRUE(unwatched.ok()) << errorsOf(unwatched);
  EXPECT_EQ(rulesAt(watched), (std::vector<std::string>{"oom-policy-continue $.services[0].unit.OOMPolicy"}));
  EXPECT_NE(watched.warnings.at(0).message.find("the probes on it show which"), std::string::npos);
  EXPECT_EQ(rulesAt(unwatched), rulesAt(watched));
  EXPECT_NE(unwatched.warnings.at(0).message.find("add a health probe and a port probe"), std::string::npos);
}

}  // namespace
