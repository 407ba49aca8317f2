#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <new>

#include "report/report.hpp"
#include "oom/files.hpp"
#include "report/html_report.hpp"
#include "scenario/json_reader.hpp"
#include "scenario/parse.hpp"

namespace oom {

namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

// `text`, a value dumped with indentation 2 at level 0, moved to `level`: nlohmann
// escapes newlines within strings, so every newline in it starts a line.
void appendIndented(std::string& out, const std::string& text, std::size_t level) {
  const std::string pad(2 * level, ' ');
  for (char c : text) {
    out += c;
    if (c == '\n') out += pad;
  }
}

// `value` as dump(2) writes it at `level`. Guest text may hold invalid UTF-8:
// replaced, never thrown.
template <typename T>
void appendValue(std::string& out, const T& value, std::size_t level) {
  appendIndented(out, nlohmann::json(value).dump(2, ' ', false, kReplace), level);
}

// A list as dump(2) writes it at `level`, one element's tree at a time.
template <typename T>
void appendList(std::string& out, const std::vector<T>& list, std::size_t level) {
  if (list.empty()) {
    out += "[]";
    return;
  }
  out += "[\n";
  for (std::size_t i = 0; i < list.size(); ++i) {
    out += std::string(2 * (level + 1), ' ');
    appendValue(out, list[i], level + 1);
    out += i + 1 < list.size() ? ",\n" : "\n";
  }
  out += std::string(2 * level, ' ') + "]";
}

// The timeline as `nlohmann::json(timeline).dump(2)` writes it at `level` (keys
// sorted, as a plain json object sorts them), without its whole tree at once: that
// tree took four times the file.
std::string timelineText(const Timeline& t, std::size_t level) {
  std::string out = "{\n";
  const std::string pad(2 * (level + 1), ' ');
  const auto key = [&](const char* name) { out += pad + "\"" + name + "\": "; };
  const auto next = [&] { out += ",\n"; };
  key("complete"), appendValue(out, t.complete, level + 1), next();
  key("containers"), appendList(out, t.containers, level + 1), next();
  key("gaps"), appendList(out, t.gaps, level + 1), next();
  key("guest"), appendValue(out, t.guest, level + 1), next();
  key("guest_samples"), appendList(out, t.guest_samples, level + 1), next();
  key("guest_status"), appendValue(out, t.guest_status, level + 1), next();
  key("journal"), appendList(out, t.journal, level + 1), next();
  key("kills"), appendList(out, t.kills, level + 1), next();
  key("losses"), appendList(out, t.losses, level + 1), next();
  key("oomd"), appendList(out, t.oomd, level + 1), next();
  key("phases"), appendList(out, t.phases, level + 1), next();
  key("plan"), appendValue(out, t.plan, level + 1), next();
  key("probes"), appendList(out, t.probes, level + 1), next();
  key("raw_kernel_oom_lines"), appendList(out, t.raw_kernel_oom_lines, level + 1), next();
  key("samples"), appendList(out, t.samples, level + 1), next();
  key("setup"), appendList(out, t.setup, level + 1), next();
  key("states"), appendList(out, t.states, level + 1), next();
  key("version"), appendValue(out, t.version, level + 1);
  out += "\n" + std::string(2 * level, ' ') + "}";
  return out;
}

}  // namespace

std::string resultJsonText(const RunReport& r) {
  nlohmann::ordered_json head = toResultJson(r, /*with_timeline=*/false);
  head["timeline"] = nullptr;
  std::string out = head.dump(2, ' ', false, kReplace);
  // The placeholder is the last member: `"timeline": null\n}`.
  out.resize(out.size() - std::string_view("null\n}").size());
  out += timelineText(r.timeline, 1) + "\n}\n";
  return out;
}

nlohmann::ordered_json toResultJson(const RunReport& r, bool with_timeline) {
  nlohmann::ordered_json j;
  j["format"] = kResultFormat;
  j["tool_version"] = r.tool_version;
  j["scenario_file"] = r.scenario.source;
  j["scenario"] = r.scenario.document;
  j["verdict"] = nlohmann::json(r.verdict.verdict);
  j["reason"] = r.verdict.reason;
  j["exit_status"] = r.exit_status;
  j["timing"] = {{"started_at", r.started_at}, {"wall_sec", r.wall_sec},
                 {"boot_sec", r.vm.boot_sec}, {"run_sec", r.vm.run_sec},
                 {"pressure_t", r.verdict.pressure_t}};
  j["vm"] = nlohmann::json(r.vm);
  j["guest"] = nlohmann::json(r.timeline.guest);
  std::map<std::string, std::map<std::string, std::string>> applied;
  for (const auto& s : r.timeline.setup) applied[s.unit] = s.applied;
  j["settings_applied"] = applied;
  j["plan"] = nlohmann::json(r.plan);
  j["checks"] = nlohmann::json(r.verdict.checks);
  if (with_timeline) j["timeline"] = nlohmann::json(r.timeline);
  return j;
}

// A scenario re-read from a result file: its unit files are the ones the run's plan
// installed (the files on disk may have changed since, or be elsewhere).
ScenarioCheck scenarioOfResult(const std::string& document, const std::string& source, const GuestPlan& plan) {
  ScenarioSources sources;
  sources.read_unit_files = false;
  auto check = parseScenario(document, source, sources);
  if (!check.ok()) return check;
  for (auto& svc : check.scenario->services)
    for (const auto& u : plan.units) {
      if (u.service != svc.name || !u.installed()) continue;
      // The planner's own Type=notify comes first when the scenario sets no Type.
      const bool planner_type = !svc.directive("Type");  // svc.unit is the inline `unit` still
      svc.files = u.files;
      svc.unit = u.properties;
      if (planner_type && !svc.unit.empty() && svc.unit.front().name == "Type") svc.unit.erase(svc.unit.begin());
    }
  return check;
}

Expected<RunReport> fromResultJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object() || j.value("format", nlohmann::json()) != kResultFormat)
    return fail(source + ": $.format", std::string("expected \"") + kResultFormat + "\"");
  RunReport r;
  try {
    const std::string file = j.value("scenario_file", source);
    r.plan = j.at("plan").get<GuestPlan>();
    auto check = scenarioOfResult(j.at("scenario").dump(), file, r.plan);
    if (!check.ok()) return fail(source + ": $.scenario", check.errors.front().str());
    r.scenario = std::move(*check.scenario);
    r.tool_version = j.value("tool_version", "");
    r.exit_status = j.at("exit_status").get<int>();
    const auto& timing = j.at("timing");
    r.started_at = timing.value("started_at", "");
    r.wall_sec = timing.value("wall_sec", 0.0);
    r.vm = j.at("vm").get<VmFacts>();
    r.timeline = j.at("timeline").get<Timeline>();
    r.verdict.verdict = j.at("verdict").get<VerdictKind>();
    r.verdict.reason = j.value("reason", "");
    r.verdict.pressure_t = timing.value("pressure_t", 0.0);
    r.verdict.checks = j.at("checks").get<std::vector<CheckResult>>();
  } catch (const nlohmann::json::exception& e) {
    return fail(source, std::string("not a valid result file: ") + e.what());
  }
  return r;
}

namespace {

// Writes each file of `files` (name, builder), collecting one sentence per failure.
template <typename Files>
std::vector<std::string> writeFiles(const std::filesystem::path& dir, const Files& files) {
  std::vector<std::string> failures;
  if (auto made = createOutputFolder(dir); !made) return {made.error().str()};
  for (const auto& [name, build] : files) {
    std::string text;
    try {
      text = build();
    } catch (const std::bad_alloc&) {
      // The host had less memory than the file's budget needs: said, never fatal.
      failures.push_back((dir / name).string() + ": not written: out of memory while building it");
      continue;
    }
    if (auto written = writeFileAtomically(dir / name, text); !written) failures.push_back(written.error().str());
  }
  return failures;
}

using FileList = std::vector<std::pair<const char*, std::function<std::string()>>>;

FileList derivedFiles(const RunReport& report) {
  return {{"junit.xml", [&report] { return junitXml(report); }},
          {"summary.txt", [&report] { return summarize(report); }},
          {"report.html", [&report] { return htmlReport(report); }}};
}

}  // namespace

std::vector<std::string> writeRunReports(const std::filesystem::path& dir, const RunReport& report) {
  FileList files = {{kRunResultFile, [&report] { return resultJsonText(report); }}};
  for (auto& f : derivedFiles(report)) files.push_back(std::move(f));
  return writeFiles(dir, files);
}

std::vector<std::string> writeDerivedReports(const std::filesystem::path& dir, const RunReport& report) {
  return writeFiles(dir, derivedFiles(report));
}

namespace {

// The bytes of a result.json, parsed within report_limits (no tree deeper than
// kMaxResultDepth is ever built).
Expected<nlohmann::json> parseResultJson(std::string_view bytes, const std::filesystem::path& file) {
  JsonReadRules rules;
  rules.max_depth = report_limits::kMaxResultDepth;
  rules.depth_note = std::string("a result file (") + kResultFormat + ") needs 8";
  rules.printable_text = false;  // guest text holds control characters, escaped
  rules.what = kResultFormat;
  rules.max_float_magnitude = std::numeric_limits<int>::max();  // fractions are seconds and shares
  return readLimitedJson(bytes, file.string(), rules);
}

}  // namespace

Expected<nlohmann::json> readResultJson(const std::filesystem::path& file, const std::string& what) {
  auto bytes = readRegularFile(file, kMaxResultFileBytes, what);
  if (!bytes) return tl::unexpected(bytes.error());
  return parseResultJson(*bytes, file);
}

Expected<RunReport> readRunFolder(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto status = std::filesystem::status(dir, ec);
  if (!std::filesystem::exists(status))
    return fail(dir.string(), "expected a run folder (holding result.json); there is no such folder");
  if (!std::filesystem::is_directory(status))
    return fail(dir.string(), "expected a run folder (holding result.json); got a file that is not a folder");
  const auto file = dir / kRunResultFile;
  if (!std::filesystem::exists(std::filesystem::symlink_status(file, ec)))
    return fail(file.string(), std::string("expected a run's result file (") + kResultFormat +
                                   "), written by `oomharness run` or `evaluate --out`; there is none");
  auto bytes = readRegularFile(file, kMaxResultFileBytes, std::string("run result (") + kResultFormat + ")");
  if (!bytes) return tl::unexpected(bytes.error());
  return readResultText(*bytes, file);
}

Expected<RunReport> readResultText(std::string_view bytes, const std::filesystem::path& file) {
  Expected<RunReport> report = fail(file.string(), "");
  {
    const auto json = parseResultJson(bytes, file);
    if (!json) return tl::unexpected(json.error());
    report = fromResultJson(*json, file.string());
    if (!report) return report;
  }
  // The scenario once more in its file's key order (a plain json sorts keys), so
  // the services' directives read as they were written and a regenerated report
  // is the same as the run's. Only the scenario is kept: the timeline is not built
  // twice, and the depth was checked above.
  using Ordered = nlohmann::ordered_json;
  const auto ordered = Ordered::parse(
      bytes,
      [](int depth, Ordered::parse_event_t event, Ordered& parsed) {
        return !(depth == 1 && event == Ordered::parse_event_t::key && parsed != "scenario");
      },
      /*allow_exceptions=*/false);
  if (ordered.is_object() && ordered.contains("scenario")) {
    auto check = scenarioOfResult(ordered["scenario"].dump(), report->scenario.source, report->plan);
    if (check.ok()) report->scenario = std::move(*check.scenario);
  }
  return report;
}

}  // namespace oom
