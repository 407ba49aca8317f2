// Unit-file syntax as systemd.syntax(7) states it and src/shared/conf-parser.c
// implements it (docs/lint-rules.md#how-files-are-read).
#include "systemd/unit_file.hpp"

#include <algorithm>
#include <set>
#include <system_error>

#include "oom/files.hpp"
#include "oom/text.hpp"

namespace oom {
namespace fs = std::filesystem;
namespace {


bool isComment(std::string_view stripped) {
  return !stripped.empty() && (stripped.front() == '#' || stripped.front() == ';');
}

// A line ends in a continuation when its last character is a backslash that is not
// itself escaped (an even run of backslashes is literal), as conf-parser.c decides.
bool continues(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

// "oomharness-lint: disable=a,b reason" -> the suppression, or nullopt for any other comment.
std::optional<LintSuppression> parseSuppression(std::string_view comment, unsigned line) {
  comment = trim(comment.substr(1));
  constexpr std::string_view tag = "oomharness-lint:";
  if (comment.substr(0, tag.size()) != tag) return std::nullopt;
  comment = trim(comment.substr(tag.size()));
  LintSuppression s;
  s.line = line;
  constexpr std::string_view disable = "disable=";
  if (comment.substr(0, disable.size()) != disable) {
    s.reason = std::string(comment);  // no rule named: reported as suppression-unknown-rule
    return s;
  }
  comment.remove_prefix(disable.size());
  const auto end = comment.find_first_of(" \t");
  std::string_view list = comment.substr(0, end);
  s.reason = end == std::string_view::npos ? "" : std::string(trim(comment.substr(end)));
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto rule = trim(list.substr(0, comma));
    if (!rule.empty()) s.rules.emplace_back(rule);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return s;
}

// Whether byte `c` continues a UTF-8 character (10xxxxxx): no cut goes there.
bool continuesCharacter(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// A line that is not systemd syntax: reported with an excerpt of `text`, if given; the
// kMaxForeignLines-th stops the parse (returns false).
bool foreignLine(UnitFileText& out, unsigned line, const std::string& what, std::optional<std::string_view> text) {
  out.problems.push_back({line, text ? what + " in \"" + unitTextExcerpt(*text) + "\"" : what});
  const auto foreign = std::count_if(out.problems.begin(), out.problems.end(), [](const auto& p) {
    return startsWith(p.message, "missing '='") || startsWith(p.message, "invalid section header") ||
           startsWith(p.message, "assignment outside");
  });
  if (static_cast<std::size_t>(foreign) < kMaxForeignLines) return true;
  out.problems.push_back({line, "does not look like a unit file: " + std::to_string(kMaxForeignLines) +
                                    " lines are not systemd syntax; the rest is not read"});
  out.foreign = true;
  return false;
}

}  // namespace

std::string unitTextExcerpt(std::string_view text) {
  if (text.size() <= kUnitExcerptBytes) return printable(text);
  std::size_t cut = kUnitExcerptBytes;
  while (cut > 0 && continuesCharacter(text[cut])) --cut;
  return printable(text.substr(0, cut)) + "...";
}

bool isMasked(const fs::path& p) {
  std::error_code ec;
  return fs::is_symlink(p, ec) && fs::canonical(p, ec) == "/dev/null";
}

Expected<std::string> readUnitFileBytes(const fs::path& file) {
  auto text = readRegularFile(file, kMaxUnitFileBytes, "unit file");
  if (text && text->find('\0') != std::string::npos)
    return fail(file.string(), "not a text file (it contains NUL bytes)");
  return text;
}

bool isUnitFileName(std::string_view name) {
  static const std::vector<std::string_view> suffixes = {
      ".service", ".socket", ".device", ".mount", ".automount", ".swap",
      ".target",  ".path",   ".timer",  ".slice", ".scope"};
  for (auto suffix : suffixes)
    if (name.size() > suffix.size() && endsWith(name, suffix)) return true;
  return false;
}

UnitFileText parseUnitFile(std::string_view text, const std::string& path) {
  UnitFileText out;
  out.path = path;
  std::string section;
  bool seen_section = false;
  std::vector<std::size_t> pending;  // suppressions waiting for the next assignment
  std::string joined;                // a continued line so far
  unsigned start = 0;                // where it started
  const auto lines = splitLines(text);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view raw = lines[i];
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    const unsigned number = static_cast<unsigned>(i + 1);
    const std::string_view stripped = trim(raw);
    // Comment lines are ignored, even in the middle of a continued line (systemd.syntax(7)).
    if (isComment(stripped)) {
      if (joined.empty()) {
        if (auto s = parseSuppression(stripped, number)) {
          out.suppressions.push_back(*s);
          if (seen_section) pending.push_back(out.suppressions.size() - 1);
        }
      }
      continue;
    }
    if (joined.empty()) start = number;
    if (continues(raw) && i + 1 < lines.size()) {
      joined += std::string(raw.substr(0, raw.size() - 1)) + " ";
      continue;
    }
    joined += std::string(raw);
    const std::string line(trim(joined));
    joined.clear();
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        if (!foreignLine(out, start, "invalid section header", line)) break;
        continue;
      }
      section = line.substr(1, line.size() - 2);
      seen_section = true;
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      if (!foreignLine(out, start, "missing '='", line)) break;
      continue;
    }
    if (!seen_section) {
      if (!foreignLine(out, start, "assignment outside of any section", std::nullopt)) break;
      continue;
    }
    UnitAssignment a{section, std::string(trim(std::string_view(line).substr(0, eq))),
                     std::string(trim(std::string_view(line).substr(eq + 1))), path, start};
    if (a.key.empty()) {
      out.problems.push_back({start, "missing key before '='"});
      continue;
    }
    for (auto p : pending) out.suppressions[p].applies_to = start;
    pending.clear();
    out.assignments.push_back(std::move(a));
  }
  // A suppression with no assignment after it covers nothing: it keeps applies_to
  // unset only when it sat before the first section (whole file).
  for (auto p : pending) out.suppressions[p].applies_to = out.suppressions[p].line;
  return out;
}

std::vector<std::string> dropInFolderNames(const std::string& unit) {
  const auto dot = unit.rfind('.');
  if (dot == std::string::npos || dot == 0) return {unit + ".d"};
  const std::string stem = unit.substr(0, dot), type = unit.substr(dot + 1);
  std::vector<std::string> out{type + ".d"};
  // A template instance ("a@1.service") has its own rules; the root slice "-.slice" has no prefixes.
  if (stem.find('@') == std::string::npos && stem != "-")
    for (std::size_t i = stem.find('-'); i != std::string::npos && i + 1 < stem.size(); i = stem.find('-', i + 1))
      if (i > 0) out.push_back(stem.substr(0, i + 1) + "." + type + ".d");
  out.push_back(unit + ".d");
  return out;
}

int dropInSpecificity(const std::string& unit, const std::string& folder) {
  const auto names = dropInFolderNames(unit);
  const auto it = std::find(names.begin(), names.end(), folder);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::vector<const UnitFileText*> UnitSources::files() const {
  std::vector<const UnitFileText*> all;
  if (unit_file) all.push_back(&*unit_file);
  for (const auto& d : drop_ins) all.push_back(&d);
  return all;
}

std::string UnitSources::type() const {
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(dot + 1);
}

std::map<std::string, EffectiveSetting> effectiveSettings(
    const UnitSources& unit, const std::function<bool(const UnitAssignment&)>& accepted) {
  std::map<std::string, EffectiveSetting> settings;
  for (const auto* file : unit.files())
    for (const auto& a : file->assignments) {
      if (accepted && !accepted(a)) continue;
      auto& s = settings[a.section + "." + a.key];
      s.history.push_back(&a);
      s.winner = a.value.empty() ? nullptr : &a;
    }
  return settings;
}

}  // namespace oom
