// Unit-file syntax as systemd.syntax(7) states it and src/shared/conf-parser.c
// implements it (docs/lint-rules.md#how-files-are-read).
#include "scenario/unit_file.hpp"

#include <algorithm>
#include <set>
#include <system_error>

#include "oom/files.hpp"
#include "oom/text.hpp"
#include "scenario/limits.hpp"

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

void addUnreadable(LintInputs& in, const fs::path& p, std::string message) {
  in.unreadable.push_back(Error{p.string(), std::move(message)});
}

// The unit a drop-in folder belongs to: "api.service.d" -> "api.service"; "" if none.
std::string dropInOwner(const fs::path& folder) {
  const std::string name = folder.filename().string();
  if (!endsWith(name, ".d")) return "";
  const std::string unit = name.substr(0, name.size() - 2);
  return isUnitFileName(unit) ? unit : "";
}

std::optional<UnitFileText> readUnitFile(LintInputs& in, const fs::path& p) {
  auto text = readUnitFileBytes(p);
  if (!text) {
    in.unreadable.push_back(text.error());
    return std::nullopt;
  }
  return parseUnitFile(*text, p.string());
}

// A link to /dev/null: systemd skips the unit or drop-in.
bool isMasked(const fs::path& p) {
  std::error_code ec;
  return fs::is_symlink(p, ec) && fs::canonical(p, ec) == "/dev/null";
}

bool isMaskedOrAlias(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_symlink(p, ec)) return false;
  const auto target = fs::canonical(p, ec);
  if (ec) return false;  // a dangling link: reading it reports the problem
  return isMasked(p) || target.parent_path() == fs::canonical(p.parent_path(), ec);
}

// "service.d", "slice.d": drop-ins for every unit of that type.
bool isTypeDropInFolder(const std::string& name) {
  for (std::string_view type : {"service", "socket", "mount", "swap", "scope", "slice", "target", "timer", "path"})
    if (name == std::string(type) + ".d") return true;
  return false;
}

// The owner of a type-wide or prefix drop-in folder: "service", "api-.service".
bool isSharedDropInOwner(const std::string& name) {
  if (isTypeDropInFolder(name + ".d")) return true;
  const auto dot = name.rfind('.');
  return dot != std::string::npos && dot > 1 && name[dot - 1] == '-';
}

}  // namespace

Expected<std::string> readUnitFileBytes(const fs::path& file) {
  auto text = readRegularFile(file, kMaxUnitFileBytes, "unit file");
  if (text && text->find('\0') != std::string::npos)
    return fail(file.string(), "not a text file (it contains NUL bytes)");
  return text;
}

std::vector<fs::path> dropInConfs(const fs::path& folder, std::error_code& ec) {
  std::vector<fs::path> confs;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 5 && endsWith(name, ".conf") && !isMasked(e.path())) confs.push_back(e.path());
  }
  std::sort(confs.begin(), confs.end());
  return confs;
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
        out.problems.push_back({start, "invalid section header \"" + line + "\""});
        continue;
      }
      section = line.substr(1, line.size() - 2);
      seen_section = true;
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      out.problems.push_back({start, "missing '=' in \"" + line + "\""});
      continue;
    }
    if (!seen_section) {
      out.problems.push_back({start, "assignment outside of any section"});
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

LintInputs collectLintInputs(const std::vector<std::string>& paths) {
  LintInputs in;
  std::map<std::string, UnitSources> units;
  std::map<std::string, std::string> unit_file_origin;  // unit name -> the file it came from
  std::set<fs::path> seen;
  auto addUnitFile = [&](const fs::path& p) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(p, ec);
    if (!seen.insert(ec ? p : canonical).second) return;
    const std::string name = p.filename().string();
    if (units.count(name) && units[name].unit_file) {
      addUnreadable(in, p,
                    name + " is also given as " + unit_file_origin[name] +
                        ": systemd loads only one of them; lint one tree at a time");
      return;
    }
    if (auto f = readUnitFile(in, p)) {
      units[name].name = name;
      units[name].unit_file = std::move(*f);
      unit_file_origin[name] = p.string();
    }
  };
  auto addDropIn = [&](const fs::path& p, const std::string& owner) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(p, ec);
    if (!seen.insert(ec ? p : canonical).second) return;
    if (auto f = readUnitFile(in, p)) {
      units[owner].name = owner;
      units[owner].drop_ins.push_back(std::move(*f));
    }
  };
  // A scenario is linted only if the validator can read it (a regular text file within its cap).
  auto addScenario = [&](const fs::path& p) {
    auto text = readRegularFile(p, limits::kMaxFileBytes, "scenario file");
    if (!text)
      in.unreadable.push_back(text.error());
    else if (text->find('\0') != std::string::npos)
      addUnreadable(in, p, "not a text file (it contains NUL bytes)");
    else
      in.scenarios.push_back(p);
  };
  auto addDropInFolder = [&](const fs::path& folder, const std::string& owner) {
    std::error_code ec;
    const auto confs = dropInConfs(folder, ec);
    for (const auto& c : confs) addDropIn(c, owner);
    return confs.size();
  };

  for (const auto& given : paths) {
    const fs::path p(given);
    std::error_code ec;
    const auto status = fs::status(p, ec);
    if (ec || !fs::exists(status)) {
      addUnreadable(in, p, "no such file or folder");
      continue;
    }
    const std::string name = p.filename().string();
    if (fs::is_directory(status)) {
      if (const auto owner = dropInOwner(p); !owner.empty()) {
        if (addDropInFolder(p, owner) == 0)
          addUnreadable(in, p, "nothing to lint: no *.conf drop-ins in this folder");
        continue;
      }
      std::vector<fs::path> entries;
      for (const auto& e : fs::directory_iterator(p, ec)) entries.push_back(e.path());
      if (ec) {
        addUnreadable(in, p, "cannot list the folder: " + ec.message());
        continue;
      }
      std::sort(entries.begin(), entries.end());
      std::size_t found = 0;
      for (const auto& e : entries) {
        const std::string entry = e.filename().string();
        std::error_code entry_ec;
        if (fs::is_directory(e, entry_ec)) {
          if (const auto owner = dropInOwner(e); !owner.empty()) found += addDropInFolder(e, owner);
          else if (isTypeDropInFolder(entry)) found += addDropInFolder(e, entry.substr(0, entry.size() - 2));
        } else if (isUnitFileName(entry)) {
          if (isMaskedOrAlias(e)) continue;
          addUnitFile(e);
          ++found;
        } else if (endsWith(entry, ".json")) {
          addScenario(e);
          ++found;
        }
      }
      if (found == 0)
        addUnreadable(in, p,
                      "nothing to lint: no unit files, NAME.d/*.conf drop-ins or *.json scenarios");
      continue;
    }
    if (endsWith(name, ".json")) {
      addScenario(p);
    } else if (isUnitFileName(name)) {
      addUnitFile(p);
    } else if (const auto owner = dropInOwner(p.parent_path());
               endsWith(name, ".conf") && !owner.empty()) {
      addDropIn(p, owner);
    } else {
      addUnreadable(in, p,
                    "not a unit file (NAME.service, .slice, .scope, ...), a drop-in "
                    "(NAME.service.d/*.conf) or a scenario (*.json)");
    }
  }
  // Type-wide ("service.d") and prefix ("api-.service.d") drop-ins reach every unit of
  // the tree they match; of two with one file name the more specific folder's wins.
  std::set<std::string> applied;
  for (auto& [name, unit] : units) {
    if (isSharedDropInOwner(name)) continue;
    const auto folders = dropInFolderNames(name);
    std::map<std::string, int> level;  // drop-in file name -> specificity of the one kept
    for (const auto& d : unit.drop_ins) level[fs::path(d.path).filename().string()] = static_cast<int>(folders.size()) - 1;
    for (int i = static_cast<int>(folders.size()) - 2; i >= 0; --i) {
      const std::string owner = folders[static_cast<std::size_t>(i)].substr(0, folders[static_cast<std::size_t>(i)].size() - 2);
      const auto shared = units.find(owner);
      if (shared == units.end()) continue;
      applied.insert(owner);
      for (const auto& d : shared->second.drop_ins)
        if (level.emplace(fs::path(d.path).filename().string(), i).second) unit.drop_ins.push_back(d);
    }
  }
  for (const auto& owner : applied) units.erase(owner);  // linted with the units they reach
  for (auto& [name, unit] : units) {
    // systemd applies drop-ins in the lexical order of their file names, wherever they are.
    std::stable_sort(unit.drop_ins.begin(), unit.drop_ins.end(), [](const auto& a, const auto& b) {
      return fs::path(a.path).filename() < fs::path(b.path).filename();
    });
    in.units.push_back(std::move(unit));
  }
  return in;
}

}  // namespace oom
