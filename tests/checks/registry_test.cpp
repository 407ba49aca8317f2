// The check registry is the one list: every expectation key has its check, every
// result a recorded run produces comes from a registered check, and docs/checks.md
// is what the registry says.
#include <fstream>
#include <set>
#include <sstream>

#include "checks/registry.hpp"
#include "fixtures.hpp"
#include "scenario/expectations.hpp"

using namespace oom;
using namespace oomtest;

TEST(Registry, EveryExpectationKeyHasItsCheckInTheKeysOrder) {
  std::vector<std::string> keys, checks;
  for (const auto& k : kExpectationKeys) {
    keys.emplace_back(k.key);
    const CheckDef* d = nullptr;
    for (const CheckDef* c : checkRegistry())
      if (c->name == k.key) d = c;
    ASSERT_NE(d, nullptr) << k.key;
    EXPECT_EQ(d->kind, CheckKind::expectation) << k.key;
    // A per-unit key's results are "<service>.<key>"; a scenario-wide one's are not.
    EXPECT_EQ(d->naming == CheckNaming::service_prefix, k.scope == ExpectationScope::unit) << k.key;
    EXPECT_EQ(d->naming == CheckNaming::probe_prefix, k.scope == ExpectationScope::probe) << k.key;
  }
  for (const CheckDef* c : checkRegistry())
    if (c->kind == CheckKind::expectation) checks.emplace_back(c->name);
  EXPECT_EQ(checks, keys);
}

TEST(Registry, NamesAreUniqueAndEveryCheckIsDocumented) {
  std::set<std::string_view> names;
  for (const CheckDef* d : checkRegistry()) {
    EXPECT_TRUE(names.insert(d->name).second) << d->name;
    EXPECT_FALSE(d->passes_when.empty()) << d->name;
    EXPECT_FALSE(d->evidence.empty()) << d->name;
    EXPECT_NE(d->judge, nullptr) << d->name;
  }
}

TEST(Registry, EveryResultOfEveryRecordingComesFromARegisteredCheck) {
  for (const auto& rec : recordings()) {
    SCOPED_TRACE(rec.file);
    const Verdict v = evaluate(scenarioOf(rec), timeline(rec.file));
    std::set<std::string_view> run_checks;
    for (const auto& c : v.checks) {
      const CheckDef* d = checkDefOf(c);
      ASSERT_NE(d, nullptr) << c.name;
      if (d->naming == CheckNaming::service_prefix) {
        EXPECT_EQ(c.name, c.unit + "." + std::string(d->name));
      }
      if (d->kind == CheckKind::run) run_checks.insert(d->name);
    }
    // Every run check is judged on every run.
    for (const CheckDef* d : checkRegistry())
      if (d->kind == CheckKind::run) {
        EXPECT_TRUE(run_checks.count(d->name)) << d->name;
      }
  }
}

TEST(Registry, ServiceNamedLikeACheckStillMapsToItsOwnCheck) {
  CheckResult r{.name = "first_killed.restarts", .unit = "first_killed"};
  ASSERT_NE(checkDefOf(r), nullptr);
  EXPECT_EQ(checkDefOf(r)->name, "restarts");
  EXPECT_EQ(checkDefOf(CheckResult{.name = "never_killed", .unit = "api"})->name, "never_killed");
  EXPECT_EQ(displayName(CheckResult{.name = "never_killed", .unit = "api"}), "never_killed api");
  EXPECT_EQ(displayName(CheckResult{.name = "first_killed", .unit = "api"}), "first_killed");
  EXPECT_EQ(checkDefOf(CheckResult{.name = "api.no_such_check", .unit = "api"}), nullptr);
}

TEST(Registry, DocsChecksMdIsWhatTheRegistrySays) {
  std::ifstream in(source() / "docs/checks.md");
  ASSERT_TRUE(in) << "docs/checks.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), checksMarkdown())
      << "docs/checks.md is out of date: build, then run build/bin/oomharness checks --markdown > docs/checks.md";
}
