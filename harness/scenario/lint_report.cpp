#include "scenario/lint_report.hpp"

#include <cstdio>
#include <map>

#include "oom/text.hpp"
#include "oom/version.hpp"
#include "scenario/limits.hpp"

namespace oom {
namespace {

std::string where(const LintLocation& at) {
  return printable(at.file) + ":" + std::to_string(at.line);
}

nlohmann::json location(const LintLocation& at) {
  return {{"file", at.file}, {"line", at.line}, {"message", at.message}};
}

nlohmann::json sarifLocation(const LintLocation& at) {
  return {{"physicalLocation",
           {{"artifactLocation", {{"uri", sarifUri(at.file)}}},
            {"region", {{"startLine", std::max(1u, at.line)}}}}}};
}

// The findings a report lists: at most limits::kMaxFindingsListed per file, in
// order; how many more each file had goes to `not_listed` (file -> count).
std::vector<const LintFinding*> listed(const std::vector<LintFinding>& findings, bool with_suppressed,
                                       std::map<std::string, std::size_t>& not_listed) {
  std::map<std::string, std::size_t> per_file;
  std::vector<const LintFinding*> out;
  for (const auto& f : findings) {
    if (f.suppressed && !with_suppressed) continue;
    if (++per_file[f.at.file] <= limits::kMaxFindingsListed) out.push_back(&f);
    else ++not_listed[f.at.file];
  }
  return out;
}

std::string notListedLine(const std::string& file, std::size_t count) {
  return printable(file) + ": note: " + std::to_string(count) + " more finding" + (count == 1 ? "" : "s") +
         " not listed (at most " + std::to_string(limits::kMaxFindingsListed) + " per file are)\n";
}

}  // namespace

std::string lintText(const std::vector<LintFinding>& findings) {
  std::string out;
  std::map<std::string, std::size_t> not_listed;
  for (const LintFinding* f : listed(findings, false, not_listed)) {
    out += where(f->at) + ": " + std::string(severityName(f->severity)) + ": " +
           printable(f->message) + " [" + f->rule + "]\n";
    for (const auto& r : f->related) out += where(r) + ": note: " + printable(r.message) + "\n";
  }
  for (const auto& [file, count] : not_listed) out += notListedLine(file, count);
  return printableLines(out);  // file names come from the linted tree
}

nlohmann::json lintJson(const std::vector<LintFinding>& findings,
                        const std::vector<std::string>& inputs) {
  nlohmann::json list = nlohmann::json::array();
  std::size_t counts[3] = {0, 0, 0};
  std::size_t suppressed = 0;
  for (const auto& f : findings) {
    if (f.suppressed) ++suppressed;
    else ++counts[static_cast<int>(f.severity)];
  }
  std::map<std::string, std::size_t> not_listed;
  for (const LintFinding* listed_finding : listed(findings, true, not_listed)) {
    const LintFinding& f = *listed_finding;
    nlohmann::json related = nlohmann::json::array();
    for (const auto& r : f.related) related.push_back(location(r));
    list.push_back(
        {{"rule", f.rule},
         {"severity", severityName(f.severity)},
         {"file", f.at.file},
         {"line", f.at.line},
         {"message", f.message},
         {"related", related},
         {"suppressed", f.suppressed ? nlohmann::json(*f.suppressed) : nlohmann::json(nullptr)}});
  }
  return {{"format", "oomharness-lint/1"},
          {"inputs", inputs},
          {"findings", list},
          {"not_listed", not_listed},
          {"counts",
           {{"error", counts[2]},
            {"warning", counts[1]},
            {"note", counts[0]},
            {"suppressed", suppressed}}}};
}

nlohmann::json lintSarif(const std::vector<LintFinding>& findings) {
  nlohmann::json rules = nlohmann::json::array();
  const auto& all = lintRules();
  for (const auto& r : all)
    rules.push_back({{"id", r.id},
                     {"shortDescription", {{"text", r.summary}}},
                     {"fullDescription", {{"text", r.help}}},
                     {"help", {{"text", r.help}}},
                     {"defaultConfiguration", {{"level", severityName(r.severity)}}}});
  nlohmann::json results = nlohmann::json::array();
  std::map<std::string, std::size_t> not_listed;
  for (const LintFinding* listed_finding : listed(findings, true, not_listed)) {
    const LintFinding& f = *listed_finding;
    nlohmann::json result = {{"ruleId", f.rule},
                             {"level", severityName(f.severity)},
                             {"message", {{"text", f.message}}},
                             {"locations", nlohmann::json::array({sarifLocation(f.at)})}};
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i].id == f.rule) result["ruleIndex"] = i;
    if (!f.related.empty()) {
      nlohmann::json related = nlohmann::json::array();
      for (std::size_t i = 0; i < f.related.size(); ++i) {
        auto loc = sarifLocation(f.related[i]);
        loc["id"] = i;
        loc["message"] = {{"text", f.related[i].message}};
        related.push_back(loc);
      }
      result["relatedLocations"] = related;
    }
    if (f.suppressed)
      result["suppressions"] =
          nlohmann::json::array({{{"kind", "inSource"}, {"justification", *f.suppressed}}});
    results.push_back(result);
  }
  return {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       nlohmann::json::array(
           {{{"tool",
              {{"driver", {{"name", "oomharness-lint"}, {"version", kVersion}, {"rules", rules}}}}},
             {"results", results},
             {"properties", {{"notListed", not_listed}}}}})}};
}

std::string sarifUri(const std::string& path) {
  std::string out = !path.empty() && path.front() == '/' ? "file://" : "";
  for (unsigned char c : path) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace oom
