// What `oomharness lint PATH...` reads: unit files, drop-ins, NAME.d folders,
// folders laid out as /etc/systemd/system, and scenario files, read and grouped.
#include "scenario/lint_inputs.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

#include "oom/confined.hpp"
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

namespace {

// The files of the paths given, read: those named on the command line as the user
// named them; those found inside a named folder (drop-ins in NAME.d, units in a
// tree) below that folder only (oom/confined.hpp), so a link in a tree from a pull
// request cannot make lint read, and print, a file outside it.
class Collector {
 public:
  LintInputs in;
  std::map<std::string, UnitSources> units;

  void addGiven(const fs::path& p);

 private:
  std::map<std::string, std::string> unit_file_origin_;  // unit name -> the file it came from
  std::set<fs::path> seen_;
  std::size_t files_read_ = 0;  // against limits::kMaxLintFiles
  std::uint64_t bytes_read_ = 0;  // against limits::kMaxLintBytesTotal
  bool over_budget_ = false;

  // Whether another file may be read; the first one past the budget is reported,
  // the rest are left unread in silence (one error says so).
  bool mayRead(const fs::path& shown) {
    if (files_read_ < limits::kMaxLintFiles && bytes_read_ < limits::kMaxLintBytesTotal) return true;
    if (!over_budget_)
      addUnreadable(in, shown, "not read, nor anything after it: lint reads at most " +
                                   std::to_string(limits::kMaxLintFiles) + " files and " +
                                   formatSize(limits::kMaxLintBytesTotal) + " in all; lint fewer paths at a time");
    over_budget_ = true;
    return false;
  }
  // Counts a file read (or refused) against the budget.
  template <typename Text>
  Text counted(Text text) {
    ++files_read_;
    if (text) bytes_read_ += text->size();
    return text;
  }
  std::optional<UnitFileText> readUnitFile(const fs::path& p);

  bool firstTime(const fs::path& p) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(p, ec);
    return seen_.insert(ec ? p : canonical).second;
  }
  void addUnitFile(const fs::path& shown, std::optional<UnitFileText> f);
  void addDropIn(const std::string& owner, std::optional<UnitFileText> f);
  std::optional<UnitFileText> readBelow(const ConfinedDir& root, const fs::path& shown, const fs::path& relative);
  std::size_t addDropInFolder(const ConfinedDir& root, const fs::path& shown, const fs::path& relative,
                              const std::string& owner);
  void addScenario(const fs::path& p, const ConfinedDir* root);
  void addTree(const fs::path& p);
  std::size_t addTreeEntry(const ConfinedDir& root, const fs::path& p, const std::string& entry);
};

void Collector::addUnitFile(const fs::path& shown, std::optional<UnitFileText> f) {
  const std::string name = shown.filename().string();
  if (units.count(name) && units[name].unit_file) {
    addUnreadable(in, shown,
                  name + " is also given as " + unit_file_origin_[name] +
                      ": systemd loads only one of them; lint one tree at a time");
    return;
  }
  if (!f) return;
  units[name].name = name;
  units[name].unit_file = std::move(*f);
  unit_file_origin_[name] = shown.string();
}

void Collector::addDropIn(const std::string& owner, std::optional<UnitFileText> f) {
  if (!f) return;
  units[owner].name = owner;
  units[owner].drop_ins.push_back(std::move(*f));
}

std::optional<UnitFileText> Collector::readUnitFile(const fs::path& p) {
  if (!mayRead(p)) return std::nullopt;
  const auto text = counted(readUnitFileBytes(p));
  if (!text) {
    in.unreadable.push_back(text.error());
    return std::nullopt;
  }
  return parseUnitFile(*text, p.string());
}

std::optional<UnitFileText> Collector::readBelow(const ConfinedDir& root, const fs::path& shown,
                                                 const fs::path& relative) {
  if (!mayRead(shown)) return std::nullopt;
  const auto text = counted(root.read(relative, kMaxUnitFileBytes, "unit file"));
  if (text && text->find('\0') != std::string::npos) {
    addUnreadable(in, shown, "not a text file (it contains NUL bytes)");
    return std::nullopt;
  }
  if (!text) {
    in.unreadable.push_back(Error{shown.string(), text.error().message});
    return std::nullopt;
  }
  return parseUnitFile(*text, shown.string());
}

// The *.conf drop-ins of `relative` (a NAME.d folder below root), masked ones left out.
// A folder that cannot be listed (a symlink loop, a link out of root) is reported.
std::size_t Collector::addDropInFolder(const ConfinedDir& root, const fs::path& shown, const fs::path& relative,
                                       const std::string& owner) {
  const auto names = root.list(relative);
  if (!names) {
    in.unreadable.push_back(Error{shown.string(), names.error().message});
    return 1;  // reported: not "nothing to lint"
  }
  std::vector<std::string> confs;
  for (const auto& name : *names)
    if (name.size() > 5 && endsWith(name, ".conf")) confs.push_back(name);
  if (confs.size() > limits::kMaxDropInsPerFolder) {
    addUnreadable(in, shown, std::to_string(confs.size()) + " *.conf drop-ins; expected at most " +
                                 std::to_string(limits::kMaxDropInsPerFolder) + " in one folder");
    return 1;
  }
  std::size_t found = 0;
  for (const auto& name : confs) {
    const auto kind = root.kind(relative / name);
    if (kind && *kind == ConfinedDir::Kind::masked) continue;  // systemd skips it
    ++found;
    if (!firstTime(shown / name)) continue;
    addDropIn(owner, readBelow(root, shown / name, relative / name));
  }
  return found;
}

// A scenario is linted only if the validator can read it (a regular text file within its cap).
void Collector::addScenario(const fs::path& p, const ConfinedDir* root) {
  if (!mayRead(p)) return;
  const auto text = counted(root ? root->read(p.filename(), limits::kMaxFileBytes, "scenario file")
                                 : readRegularFile(p, limits::kMaxFileBytes, "scenario file"));
  if (!text)
    addUnreadable(in, p, text.error().message);
  else if (text->find('\0') != std::string::npos)
    addUnreadable(in, p, "not a text file (it contains NUL bytes)");
  else
    in.scenarios.push_back(p);
}

// One entry of a folder laid out as /etc/systemd/system; how many inputs it gave.
std::size_t Collector::addTreeEntry(const ConfinedDir& root, const fs::path& p, const std::string& entry) {
  const bool drop_ins = !dropInOwner(entry).empty() || isTypeDropInFolder(entry);
  if (!drop_ins && !isUnitFileName(entry) && !endsWith(entry, ".json")) return 0;
  const auto kind = root.kind(entry);
  if (!kind) {  // a link out of the folder, a loop: said, not skipped
    addUnreadable(in, p / entry, kind.error().message);
    return 1;
  }
  if (drop_ins) {
    if (*kind != ConfinedDir::Kind::directory) return 0;
    const std::string owner = dropInOwner(entry).empty() ? entry.substr(0, entry.size() - 2) : dropInOwner(entry);
    return addDropInFolder(root, p / entry, entry, owner);
  }
  if (*kind == ConfinedDir::Kind::masked || *kind == ConfinedDir::Kind::missing) return 0;
  if (isUnitFileName(entry)) {
    if (isMaskedOrAlias(p / entry)) return 0;
    if (firstTime(p / entry)) addUnitFile(p / entry, readBelow(root, p / entry, entry));
    return 1;
  }
  addScenario(p / entry, &root);
  return 1;
}

void Collector::addTree(const fs::path& p) {
  auto root = ConfinedDir::open(p);
  if (!root) {
    addUnreadable(in, p, root.error().message);
    return;
  }
  if (const auto owner = dropInOwner(p); !owner.empty()) {
    if (addDropInFolder(*root, p, ".", owner) == 0)
      addUnreadable(in, p, "nothing to lint: no *.conf drop-ins in this folder");
    return;
  }
  const auto entries = root->list(".");
  if (!entries) {
    addUnreadable(in, p, entries.error().message);
    return;
  }
  std::size_t found = 0;
  for (const auto& e : *entries) found += addTreeEntry(*root, p, e);
  if (found == 0) addUnreadable(in, p, "nothing to lint: no unit files, NAME.d/*.conf drop-ins or *.json scenarios");
}

// "api.service.d/" and "api.service.d" are one folder, named by its last component.
fs::path withoutTrailingSlash(const std::string& given) {
  fs::path p = fs::path(given).lexically_normal();
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p;
}

void Collector::addGiven(const fs::path& p) {
  std::error_code ec;
  const auto status = fs::status(p, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    addUnreadable(in, p, "cannot read it: " + ec.message());
    return;
  }
  if (!fs::exists(status)) {
    addUnreadable(in, p, "no such file or folder");
    return;
  }
  const std::string name = p.filename().string();
  if (fs::is_directory(status)) {
    addTree(p);
  } else if (endsWith(name, ".json")) {
    addScenario(p, nullptr);
  } else if (isUnitFileName(name)) {
    if (firstTime(p)) addUnitFile(p, readUnitFile(p));
  } else if (const auto owner = dropInOwner(p.parent_path()); endsWith(name, ".conf") && !owner.empty()) {
    if (firstTime(p)) addDropIn(owner, readUnitFile(p));
  } else {
    addUnreadable(in, p,
                  "not a unit file (NAME.service, .slice, .scope, ...), a drop-in "
                  "(NAME.service.d/*.conf) or a scenario (*.json)");
  }
}

}  // namespace

LintInputs collectLintInputs(const std::vector<std::string>& paths) {
  Collector c;
  for (const auto& given : paths) c.addGiven(withoutTrailingSlash(given));
  LintInputs& in = c.in;
  auto& units = c.units;
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
  return std::move(in);
}

}  // namespace oom
