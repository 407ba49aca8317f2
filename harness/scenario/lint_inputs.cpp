// What `oomharness lint PATH...` reads: unit files, drop-ins, NAME.d folders,
// folders laid out as /etc/systemd/system, and scenario files, read and grouped.
#include "scenario/lint_inputs.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

#include "oom/files.hpp"
#include "oom/text.hpp"
#include "scenario/limits.hpp"

namespace oom {
namespace fs = std::filesystem;
namespace {

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
