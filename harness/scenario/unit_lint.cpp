// The lint rules over merged unit files (docs/lint-rules.md): the runbook's "common
// bad configurations" (docs/oom-policy.md), and what systemd refuses (unit_values.hpp).
#include "scenario/unit_lint.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "oom/text.hpp"
#include "systemd/restart_rules.hpp"
#include "systemd/unit_values.hpp"

namespace oom {
namespace {

std::string valueProblem(const UnitAssignment& a) { return unitValueProblem(a.key, a.value); }

LintLocation locate(const UnitAssignment& a, std::string message = "") {
  return LintLocation{a.file, a.line, std::move(message)};
}

// Bounded: a value may be most of a long line of a file that is not what it claims.
std::string show(const UnitAssignment& a) { return unitTextExcerpt(a.key) + "=" + unitTextExcerpt(a.value); }

struct UnitFacts {
  const UnitSources* unit;
  std::map<std::string, EffectiveSetting> settings;
  // The assignment in effect for `key` in the unit's own section, or nullptr.
  const UnitAssignment* get(const std::string& key) const {
    const auto it = settings.find(unitSection(unit->type()) + "." + key);
    return it == settings.end() ? nullptr : it->second.winner;
  }
  std::optional<int> adjust() const {
    const auto* a = get("OOMScoreAdjust");
    return a ? parseOomScoreAdjust(a->value) : std::nullopt;
  }
};

bool isDropIn(const UnitSources& unit, const std::string& file) {
  return !unit.unit_file || unit.unit_file->path != file;
}

// The slice a unit runs in, as its files set it ("" when they do not).
std::string sliceOf(const UnitFacts& u) {
  const auto* slice = u.get("Slice");
  return slice ? slice->value : "";
}

void lintOneUnit(const UnitFacts& u, const std::set<std::string>& names,
                 const std::vector<UnitFacts>& all, std::vector<LintFinding>& out) {
  const UnitSources& unit = *u.unit;
  auto add = [&](std::string rule, LintLocation at, std::string message,
                 std::vector<LintLocation> related = {}) {
    const LintSeverity severity = findLintRule(rule)->severity;
    out.push_back(LintFinding{std::move(rule), severity, std::move(at), std::move(message),
                              std::move(related), std::nullopt});
  };
  const std::string type = unit.type();
  for (const auto* file : unit.files()) {
    for (const auto& p : file->problems)
      add("unit-syntax", {file->path, p.line, ""},
          p.message + (file->foreign && &p == &file->problems.back() ? "" : ": systemd ignores this line"));
    for (const auto& a : file->assignments) {
      const UnitDirectiveInfo* k = oomUnitDirective(a.key);
      if (!k) continue;
      const bool type_takes_it =
          std::find(k->types.begin(), k->types.end(), type) != k->types.end();
      if (a.section != unitSection(type) || !type_takes_it) {
        add("wrong-section", locate(a),
            a.key + "= in [" + unitTextExcerpt(a.section) + "] of " + unit.name +
                ": systemd ignores it there" +
                (type_takes_it ? "; it belongs in [" + unitSection(type) + "]"
                               : "; a ." + type + " unit does not take it"));
        continue;
      }
      if (const auto problem = valueProblem(a); !problem.empty())
        add("invalid-value", locate(a),
            show(a) + ": " + problem +
                "; systemd logs it and ignores the line, so the earlier value or the default "
                "stays");
    }
  }
  // A later file replacing an OOM setting an earlier file made.
  for (const auto& [key, setting] : u.settings) {
    const auto dot = key.find('.');
    if (!oomUnitDirective(key.substr(dot + 1)) || key.substr(dot + 1) == "Type") continue;
    for (std::size_t i = 1; i < setting.history.size(); ++i) {
      const auto& prev = *setting.history[i - 1];
      const auto& cur = *setting.history[i];
      if (prev.file == cur.file || prev.value == cur.value) continue;
      const bool prev_drop_in = isDropIn(unit, prev.file);
      add(prev_drop_in ? "drop-in-overrides-drop-in" : "drop-in-overrides-unit", locate(cur),
          (cur.value.empty() ? cur.key + "= (reset to the default)" : show(cur)) + " replaces " +
              show(prev) + " from " + prev.file + ":" + std::to_string(prev.line) +
              (prev_drop_in
                   ? ": two drop-ins set the same OOM setting, and only the file name order decides"
                   : ""),
          {locate(prev, "the replaced value: " + show(prev))});
    }
  }
  if (type == "service") {
    const auto adj = u.adjust();
    const auto* adj_at = u.get("OOMScoreAdjust");
    const auto* restart = u.get("Restart");
    const auto* policy = u.get("OOMPolicy");
    if (adj && *adj == -1000)
      add("oom-score-adjust-min", locate(*adj_at),
          "OOMScoreAdjust=-1000: the kernel can never choose " + unit.name +
              "; if it is the one leaking, everything else dies first and the machine cannot "
              "recover (keep -1000 for the host's last line of defence, and say so in a "
              "suppression)");
    if (policy && policy->value == "continue") {
      const auto* tasks = u.get("TasksMax");
      const auto* svc_type = u.get("Type");
      if (!(tasks && tasks->value == "1")) {
        std::string evidence = svc_type && svc_type->value == "forking"
                                   ? " (Type=forking: a daemon that forks usually keeps workers)"
                                   : " (a unit file cannot show how many processes it runs)";
        add("oom-policy-continue", locate(*policy),
            "OOMPolicy=continue on " + unit.name + evidence +
                ": if it runs more than one process, after one is killed the unit stays active "
                "with part of its work gone (half-alive); use OOMPolicy=kill with "
                "Restart=on-failure");
      }
    }
    const bool restart_unset = !restart || restart->value == "no";
    if (adj && *adj > 0 && restart && !restart_unset && valueProblem(*restart).empty() &&
        !restartsAfter(restart->value, "oom-kill"))
      add("restart-ignores-oom-kill", locate(*restart),
          "Restart=" + restart->value + " does not restart " + unit.name +
              " after an OOM kill (Result=oom-kill), yet OOMScoreAdjust=" + std::to_string(*adj) +
              " makes it a likely victim; use Restart=on-failure or on-abnormal",
          {locate(*adj_at, "the positive adjustment")});
    const std::string stem = unit.name.substr(0, unit.name.size() - std::string(".service").size());
    if (adj && *adj > 0 && restart_unset && !names.count(stem + ".timer"))
      add("positive-adjust-no-restart", locate(*adj_at),
          "OOMScoreAdjust=" + std::to_string(*adj) + " makes " + unit.name +
              " easy to kill and nothing brings it back (Restart= " +
              (restart ? "is no" : "unset") + ", no " + stem +
              ".timer in the set): set Restart=on-failure, or say in a suppression how the work is "
              "retried");
  }
  // systemd-oomd weighs leaf cgroups (and those with memory.oom.group=1) and reads the
  // preference of the one it weighs, never of its parents: a slice's is read for nothing.
  if (const auto* pref = u.get("ManagedOOMPreference");
      type == "slice" && pref && (pref->value == "avoid" || pref->value == "omit")) {
    std::vector<LintLocation> related;
    for (const auto& other : all) {
      if (other.unit->type() == "slice" || sliceOf(other) != unit.name) continue;
      const auto* own = other.get("ManagedOOMPreference");
      if (!own || own->value == "none")
        related.push_back(locate(*other.get("Slice"), other.unit->name + " runs in " + unit.name +
                                                          " with no ManagedOOMPreference= of its own"));
    }
    add("oomd-preference-on-slice", locate(*pref),
        "ManagedOOMPreference=" + pref->value + " on " + unit.name +
            ": systemd-oomd chooses among the units in it and reads each one's own preference, "
            "not the slice's, so this protects none of them; set ManagedOOMPreference=" +
            pref->value + " on the units themselves",
        std::move(related));
  }
  if (const auto* high = u.get("MemoryHigh");
      high && high->value != "infinity" && valueProblem(*high).empty()) {
    const auto* max = u.get("MemoryMax");
    if (!max || max->value == "infinity")
      add("memory-high-without-max", locate(*high),
          "MemoryHigh=" + printable(high->value) + " without MemoryMax= on " + unit.name +
              ": without swap a leak held at MemoryHigh stalls instead of being killed (neither "
              "killed nor working); lint cannot see the host's swap; add MemoryMax= above "
              "MemoryHigh=");
  }
}

bool suppresses(const LintSuppression& s, const LintFinding& f) {
  if (s.applies_to != 0 && s.applies_to != f.at.line) return false;
  return std::find(s.rules.begin(), s.rules.end(), f.rule) != s.rules.end();
}

void addSuppressionFindings(const UnitFileText& file, std::vector<LintFinding>& out) {
  for (const auto& s : file.suppressions) {
    auto add = [&](std::string rule, std::string message) {
      out.push_back(LintFinding{rule,
                                findLintRule(rule)->severity,
                                {file.path, s.line, ""},
                                std::move(message),
                                {},
                                std::nullopt});
    };
    if (s.rules.empty())
      add("suppression-unknown-rule",
          "the suppression names no rule: write \"# oomharness-lint: disable=RULE-ID reason\"");
    for (const auto& r : s.rules)
      if (!findLintRule(r) || r == "suppression-without-reason" || r == "suppression-unknown-rule")
        add("suppression-unknown-rule",
            "\"" + printable(r) + "\" is not a rule that can be silenced (see docs/lint-rules.md)");
    if (s.reason.empty() && !s.rules.empty())
      add("suppression-without-reason",
          "the suppression gives no reason: say why this configuration is intended");
  }
}

}  // namespace

std::string_view severityName(LintSeverity s) {
  switch (s) {
    case LintSeverity::note:
      return "note";
    case LintSeverity::warning:
      return "warning";
    case LintSeverity::error:
      return "error";
  }
  return "error";
}

const std::vector<LintRule>& lintRules() {
  using S = LintSeverity;
  static const std::vector<LintRule> rules = {
      {"invalid-value", S::error, "systemd refuses this value",
       "systemd logs the line and ignores it, so the unit runs with the earlier value or the "
       "default instead of the policy you wrote. OOMScoreAdjust= takes -1000..1000; OOMPolicy= "
       "continue, stop or kill; "
       "Restart= no, on-success, on-failure, on-abnormal, on-watchdog, on-abort or always; "
       "Memory*= a 1024-based size (K, M, G, T), a percentage or infinity."},
      {"wrong-section", S::error, "an OOM directive in a section that does not take it",
       "systemd ignores a directive in the wrong section ([Unit], [Install], or a section of "
       "another unit type): the setting never applies."},
      {"unit-syntax", S::error, "a line systemd cannot parse",
       "A line without '=', a broken [Section] header or an assignment before any section is "
       "logged and ignored by systemd."},
      {"oom-score-adjust-min", S::warning, "OOMScoreAdjust=-1000 on a service",
       "The kernel can never choose the service. If it is the one leaking, everything else dies "
       "first and the machine has no way to recover. Keep -1000 for the host's last line of "
       "defence and record that in a suppression; elsewhere a moderate negative value (-300) "
       "protects without that risk."},
      {"oom-policy-continue", S::warning,
       "OOMPolicy=continue on a service that may run several processes",
       "After one process is OOM-killed the unit stays active with part of its work gone "
       "(half-alive), and a health check on the port still passes. OOMPolicy=kill with "
       "Restart=on-failure turns it into a visible failure and a clean restart. A unit file cannot "
       "show how many processes a service runs: silence the rule with a reason for a "
       "single-process service."},
      {"restart-ignores-oom-kill", S::warning,
       "a likely OOM victim whose Restart= does not cover an OOM kill",
       "A positive OOMScoreAdjust= expects the service to be killed, but Restart=on-abort, "
       "on-success or on-watchdog does not restart after Result=oom-kill: the service stays dead."},
      {"positive-adjust-no-restart", S::warning,
       "a positive OOMScoreAdjust= and nothing brings the service back",
       "If you make a service easy to kill, killing it must be acceptable: a restart "
       "(Restart=on-failure), a timer that runs it again, a queue that retries, a checkpoint. "
       "Silence with the reason when the retry is outside the unit."},
      {"memory-high-without-max", S::warning, "MemoryHigh= without MemoryMax=",
       "MemoryHigh= throttles instead of killing. Without swap a leak held there gets stuck: "
       "neither killed nor working. MemoryMax= above it turns the leak into an OOM kill confined "
       "to the unit. lint cannot see whether the host has swap."},
      {"oomd-preference-on-slice", S::warning,
       "ManagedOOMPreference=avoid or omit on a slice",
       "systemd-oomd picks its victim among leaf cgroups and cgroups with memory.oom.group=1 (a "
       "service with OOMPolicy=kill), and reads the user.oomd_avoid/user.oomd_omit mark of that "
       "cgroup only. A slice is neither, so its mark is read for nothing and the services in it "
       "stay ordinary candidates: seen on systemd 252 and 257 (scenarios/examples/"
       "oomd-slice-avoid-only.json). Set the preference on each service instead."},
      {"all-services-protected", S::warning,
       "every service in the set has a negative OOMScoreAdjust=",
       "Protection is relative: when everything is protected the kernel still has to kill, the "
       "order you meant is lost, and the biggest dies. Protect a few services; make disposable "
       "work easy to kill."},
      {"drop-in-overrides-drop-in", S::warning,
       "a drop-in replaces an OOM setting another drop-in made",
       "Two drop-ins set the same OOM setting and only the lexical order of their file names "
       "decides which one applies; a rename changes the policy. Keep each OOM setting in one "
       "drop-in."},
      {"drop-in-overrides-unit", S::note, "a drop-in replaces an OOM setting of the unit file",
       "The usual way to change a packaged unit; reported so that the value that applies, and the "
       "one it replaced, are both in view."},
      {"scenario-invalid", S::error, "the scenario file is not valid",
       "oomharness check would refuse it; run would not start."},
      {"packaged-unit-not-linted", S::note, "a service's unit file is a package's, which lint does not read",
       "The unit file is read from the guest image (docs/unit-files.md#a-unit-file-from-a-package), which "
       "lint does not open: neither it nor the service's drop-ins were linted. oomharness check and plan "
       "read them from the cached image."},
      {"load-above-own-limit", S::warning,
       "a scenario load whose baseline (or baseline and spike) is above the unit's own MemoryHigh=",
       "A Type=notify unit held at its MemoryHigh= below its baseline reaches READY=1 only by reclaiming "
       "(into swap, if any) while it starts; systemd-oomd or the kernel often kills it before it is ready, "
       "and the run tests nothing. Start small and leak instead (load.leak), so the limit is crossed "
       "under pressure."},
      {"result-signal-after-restart", S::note,
       "a kill after a restart may end with Result=signal on systemd 252",
       "systemd 252 (bookworm) may report a restarted unit's later OOM kill as Result=signal; the "
       "Result check accepts it and says so."},
      {"probe-on-stand-in", S::warning, "an http or tcp probe of a service that runs oomstress, at a port it does not answer on",
       "A service with a load runs oomstress, which opens a port only when its load has a health_port (in a "
       "container: reached through the host network or a published port). A network probe at any other port "
       "fails every attempt and measures nothing of the service. Give the load a health_port the probe "
       "reaches, remove the load so it runs its own program, or probe the service that serves."},
      {"suppression-without-reason", S::warning, "a lint suppression without a reason",
       "A silenced rule must say why the configuration is intended, for the next reader during an "
       "incident."},
      {"suppression-unknown-rule", S::warning, "a lint suppression that names no known rule",
       "The comment silences nothing: the rule id is misspelled or missing."},
  };
  return rules;
}

const LintRule* findLintRule(std::string_view id) {
  for (const auto& r : lintRules())
    if (r.id == id) return &r;
  return nullptr;
}

std::vector<LintFinding> lintUnits(const std::vector<UnitSources>& units) {
  std::vector<LintFinding> out;
  std::set<std::string> names;
  for (const auto& u : units) names.insert(u.name);
  std::vector<UnitFacts> facts;
  for (const auto& u : units)
    facts.push_back(UnitFacts{
        &u, effectiveSettings(u, [](const UnitAssignment& a) { return valueProblem(a).empty(); })});
  for (const auto& f : facts) lintOneUnit(f, names, facts, out);
  // Every service protected: only said of a set of more than one service.
  std::vector<const UnitFacts*> services;
  for (const auto& f : facts)
    if (f.unit->type() == "service") services.push_back(&f);
  const bool all_protected =
      services.size() > 1 && std::all_of(services.begin(), services.end(), [](const UnitFacts* f) {
        return f->adjust() && *f->adjust() < 0;
      });
  if (all_protected) {
    std::vector<LintLocation> related;
    for (std::size_t i = 1; i < services.size(); ++i)
      related.push_back(locate(*services[i]->get("OOMScoreAdjust"),
                               services[i]->unit->name + " is protected too"));
    out.push_back(
        LintFinding{"all-services-protected", LintSeverity::warning,
                    locate(*services[0]->get("OOMScoreAdjust")),
                    "all " + std::to_string(services.size()) +
                        " services have a negative OOMScoreAdjust=: protecting everything gives "
                        "the kernel no useful choice, and the biggest dies; pick priorities",
                    std::move(related), std::nullopt});
  }
  // Suppressions, from the file the finding points into.
  std::map<std::string, const UnitFileText*> by_path;
  for (const auto& u : units)
    for (const auto* f : u.files()) by_path[f->path] = f;
  for (auto& f : out) {
    const auto it = by_path.find(f.at.file);
    if (it == by_path.end()) continue;
    for (const auto& s : it->second->suppressions)
      if (suppresses(s, f)) f.suppressed = s.reason.empty() ? "(no reason given)" : s.reason;
  }
  for (const auto& [path, file] : by_path) addSuppressionFindings(*file, out);
  std::stable_sort(out.begin(), out.end(), [](const LintFinding& a, const LintFinding& b) {
    return std::tie(a.at.file, a.at.line) < std::tie(b.at.file, b.at.line);
  });
  return out;
}

}  // namespace oom
