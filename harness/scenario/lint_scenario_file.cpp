// `oomharness lint` on a scenario file: the scenario validator's errors and the
// existing scenario lint (lint.hpp), each under a lint rule id, with the line of
// the JSON path it names.
#include <algorithm>
#include <string>

#include "oom/files.hpp"
#include "oom/text.hpp"
#include "scenario/limits.hpp"
#include "scenario/parse.hpp"
#include "scenario/quadlet.hpp"
#include "scenario/unit_lint.hpp"

namespace oom {
namespace {

struct JsonCursor {
  std::string_view text;
  std::size_t pos = 0;

  void blanks() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  bool at(char c) {
    blanks();
    return pos < text.size() && text[pos] == c;
  }
  // A string token starting at pos (a '"'), returned raw (escapes kept; keys here have none).
  std::string_view string() {
    const std::size_t start = ++pos;
    while (pos < text.size() && text[pos] != '"') pos += text[pos] == '\\' ? 2 : 1;
    const auto s = text.substr(start, std::min(pos, text.size()) - start);
    ++pos;
    return s;
  }
  // Skips one value, nested or not, without recursion.
  void skipValue() {
    blanks();
    int depth = 0;
    while (pos < text.size()) {
      const char c = text[pos];
      if (c == '"') {
        string();
      } else if (c == '{' || c == '[') {
        ++depth;
        ++pos;
      } else if (c == '}' || c == ']') {
        if (depth == 0) return;
        --depth;
        ++pos;
      } else if (c == ',' && depth == 0) {
        return;
      } else {
        ++pos;
      }
      if (depth == 0) {
        blanks();
        if (pos >= text.size() || text[pos] == ',' || text[pos] == '}' || text[pos] == ']') return;
      }
    }
  }
};

// "$.services[1].unit.OOMPolicy" -> {"services", "[1]", "unit", "OOMPolicy"}.
std::vector<std::string> pathSteps(std::string_view path) {
  std::vector<std::string> steps;
  if (path.substr(0, 1) == "$") path.remove_prefix(1);
  while (!path.empty()) {
    if (path.front() == '.') {
      path.remove_prefix(1);
      const auto end = path.find_first_of(".[");
      steps.emplace_back(path.substr(0, end));
      path.remove_prefix(end == std::string_view::npos ? path.size() : end);
    } else if (path.front() == '[') {
      const auto end = path.find(']');
      if (end == std::string_view::npos) break;
      steps.emplace_back(path.substr(0, end + 1));
      path.remove_prefix(end + 1);
    } else {
      break;
    }
  }
  return steps;
}

}  // namespace

unsigned lineOfJsonPath(std::string_view text, std::string_view json_path) {
  JsonCursor c{text};
  for (const auto& step : pathSteps(json_path)) {
    if (step.empty()) break;  // "$.a..b": an empty key, not followed
    if (step.front() == '[') {
      if (!c.at('[')) break;
      ++c.pos;
      const auto index =
          parseNumber<std::size_t>(std::string_view(step).substr(1, step.size() - 2));
      if (!index) break;
      for (std::size_t i = 0; i < *index && c.pos < text.size(); ++i) {
        c.skipValue();
        if (!c.at(',')) return 1;
        ++c.pos;
      }
      c.blanks();
      continue;
    }
    if (!c.at('{')) break;
    ++c.pos;
    bool found = false;
    while (c.at('"')) {
      const auto key = c.string();
      if (!c.at(':')) return 1;
      ++c.pos;
      c.blanks();
      if (key == step) {
        found = true;
        break;
      }
      c.skipValue();
      if (!c.at(',')) break;
      ++c.pos;
    }
    if (!found) break;
  }
  const auto upto = text.substr(0, std::min(c.pos, text.size()));
  return static_cast<unsigned>(std::count(upto.begin(), upto.end(), '\n')) + 1;
}

std::vector<LintFinding> lintScenarioAt(const std::filesystem::path& file) {
  std::vector<LintFinding> out;
  const std::string source = file.string();
  const ScenarioCheck check = loadScenarioFile(file);
  const auto text = readRegularFile(file, limits::kMaxFileBytes, "scenario file");
  auto add = [&](const Error& e, std::string rule) {
    // The error's JSON path picks the line (a file that is not JSON says its own).
    const std::string& path = e.json_path;
    const unsigned line = e.line ? e.line : text && !path.empty() ? lineOfJsonPath(*text, path) : 1;
    const auto* r = findLintRule(rule);
    out.push_back(LintFinding{std::move(rule),
                              r->severity,
                              {source, line, ""},
                              (path.empty() ? "" : path + ": ") + e.message,
                              {},
                              std::nullopt});
  };
  for (const auto& e : check.errors) add(e, "scenario-invalid");
  // A packaged unit (no image is read here): said, never passed as linted.
  if (check.ok())
    for (std::size_t i = 0; i < check.scenario->services.size(); ++i)
      if (check.scenario->services[i].files_unread)
        add(Error{source, "the unit file of " + unitName(check.scenario->services[i].name) +
                              " comes from a package in the guest image, which lint does not read: it and its "
                              "drop-ins were not linted (oomharness check reads them)",
                  ErrorKind::input, "$.services[" + std::to_string(i) + "].unit_file"},
            "packaged-unit-not-linted");
  // A service that takes real unit files: those files are linted as files, so each
  // finding names the file and line the value came from (docs/unit-files.md).
  if (check.ok()) {
    std::vector<UnitSources> units;
    const auto& services = check.scenario->services;
    for (std::size_t i = 0; i < services.size(); ++i) {
      const ServiceSpec& svc = services[i];
      if (!svc.files) continue;
      UnitSources u;
      u.name = unitName(svc.name);
      for (const auto& f : svc.files->files) {
        // A Quadlet file is the unit's file: its [Service] becomes the generated unit's.
        if (svc.container && svc.container->fromQuadlet() && f.guest_path == quadletFilePath(svc.name)) {
          u.unit_file = parseUnitFile(f.text, f.source);
          continue;
        }
        if (f.guest_path.rfind(std::string(kGuestUnitDir) + "/" + u.name, 0) != 0) continue;  // a slice
        if (f.source.rfind("oomharness", 0) == 0) continue;  // our own base file
        UnitFileText text = parseUnitFile(f.text, f.source);
        if (f.guest_path == std::string(kGuestUnitDir) + "/" + u.name) u.unit_file = std::move(text);
        else u.drop_ins.push_back(std::move(text));
      }
      units.push_back(std::move(u));
    }
    for (auto& f : lintUnits(units)) out.push_back(std::move(f));
  }
  for (const auto& w : check.warnings) {
    // About a value from a unit file (no place in the scenario file): said already, with
    // that file and line, by the unit-file rules above.
    if (w.json_path.empty()) continue;
    const std::string rule = w.rule.empty() ? "scenario-invalid" : w.rule;
    add(w, rule);
    // A warning lint.cpp gained without a rule id here stays visible, as a warning.
    if (rule == "scenario-invalid") out.back().severity = LintSeverity::warning;
  }
  return out;
}

}  // namespace oom
