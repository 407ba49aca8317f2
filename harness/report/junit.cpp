#include <algorithm>
#include <cstdio>
#include <string_view>

#include "oom/text.hpp"
#include "output_budget.hpp"
#include "report/report.hpp"
#include "report/xml_text.hpp"

namespace oom {

// XML 1.0 allows only tab, newline, CR, U+0020..U+D7FF, U+E000..U+FFFD and
// U+10000 up, as valid UTF-8, even escaped; the guest may send any bytes. So
// every field goes through printable() first: control characters (NUL, ESC, ...)
// and bytes that are not UTF-8 become visible \xNN text, and a journal line with
// a newline of its own cannot fake a line of evidence. printable() keeps U+FFFE
// and U+FFFF, which XML forbids, so they are escaped here the same way.
std::string xmlText(std::string_view text) {
  const std::string safe = printable(text);
  std::string out;
  out.reserve(safe.size());
  for (std::size_t i = 0; i < safe.size(); ++i) {
    const char c = safe[i];
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
    if (c == '\xef' && i + 2 < safe.size() && safe[i + 1] == '\xbf' && (safe[i + 2] == '\xbe' || safe[i + 2] == '\xbf')) {
      out += safe[i + 2] == '\xbe' ? "\\u{fffe}" : "\\u{ffff}";
      i += 2;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

// Text of several lines (a testcase's body): its own newlines kept, each line as xmlText.
std::string xmlLines(std::string_view text) {
  std::string out;
  for (const auto line : splitLines(text)) out += xmlText(line) + "\n";
  return out;
}

namespace {

// A field as one line: printable() so that its own newlines stay escaped, cut to
// report_limits::kMaxTextShownBytes.
std::string field(std::string_view text) { return printable(shownText(text)); }

}  // namespace

// One line per field; at most kMaxEvidenceShown evidence rows, then how many more.
std::string checkEvidenceText(const CheckResult& c) {
  using report_limits::kMaxEvidenceShown;
  std::string text = "expected: " + field(c.expected) + "\nobserved: " + field(c.observed) + "\n";
  if (!c.why.empty()) text += "why: " + field(c.why) + "\n";
  for (std::size_t i = 0; i < c.evidence.size() && i < kMaxEvidenceShown; ++i) {
    const Evidence& e = c.evidence[i];
    char t[32] = "";
    if (e.t >= 0) std::snprintf(t, sizeof t, "[%.3f] ", e.t);
    text += std::string(t) + field(e.source) + ": " + field(e.text) + "\n";
  }
  if (c.evidence.size() > kMaxEvidenceShown)
    text += "... and " + std::to_string(c.evidence.size() - kMaxEvidenceShown) + " more in result.json\n";
  return text;
}

namespace {

// A testcase's body, or, once the file has reached its budget, a line saying where it is.
std::string testcaseBody(const CheckResult& c, std::size_t written) {
  if (written > report_limits::kMaxJunitBytes)
    return "junit.xml reached its budget (report/limits.hpp): this check's evidence is in result.json\n";
  return xmlLines(checkEvidenceText(c));
}

}  // namespace

std::string junitXml(const RunReport& r) {
  const auto& checks = r.verdict.checks;
  auto count = [&](CheckOutcome o) {
    return std::count_if(checks.begin(), checks.end(), [&](const CheckResult& c) { return c.outcome == o; });
  };
  const std::string suite = xmlText(r.scenario.name);
  // Built by concatenation, not into a fixed buffer: a long name cut mid-attribute
  // would leave the file unreadable.
  char numbers[512];  // room for three integers and any double
  std::snprintf(numbers, sizeof numbers, "tests=\"%zu\" failures=\"%ld\" errors=\"%ld\" skipped=\"0\" time=\"%.3f\"",
                checks.size(), static_cast<long>(count(CheckOutcome::fail)),
                static_cast<long>(count(CheckOutcome::inconclusive)), r.wall_sec);
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n";
  xml += "  <testsuite name=\"" + suite + "\" " + numbers + " timestamp=\"" + xmlText(r.started_at) + "\">\n";
  xml += "    <properties>\n      <property name=\"verdict\" value=\"" +
         xmlText(toString(r.verdict.verdict)) + "\"/>\n      <property name=\"reason\" value=\"" +
         xmlText(r.verdict.reason) + "\"/>\n    </properties>\n";
  for (const auto& c : checks) {
    const std::string classname = suite + "." + xmlText(c.unit.empty() ? "scenario" : c.unit);
    xml += "    <testcase classname=\"" + classname + "\" name=\"" + xmlText(c.name) + "\">\n";
    const std::string body = testcaseBody(c, xml.size());
    const std::string message = xmlText(shownText(c.observed));
    if (c.outcome == CheckOutcome::fail)
      xml += "      <failure message=\"" + message + "\" type=\"fail\">" + body + "</failure>\n";
    else if (c.outcome == CheckOutcome::inconclusive)
      xml += "      <error message=\"" + message + "\" type=\"inconclusive\">" + body + "</error>\n";
    else
      xml += "      <system-out>" + body + "</system-out>\n";
    xml += "    </testcase>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

}  // namespace oom
