// scenarios/schema/scenario.schema.json documents the format for editors; the
// parser implements it. These tests keep the two in step.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "systemd/directives.hpp"
#include "scenario/limits.hpp"
#include "scenario/parse.hpp"

using namespace oom;

namespace {
nlohmann::json loadSchema() {
  std::ifstream in(std::filesystem::path(OOM_SOURCE_DIR) / "scenarios/schema/scenario.schema.json");
  return nlohmann::json::parse(in);
}
std::set<std::string> keysOf(const nlohmann::json& object) {
  std::set<std::string> keys;
  for (const auto& [k, _] : object.items()) keys.insert(k);
  return keys;
}
}  // namespace

TEST(SchemaSync, ObjectPropertiesAndRequiredListsMatchTheParser) {
  const auto schema = loadSchema();
  for (const auto& keys : scenarioObjectKeys()) {
    SCOPED_TRACE(keys.def);
    ASSERT_TRUE(schema["$defs"].contains(keys.def));
    const auto& def = schema["$defs"][keys.def];
    EXPECT_EQ(def.value("additionalProperties", true), false);
    EXPECT_EQ(keysOf(def["properties"]),
              std::set<std::string>(keys.properties.begin(), keys.properties.end()));
    std::set<std::string> required;
    if (def.contains("required")) required = def["required"].get<std::set<std::string>>();
    EXPECT_EQ(required, std::set<std::string>(keys.required.begin(), keys.required.end()));
  }
}

TEST(SchemaSync, UnitDirectivesMatchTheDirectiveTable) {
  const auto schema = loadSchema();
  std::set<std::string> table;
  for (const auto& d : supportedDirectives()) table.insert(std::string(d.directive));
  EXPECT_EQ(keysOf(schema["$defs"]["unit"]["properties"]), table);
}

TEST(SchemaSync, EnumValuesInTheSchemaAreAcceptedByTheDirectiveTable) {
  const auto schema = loadSchema();
  for (const auto& [directive, rule] : schema["$defs"]["unit"]["properties"].items()) {
    if (!rule.contains("enum")) continue;
    for (const auto& v : rule["enum"]) {
      auto p = toDbusProperty(directive, v.get<std::string>());
      EXPECT_TRUE(p) << directive << "=" << v;
    }
  }
}

TEST(SchemaSync, ReleasesMatch) {
  const auto schema = loadSchema();
  auto releases = schema["$defs"]["guest"]["properties"]["release"]["enum"].get<std::vector<std::string>>();
  EXPECT_EQ(releases, supportedReleases());
}

TEST(SchemaSync, LimitsMatchScenarioLimitsHpp) {
  const auto schema = loadSchema();
  const auto& defs = schema["$defs"];
  EXPECT_EQ(defs["guest"]["properties"]["cpus"]["maximum"], limits::kMaxGuestCpus);
  EXPECT_EQ(defs["load"]["properties"]["processes"]["maximum"], limits::kMaxProcessesPerService);
  EXPECT_EQ(defs["scenario"]["properties"]["services"]["maxItems"], limits::kMaxServices);
  EXPECT_EQ(defs["expect"]["properties"]["kill_order"]["maxItems"], limits::kMaxServices);
  EXPECT_EQ(defs["expect"]["properties"]["never_killed"]["maxItems"], limits::kMaxServices);
  EXPECT_EQ(defs["text"]["maxLength"], limits::kMaxTextBytes);
  EXPECT_EQ(defs["scenario"]["properties"]["probes"]["maxItems"], limits::kMaxProbes);
  EXPECT_EQ(defs["probe"]["properties"]["command"]["maxItems"], limits::kMaxCommandWords);
  EXPECT_EQ(defs["probe"]["properties"]["http"]["maxLength"], limits::kMaxProbeTargetBytes);
  EXPECT_EQ(defs["probe"]["properties"]["name"]["pattern"],
            "^[A-Za-z0-9_.-]{1," + std::to_string(limits::kMaxProbeNameBytes) + "}$");
  EXPECT_EQ(defs["scenario"]["properties"]["description"]["$ref"], "#/$defs/text");
  EXPECT_EQ(defs["service"]["properties"]["why"]["$ref"], "#/$defs/text");
  EXPECT_EQ(defs["duration"]["oneOf"][0]["maximum"], limits::kMaxDurationSec);
  EXPECT_EQ(defs["rate"]["oneOf"][0]["maximum"], limits::kMaxRateBytesPerSec);
  // Sizes are strings in the schema: their bounds are stated in the descriptions.
  const auto says = [](const nlohmann::json& rule, const std::string& text) {
    return rule.value("description", "").find(text) != std::string::npos;
  };
  EXPECT_TRUE(says(defs["guest"]["properties"]["memory"],
                   "From " + std::to_string(limits::kMinGuestMemoryBytes / MiB) + "M to " +
                       std::to_string(limits::kMaxGuestMemoryBytes / GiB) + "G"));
  EXPECT_TRUE(says(defs["guest"]["properties"]["swap"],
                   "At most " + std::to_string(limits::kMaxGuestSwapBytes / GiB) + "G"));
  EXPECT_TRUE(says(defs["rate"], "at most " + std::to_string(limits::kMaxRateBytesPerSec / GiB) + "G/s"));
  EXPECT_TRUE(says(defs["duration"], "at most " + std::to_string(static_cast<int>(limits::kMaxDurationSec / 3600)) + "h"));
  EXPECT_TRUE(says(schema, "at most " + std::to_string(limits::kMaxFileBytes / MiB) + " MiB"));
  EXPECT_TRUE(says(schema, "nested at most " + std::to_string(limits::kMaxDepth) + " levels"));
  const auto& drop_ins = defs["service"]["properties"]["drop_ins"];
  EXPECT_EQ(drop_ins["maxItems"], limits::kMaxDropIns);
  EXPECT_TRUE(says(drop_ins, "at most " + std::to_string(limits::kMaxDropInsPerFolder) + " *.conf each"));
  EXPECT_TRUE(says(drop_ins, "at most " + std::to_string(limits::kMaxUnitFileBytesTotal / MiB) + " MiB together"));
}
