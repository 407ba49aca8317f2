// Real unit files in a scenario: read, merged as systemd merges them, checked
// against the directive table with file and line, and the harness drop-in that
// turns the unit into a test (docs/unit-files.md).
#include "scenario/unit_sources.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "oom/confined.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "scenario/limits.hpp"
#include "systemd/unit_file.hpp"
#include "systemd/unit_values.hpp"

namespace oom {
namespace fs = std::filesystem;
namespace {

// Set in the user's files, reset by the harness drop-in: each would stop the unit
// starting in a bare guest, or would run the service's own programs, which the
// guest does not have. The reset line is what the drop-in writes.
struct Neutral {
  std::string_view key;
  std::string_view reset;
  std::string_view why;
};
const Neutral kServiceResets[] = {
    {"ExecStartPre", "ExecStartPre=", "the service's own programs are not in the guest"},
    {"ExecStartPost", "ExecStartPost=", "the service's own programs are not in the guest"},
    {"ExecCondition", "ExecCondition=", "the service's own programs are not in the guest"},
    {"ExecReload", "ExecReload=", "the service's own programs are not in the guest"},
    {"ExecStop", "ExecStop=", "the service's own programs are not in the guest"},
    {"ExecStopPost", "ExecStopPost=", "the service's own programs are not in the guest"},
    {"User", "User=", "the guest has only system users; oomstress runs as root"},
    {"Group", "Group=", "the guest has only system groups"},
    {"SupplementaryGroups", "SupplementaryGroups=", "the guest has only system groups"},
    {"PIDFile", "PIDFile=", "oomstress writes no PID file"},
    {"BusName", "BusName=", "oomstress takes no D-Bus name"},
    {"NotifyAccess", "NotifyAccess=main", "oomstress sends READY=1 from its main process"},
    {"WorkingDirectory", "WorkingDirectory=", "the folder may not exist in the guest"},
    {"RootDirectory", "RootDirectory=", "the guest has no such tree"},
    {"RootImage", "RootImage=", "the guest has no such image"},
    {"EnvironmentFile", "EnvironmentFile=", "the file may not exist in the guest"},
    {"ReadWritePaths", "ReadWritePaths=", "the paths may not exist in the guest"},
    {"ReadOnlyPaths", "ReadOnlyPaths=", "the paths may not exist in the guest"},
    {"InaccessiblePaths", "InaccessiblePaths=", "the paths may not exist in the guest"},
    {"ExecPaths", "ExecPaths=", "oomstress runs from the payload disk"},
    {"NoExecPaths", "NoExecPaths=", "oomstress runs from the payload disk"},
    {"BindPaths", "BindPaths=", "the paths may not exist in the guest"},
    {"BindReadOnlyPaths", "BindReadOnlyPaths=", "the paths may not exist in the guest"},
    {"TimeoutStartSec", "TimeoutStartSec=90s", "oomstress reaches its baseline slower in an emulated guest"},
};

const Neutral* serviceReset(std::string_view key) {
  for (const auto& n : kServiceResets)
    if (n.key == key) return &n;
  return nullptr;
}


// Directives whose empty assignment systemd takes as "back to the default".
bool emptyResets(std::string_view key) {
  return key == "OOMScoreAdjust" || key == "Slice" || startsWith(key, "Memory");
}

std::string at(const UnitAssignment& a) { return placeOf(a); }

// One file, read once: as parsed, and its bytes as the guest gets them.
struct ReadFile {
  UnitFileText parsed;
  std::string text;
};

// Where one service's files are read: below `root` only, paths shown as `base`
// names them, bytes counted against the scenario's budget.
struct Reading {
  const ConfinedDir& root;
  const fs::path& base;
  UnitFileBudget& budget;
  std::vector<Error>& errors;

  std::string shown(const fs::path& relative) const { return (base / relative).lexically_normal().string(); }
  void error(const fs::path& relative, std::string message) const {
    errors.push_back(Error{shown(relative), std::move(message)});
  }
};

std::string budgetSpent() {
  return "the scenario's unit files and drop-ins together exceed " + formatSize(limits::kMaxUnitFileBytesTotal) +
         " (" + std::to_string(limits::kMaxUnitFileBytesTotal) + " bytes), oomharness's limit; expected fewer or "
         "smaller files";
}

// Counted against the budget once read: a file that takes more than is left
// spends it, and no later file is opened.
bool withinBudget(const Reading& r, const fs::path& relative, std::uint64_t bytes) {
  if (r.budget.spent) return false;
  if (bytes <= r.budget.bytes_left) {
    r.budget.bytes_left -= bytes;
    return true;
  }
  r.budget.spent = true;
  r.error(relative, budgetSpent() + " (" + std::to_string(bytes) + " bytes, " +
                        std::to_string(r.budget.bytes_left) + " left)");
  return false;
}

std::optional<ReadFile> readOne(const Reading& r, const fs::path& relative) {
  if (r.budget.spent) return std::nullopt;
  auto text = r.root.read(relative, kMaxUnitFileBytes, "unit file");
  if (!text) {
    r.errors.push_back(text.error());
    return std::nullopt;
  }
  if (text->find('\0') != std::string::npos) {
    r.error(relative, "not a text file (it contains NUL bytes)");
    return std::nullopt;
  }
  if (!withinBudget(r, relative, text->size())) return std::nullopt;
  UnitFileText parsed = parseUnitFile(*text, r.shown(relative));
  return ReadFile{std::move(parsed), std::move(*text)};
}

// The drop-ins systemd reads in a NAME.d folder below the root: its *.conf in
// file-name order, each looked at below the root too; masked ones (links to
// /dev/null) left out, as systemd skips them. At most kMaxDropInsPerFolder.
std::vector<fs::path> confsIn(const Reading& r, const fs::path& folder) {
  auto names = r.root.list(folder);
  if (!names) {
    r.errors.push_back(names.error());
    return {};
  }
  std::vector<fs::path> confs;
  for (const auto& name : *names) {
    if (name.size() <= 5 || !endsWith(name, ".conf")) continue;
    const auto kind = r.root.kind(folder / name);
    if (!kind) r.errors.push_back(kind.error());
    else if (*kind != ConfinedDir::Kind::masked && *kind != ConfinedDir::Kind::missing) confs.push_back(folder / name);
  }
  if (confs.size() > limits::kMaxDropInsPerFolder) {
    r.error(folder, std::to_string(confs.size()) + " *.conf drop-ins; expected at most " +
                        std::to_string(limits::kMaxDropInsPerFolder) + " in one folder");
    return {};
  }
  return confs;
}

InstalledFile installed(ReadFile f, const std::string& guest_path) {
  return InstalledFile{f.parsed.path, guest_path, std::move(f.text)};
}

}  // namespace

UnitFileBudget::UnitFileBudget() : bytes_left(limits::kMaxUnitFileBytesTotal) {}

const PackagedUnit* PackagedUnits::find(const std::string& package, const std::string& unit) const {
  for (const auto& u : units)
    if (u.unit == unit && std::find(u.extracted_for.begin(), u.extracted_for.end(), package) != u.extracted_for.end())
      return &u;
  return nullptr;
}

std::vector<std::string> PackagedUnits::unitsOf(const std::string& package) const {
  std::vector<std::string> names;
  for (const auto& u : units)
    if (std::find(u.extracted_for.begin(), u.extracted_for.end(), package) != u.extracted_for.end())
      names.push_back(u.unit);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<ServiceFileRefs> unitsTreeRefs(const fs::path& dir, const std::string& service) {
  ServiceFileRefs refs;
  refs.base = dir;
  refs.slice_dirs = {"."};
  auto root = ConfinedDir::open(dir);
  if (!root) return std::nullopt;
  // Anything of the name but nothing at all: reading it says what is wrong (a
  // link out of the tree, a loop, a mask).
  auto present = [&](const fs::path& name) {
    const auto kind = root->kind(name);
    return !kind || *kind != ConfinedDir::Kind::missing;
  };
  const std::string unit = service + ".service";
  if (present(unit)) refs.unit_file = unit;
  // The type's, the prefixes' and the unit's own drop-in folders (dropInFolderNames).
  for (const auto& folder : dropInFolderNames(unit))
    if (present(folder)) refs.drop_ins.push_back(folder);
  if (!refs.unit_file && refs.drop_ins.empty()) return std::nullopt;
  return refs;
}

namespace {

// A drop_ins entry: the *.conf files it stands for (a folder's, or the file itself).
std::vector<fs::path> dropInEntry(const Reading& r, const fs::path& entry, const std::string& where) {
  const auto kind = r.root.kind(entry);
  if (!kind) {
    r.errors.push_back(kind.error());
    return {};
  }
  if (*kind == ConfinedDir::Kind::directory) {
    auto confs = confsIn(r, entry);
    if (confs.empty()) r.error(entry, "no *.conf drop-ins in this folder");
    return confs;
  }
  if (entry.extension() != ".conf") {
    r.errors.push_back(Error{where + ".drop_ins", "expected a NAME.service.d folder or a *.conf file; got " +
                                                      r.shown(entry)});
    return {};
  }
  if (*kind == ConfinedDir::Kind::masked) return {};  // systemd skips a masked drop-in
  if (*kind == ConfinedDir::Kind::missing) {
    r.error(entry, "no such file or folder");
    return {};
  }
  return {entry};
}

// The unit file itself; a mask (a link to /dev/null) is refused: systemd would not load the unit.
std::optional<UnitFileText> readUnitFileOf(const Reading& r, const fs::path& relative,
                                           std::map<std::string, std::string>& texts) {
  const auto kind = r.root.kind(relative);
  if (kind && *kind == ConfinedDir::Kind::masked) {
    r.error(relative, "masked (a link to /dev/null): systemd would not load the unit; expected the unit file under test");
    return std::nullopt;
  }
  auto f = readOne(r, relative);
  if (!f) return std::nullopt;
  texts[f->parsed.path] = std::move(f->text);
  return std::move(f->parsed);
}

// A service's unit file and drop-ins as systemd would read them: of two drop-ins of one
// name, the one in the more specific folder; in file-name order. `texts` keeps each
// file's bytes by its parsed path: they go to the guest exactly as read.
UnitSources readSources(const std::string& unit_name, const ServiceFileRefs& refs, const Reading& r,
                        const std::string& where, std::map<std::string, std::string>& texts) {
  UnitSources sources;
  sources.name = unit_name;
  if (refs.packaged_unit) {
    const PackagedUnit& p = *refs.packaged_unit;
    sources.unit_file = parseUnitFile(p.text, p.guest_path);
    texts[p.guest_path] = p.text;
  } else if (refs.unit_file) {
    sources.unit_file = readUnitFileOf(r, *refs.unit_file, texts);
  }
  // File name -> (folder specificity, index in sources.drop_ins): of two drop-ins with
  // the same name, the one in the more specific folder is the one systemd reads.
  std::map<std::string, std::pair<int, std::size_t>> drop_in_names;
  const int own = static_cast<int>(dropInFolderNames(unit_name).size()) - 1;
  for (const auto& d : refs.drop_ins) {
    for (const auto& c : dropInEntry(r, d, where)) {
      const std::string name = c.filename().string();
      if (name >= kHarnessDropInName) {
        r.error(c, "sorts after oomharness's own drop-in " + std::string(kHarnessDropInName) +
                       ", which must be applied last; rename it");
        continue;
      }
      // "service.d", "api-.service.d": less specific than the unit's own folder; any
      // other folder (or a file given alone) counts as the unit's own.
      int specificity = dropInSpecificity(unit_name, c.parent_path().filename().string());
      if (specificity < 0) specificity = own;
      const auto seen = drop_in_names.find(name);
      if (seen != drop_in_names.end() && seen->second.first == specificity) {
        r.error(c, "a drop-in named " + name + " is also given as " + sources.drop_ins[seen->second.second].path +
                       "; the guest has one " + unit_name + ".d folder");
        continue;
      }
      if (seen != drop_in_names.end() && seen->second.first > specificity) continue;  // shadowed
      auto f = readOne(r, c);
      if (!f) continue;
      texts[f->parsed.path] = std::move(f->text);
      if (seen != drop_in_names.end()) {  // shadows the less specific one
        sources.drop_ins[seen->second.second] = std::move(f->parsed);
        seen->second.first = specificity;
      } else {
        drop_in_names[name] = {specificity, sources.drop_ins.size()};
        sources.drop_ins.push_back(std::move(f->parsed));
      }
    }
  }
  std::stable_sort(sources.drop_ins.begin(), sources.drop_ins.end(), [](const auto& a, const auto& b) {
    return fs::path(a.path).filename() < fs::path(b.path).filename();
  });
  return sources;
}

// Syntax systemd would ignore, and each table directive's value checked where it is;
// what the harness drop-in resets (neutralized) and what is left to systemd.
void classifyAssignments(const UnitSources& sources, bool own_command, ServiceFilesResult& out) {
  auto& errors = out.errors;
  std::set<std::string> unit_resets;
  for (const auto* file : sources.files()) {
    for (const auto& p : file->problems)
      errors.push_back(Error{file->path + ":" + std::to_string(p.line), p.message});
    for (const auto& a : file->assignments) {
      if (a.section == "Install") continue;
      const DirectiveInfo* info = supportedDirective(a.key);
      if (info && a.key != "Type") {
        if (a.section != info->section) {
          errors.push_back(Error{at(a), a.key + "= belongs in [" + std::string(info->section) +
                                            "]; systemd ignores it in [" + unitTextExcerpt(a.section) + "]"});
        } else if (a.value.empty()) {
          if (!emptyResets(a.key))
            errors.push_back(Error{at(a), a.key + "= with no value: systemd refuses it; expected " +
                                              std::string(info->accepts)});
        } else if (auto d = toDbusProperty(a.key, a.value); !d) {
          const std::string systemd = unitValueProblem(a.key, a.value);
          errors.push_back(Error{at(a), a.key + "=" + unitTextExcerpt(a.value) + ": " +
                                            (systemd.empty() ? "systemd accepts it, oomharness does not yet: "
                                                             : "systemd refuses it (" + systemd + "): ") +
                                            d.error().message});
        }
        continue;
      }
      if (own_command && (a.section == "Service" || startsWith(a.key, "Condition") || startsWith(a.key, "Assert"))) {
        out.files.passed_through.push_back(SettingOrigin{a.key, a.value, at(a)});
        continue;
      }
      if (a.section == "Service" && (a.key == "ExecStart" || a.key == "Type")) {
        out.files.neutralized.push_back(SettingOrigin{a.key, a.value, at(a)});
        continue;
      }
      if (a.section == "Service") {
        if (const Neutral* n = serviceReset(a.key)) {
          out.files.neutralized.push_back(SettingOrigin{a.key, a.value, at(a)});
          if (std::find(out.files.reset_lines.begin(), out.files.reset_lines.end(), n->reset) ==
              out.files.reset_lines.end())
            out.files.reset_lines.emplace_back(n->reset);
          continue;
        }
      }
      if (a.section == "Unit" && (startsWith(a.key, "Condition") || startsWith(a.key, "Assert"))) {
        // An empty Condition*= (Assert*=) clears every condition (assertion) of the unit.
        out.files.neutralized.push_back(SettingOrigin{a.key, a.value, at(a)});
        unit_resets.insert(startsWith(a.key, "Condition") ? "ConditionPathExists=" : "AssertPathExists=");
        continue;
      }
      if (a.section == "Unit" && (a.key == "Requires" || a.key == "Requisite" || a.key == "BindsTo"))
        for (const auto& dep : words(a.value))
          if (std::find(out.files.hard_dependencies.begin(), out.files.hard_dependencies.end(), dep) ==
              out.files.hard_dependencies.end())
            out.files.hard_dependencies.emplace_back(dep);
      out.files.passed_through.push_back(SettingOrigin{a.key, a.value, at(a)});
    }
  }
  out.files.unit_reset_lines.assign(unit_resets.begin(), unit_resets.end());

}

// The merge: per table directive, the last assignment in its section wins; the
// scenario's inline settings come last (the harness drop-in), so they win over all.
void mergeSettings(const UnitSources& sources, const std::vector<UnitProperty>& inline_unit, const std::string& where,
                   ServiceFilesResult& out) {
  const auto merged = effectiveSettings(sources, [](const UnitAssignment& a) {
    const DirectiveInfo* info = supportedDirective(a.key);
    return info && a.key != "Type" && a.section == info->section &&
           (a.value.empty() ? emptyResets(a.key) : bool(toDbusProperty(a.key, a.value)));
  });
  std::vector<std::pair<const UnitAssignment*, std::string>> winners;  // in file order
  for (const auto& [key, setting] : merged) {
    for (const auto* h : setting.history)
      if (h != setting.winner) out.files.overridden.push_back(SettingOrigin{h->key, h->value, at(*h)});
    if (setting.winner) winners.emplace_back(setting.winner, key);
  }
  std::map<std::string, std::size_t> file_index;  // path -> position in the order applied
  for (const auto* f : sources.files()) file_index.emplace(f->path, file_index.size());
  auto fileOrder = [&](const UnitAssignment* a) { return std::make_pair(file_index[a->file], a->line); };
  std::sort(winners.begin(), winners.end(),
            [&](const auto& x, const auto& y) { return fileOrder(x.first) < fileOrder(y.first); });
  for (const auto& [a, key] : winners) {
    out.unit.push_back(UnitProperty{a->key, a->value});
    out.files.effective.push_back(SettingOrigin{a->key, a->value, at(*a)});
  }
  // The scenario's inline settings come last (the harness drop-in), so they win.
  for (const auto& p : inline_unit) {
    const std::string origin = "scenario " + where + ".unit." + p.name;
    auto it = std::find_if(out.unit.begin(), out.unit.end(), [&](const auto& u) { return u.name == p.name; });
    if (it != out.unit.end()) {
      const auto idx = static_cast<std::size_t>(it - out.unit.begin());
      out.files.overridden.push_back(out.files.effective[idx]);
      *it = p;
      out.files.effective[idx] = SettingOrigin{p.name, p.value, origin};
    } else {
      out.unit.push_back(p);
      out.files.effective.push_back(SettingOrigin{p.name, p.value, origin});
    }
  }

}

// A packaged unit's lines are cited by its guest path and line, and the package it
// came from: "/lib/systemd/system/nginx.service:26 (package nginx-common 1.22.1-9)".
void citePackage(const PackagedUnit& p, ServiceFilesResult& out) {
  const std::string prefix = p.guest_path + ":";
  auto cite = [&](std::string& where) {
    if (startsWith(where, prefix)) where += " (" + p.origin() + ")";
  };
  for (auto* list : {&out.files.effective, &out.files.overridden, &out.files.neutralized, &out.files.passed_through})
    for (auto& o : *list) cite(o.where);
  for (auto& e : out.errors) cite(e.where);
}

// The unit file as the guest gets it: the scenario's, written to /etc/systemd/system;
// a package's, already where the package put it; or, for drop-ins alone, an empty one.
InstalledFile unitFileInstalled(const UnitSources& sources, const ServiceFileRefs& refs,
                                std::map<std::string, std::string>& texts) {
  const std::string etc_path = std::string(kGuestUnitDir) + "/" + sources.name;
  if (refs.packaged_unit)
    return InstalledFile{refs.packaged_unit->origin(), refs.packaged_unit->guest_path, refs.packaged_unit->text, true};
  if (sources.unit_file) return InstalledFile{sources.unit_file->path, etc_path, texts[sources.unit_file->path]};
  // systemd loads no unit from drop-ins alone ("Unit not found"): a base file, empty but for its name
  return InstalledFile{"oomharness (no unit_file given)", etc_path,
                       "# Written by oomharness: the scenario gives drop-ins only.\n[Unit]\n"
                       "Description=" + sources.name + " (drop-ins under test)\n"};
}

// The slice the unit runs in, if its file is in the tree: installed as it is.
void addSliceFiles(const ServiceFileRefs& refs, const Reading& r, ServiceFilesResult& out) {
  for (const auto& p : out.unit) {
    if (p.name != "Slice") continue;
    for (const auto& dir : refs.slice_dirs) {
      const fs::path file = (dir / p.value).lexically_normal();
      const auto kind = r.root.kind(file);
      if (!kind) r.errors.push_back(kind.error());
      else if (*kind == ConfinedDir::Kind::regular)
        if (auto f = readOne(r, file))
          out.files.files.push_back(installed(std::move(*f), std::string(kGuestUnitDir) + "/" + p.value));
      const fs::path folder = (dir / (p.value + ".d")).lexically_normal();
      const auto folder_kind = r.root.kind(folder);
      if (!folder_kind) r.errors.push_back(folder_kind.error());
      else if (*folder_kind == ConfinedDir::Kind::directory)
        for (const auto& c : confsIn(r, folder))
          if (auto f = readOne(r, c))
            out.files.files.push_back(
                installed(std::move(*f), std::string(kGuestUnitDir) + "/" + p.value + ".d/" + c.filename().string()));
      break;
    }
  }
}

}  // namespace

ServiceFilesResult readServiceFiles(const std::string& service, const ServiceFileRefs& refs,
                                    const std::vector<UnitProperty>& inline_unit, const std::string& where) {
  UnitFileBudget budget;
  return readServiceFiles(service, refs, inline_unit, where, budget);
}

ServiceFilesResult readServiceFiles(const std::string& service, const ServiceFileRefs& refs,
                                    const std::vector<UnitProperty>& inline_unit, const std::string& where,
                                    UnitFileBudget& budget) {
  ServiceFilesResult out;
  auto root = ConfinedDir::open(refs.base);
  if (!root) {
    out.errors.push_back(root.error());
    return out;
  }
  const Reading r{*root, refs.base, budget, out.errors};
  const std::string unit_name = service + ".service";
  const std::string drop_in_dir = std::string(kGuestUnitDir) + "/" + unit_name + ".d/";
  std::map<std::string, std::string> texts;  // parsed path -> bytes
  const UnitSources sources = readSources(unit_name, refs, r, where, texts);
  if (!sources.unit_file && sources.drop_ins.empty()) return out;

  out.files.files.push_back(unitFileInstalled(sources, refs, texts));
  for (const auto& d : sources.drop_ins)
    out.files.files.push_back(InstalledFile{d.path, drop_in_dir + fs::path(d.path).filename().string(), texts[d.path]});

  classifyAssignments(sources, refs.own_command, out);
  mergeSettings(sources, inline_unit, where, out);
  if (refs.packaged_unit) citePackage(*refs.packaged_unit, out);
  addSliceFiles(refs, r, out);
  return out;
}

std::string harnessDropIn(const ServiceFiles& files, const std::vector<UnitProperty>& inline_unit,
                          const std::vector<std::string>& exec_start, const std::string& type) {
  std::string unit_section, service_section;
  for (const auto& line : files.unit_reset_lines) unit_section += line + "\n";
  if (!exec_start.empty()) service_section += "Type=" + type + "\nExecStart=\n";
  std::string command;
  // systemd's own quoting: each word in double quotes, with \ and " escaped.
  for (const auto& arg : exec_start) {
    std::string quoted = "\"";
    for (char c : arg) {
      if (c == '"' || c == '\\') quoted += '\\';
      if (c == '%') quoted += '%';  // a specifier otherwise
      quoted += c;
    }
    command += (command.empty() ? "" : " ") + quoted + "\"";
  }
  if (!exec_start.empty()) service_section += "ExecStart=" + command + "\n";
  for (const auto& line : files.reset_lines) service_section += line + "\n";
  for (const auto& p : inline_unit) {
    if (p.name == "Type") continue;
    const DirectiveInfo* info = supportedDirective(p.name);
    std::string& section = info && info->section == "Unit" ? unit_section : service_section;
    section += p.name + "=" + p.value + "\n";
  }
  std::string text =
      "# Written by oomharness: the test's own drop-in, applied last. It runs oomstress\n"
      "# instead of the service's program and resets what a bare guest cannot provide;\n"
      "# the scenario's inline settings follow.\n";
  if (!unit_section.empty()) text += "[Unit]\n" + unit_section;
  text += "[Service]\n" + service_section;
  return text;
}

}  // namespace oom
