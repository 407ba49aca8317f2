#include <algorithm>
#include <cstdio>

#include "report/report.hpp"

namespace oom {
namespace {

std::string xmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') out += '?';
        else out += c;
    }
  }
  return out;
}

std::string evidenceText(const CheckResult& c) {
  std::string text = "expected: " + c.expected + "\nobserved: " + c.observed + "\n";
  if (!c.why.empty()) text += "why: " + c.why + "\n";
  for (const auto& e : c.evidence) {
    char t[32] = "";
    if (e.t >= 0) std::snprintf(t, sizeof t, "[%.3f] ", e.t);
    text += std::string(t) + e.source + ": " + e.text + "\n";
  }
  return text;
}

}  // namespace

std::string junitXml(const RunReport& r) {
  const auto& checks = r.verdict.checks;
  auto count = [&](CheckOutcome o) {
    return std::count_if(checks.begin(), checks.end(), [&](const CheckResult& c) { return c.outcome == o; });
  };
  const std::string suite = xmlEscape(r.scenario.name);
  char head[512];
  std::snprintf(head, sizeof head,
                "<testsuite name=\"%s\" tests=\"%zu\" failures=\"%ld\" errors=\"%ld\" skipped=\"0\" time=\"%.3f\" timestamp=\"%s\">\n",
                suite.c_str(), checks.size(), static_cast<long>(count(CheckOutcome::fail)),
                static_cast<long>(count(CheckOutcome::inconclusive)), r.wall_sec, xmlEscape(r.started_at).c_str());
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
  xml += "  " + std::string(head);
  xml += "    <properties>\n      <property name=\"verdict\" value=\"" +
         xmlEscape(toString(r.verdict.verdict)) + "\"/>\n      <property name=\"reason\" value=\"" +
         xmlEscape(r.verdict.reason) + "\"/>\n    </properties>\n";
  for (const auto& c : checks) {
    const std::string classname = suite + "." + xmlEscape(c.unit.empty() ? "scenario" : c.unit);
    xml += "    <testcase classname=\"" + classname + "\" name=\"" + xmlEscape(c.name) + "\">\n";
    const std::string body = xmlEscape(evidenceText(c));
    if (c.outcome == CheckOutcome::fail)
      xml += "      <failure message=\"" + xmlEscape(c.observed) + "\" type=\"fail\">" + body + "</failure>\n";
    else if (c.outcome == CheckOutcome::inconclusive)
      xml += "      <error message=\"" + xmlEscape(c.observed) + "\" type=\"inconclusive\">" + body + "</error>\n";
    else
      xml += "      <system-out>" + body + "</system-out>\n";
    xml += "    </testcase>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

}  // namespace oom
