#include "scenario/lint_report.hpp"

#include <cstdio>

#include "oom/text.hpp"
#include "oom/version.hpp"

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

}  // namespace

std::string lintText(const std::vector<LintFinding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    if (f.suppressed) continue;
    out += where(f.at) + ": " + std::string(severityName(f.severity)) + ": " +
           printable(f.message) + " [" + f.rule + "]\n";
    for (const auto& r : f.related) out += where(r) + ": note: " + printable(r.message) + "\n";
  }
  return printableLines(out);  // file names come from the linted tree
}

nlohmann::json lintJson(const std::vector<LintFinding>& findings,
                        const std::vector<std::string>& inputs) {
  nlohmann::json list = nlohmann::json::array();
  std::size_t counts[3] = {0, 0, 0};
  std::size_t suppressed = 0;
  for (const auto& f : findings) {
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
    if (f.suppressed)
      ++suppressed;
    else
      ++counts[static_cast<int>(f.severity)];
  }
  return {{"format", "oomharness-lint/1"},
          {"inputs", inputs},
          {"findings", list},
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
  for (const auto& f : findings) {
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
             {"results", results}}})}};
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
