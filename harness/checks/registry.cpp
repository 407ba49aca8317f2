// The one list of checks. An expectation's check is registered by its key's line in
// scenario/expectations.def (in that order); the others are listed here.
#include "checks/registry.hpp"

#include <algorithm>

#include "scenario/expectations.hpp"

namespace oom {

#define OOM_EXPECTATION(key, scope, kind, plan) extern const CheckDef kCheck_##key;
#include "scenario/expectations.def"
#undef OOM_EXPECTATION
extern const CheckDef kCheck_collateral, kCheck_setup, kCheck_timeline_complete, kCheck_pressure,
    kCheck_observation, kCheck_witnesses, kCheck_load_fidelity, kCheck_unexpected_kill, kCheck_kill_before_pressure,
    kCheck_rejudged;

const std::vector<const CheckDef*>& checkRegistry() {
  static const std::vector<const CheckDef*> all = {
#define OOM_EXPECTATION(key, scope, kind, plan) &kCheck_##key,
#include "scenario/expectations.def"
#undef OOM_EXPECTATION
      &kCheck_collateral,
      &kCheck_setup,
      &kCheck_timeline_complete,
      &kCheck_pressure,
      &kCheck_observation,
      &kCheck_witnesses,
      &kCheck_load_fidelity,
      &kCheck_unexpected_kill,
      &kCheck_kill_before_pressure,
      &kCheck_rejudged,
  };
  return all;
}

const CheckDef* checkDefOf(const CheckResult& result) {
  std::string_view name = result.name;
  const std::string prefix = result.unit + ".";
  const bool prefixed = !result.unit.empty() && name.substr(0, prefix.size()) == prefix;
  if (prefixed) name.remove_prefix(prefix.size());
  for (const CheckDef* d : checkRegistry()) {
    if (d->name == name && prefixed == (d->naming == CheckNaming::service_prefix)) return d;
    // "<probe>.<key>": named after a probe, with no unit.
    if (d->naming == CheckNaming::probe_prefix && result.unit.empty() && name.size() > d->name.size() + 1 &&
        name.substr(name.size() - d->name.size()) == d->name && name[name.size() - d->name.size() - 1] == '.')
      return d;
  }
  return nullptr;
}

std::string displayName(const CheckResult& result) {
  const CheckDef* d = checkDefOf(result);
  const bool unit_after = d ? d->naming == CheckNaming::unit_after : result.name.rfind("note.", 0) == 0;
  return unit_after && !result.unit.empty() ? result.name + " " + result.unit : result.name;
}

const char* kindName(CheckKind kind) {
  switch (kind) {
    case CheckKind::expectation: return "expectation";
    case CheckKind::safeguard: return "safeguard";
    case CheckKind::run: return "run";
    case CheckKind::note: return "note";
  }
  return "?";
}

std::string namePattern(const CheckDef& d) {
  const char* prefix = d.naming == CheckNaming::service_prefix ? "<service>."
                       : d.naming == CheckNaming::probe_prefix ? "<probe>."
                                                                : "";
  return prefix + std::string(d.name);
}

std::string checksMarkdown() {
  std::string md =
      "# Checks\n\n"
      "<!-- Generated from harness/checks/registry.cpp by `oomharness checks --markdown`; "
      "tests/checks/registry_test.cpp fails when this file is out of date. -->\n\n"
      "Every check a verdict is built from, in the order a result lists them. A per-unit\n"
      "check's result is named `<service>.<check>`, a per-probe one `<probe>.<check>`.\n"
      "`oomharness checks` prints the same list.\n";
  const auto table = [&](const char* heading, auto wanted) {
    md += std::string("\n## ") + heading + "\n\n| check | kind | passes when | evidence |\n| --- | --- | --- | --- |\n";
    for (const CheckDef* d : checkRegistry()) {
      if (!wanted(*d)) continue;
      const std::string name = namePattern(*d);
      md += "| `" + name + "` | " + kindName(d->kind) + " | " + std::string(d->passes_when) + " | " +
            std::string(d->evidence) + " |\n";
    }
  };
  table("Expectations (from the scenario's `expect`; it must name at least one)",
        [](const CheckDef& d) { return d.kind == CheckKind::expectation || d.kind == CheckKind::safeguard; });
  table("What the run itself must show", [](const CheckDef& d) { return d.kind == CheckKind::run; });
  table("Notes", [](const CheckDef& d) { return d.kind == CheckKind::note; });
  return md;
}

}  // namespace oom
