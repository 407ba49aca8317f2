// Real unit files in a scenario: read, merged as systemd merges them, checked
// against the directive table with file and line, and the harness drop-in that
// turns the unit into a test (docs/unit-files.md).
#include "scenario/unit_sources.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "oom/text.hpp"
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

std::string at(const UnitAssignment& a) {
  return a.file + ":" + std::to_string(a.line);
}

// One file, read once: as parsed, and its bytes as the guest gets them.
struct ReadFile {
  UnitFileText parsed;
  std::string text;
};

std::optional<ReadFile> readOne(const fs::path& p, std::vector<Error>& errors) {
  auto text = readUnitFileBytes(p);
  if (!text) {
    errors.push_back(text.error());
    return std::nullopt;
  }
  UnitFileText parsed = parseUnitFile(*text, p.lexically_normal().string());
  return ReadFile{std::move(parsed), std::move(*text)};
}

// The drop-ins systemd reads in a NAME.d folder (dropInConfs), or an error.
std::vector<fs::path> confsIn(const fs::path& dir, std::vector<Error>& errors) {
  std::error_code ec;
  auto out = dropInConfs(dir, ec);
  if (ec) errors.push_back(Error{dir.string(), "cannot list the drop-in folder: " + ec.message()});
  return out;
}

InstalledFile installed(ReadFile f, const std::string& guest_path) {
  return InstalledFile{f.parsed.path, guest_path, std::move(f.text)};
}

}  // namespace

std::optional<ServiceFileRefs> unitsTreeRefs(const fs::path& dir, const std::string& service) {
  ServiceFileRefs refs;
  refs.base = dir;
  refs.slice_dirs = {dir};
  std::error_code ec;
  const std::string unit = service + ".service";
  if (fs::is_regular_file(dir / unit, ec)) refs.unit_file = unit;
  // The type's, the prefixes' and the unit's own drop-in folders (dropInFolderNames).
  for (const auto& folder : dropInFolderNames(unit))
    if (fs::is_directory(dir / folder, ec)) refs.drop_ins.push_back(folder);
  if (!refs.unit_file && refs.drop_ins.empty()) return std::nullopt;
  return refs;
}

namespace {

// A service's unit file and drop-ins as systemd would read them: of two drop-ins of one
// name, the one in the more specific folder; in file-name order. `texts` keeps each
// file's bytes by its parsed path: they go to the guest exactly as read.
UnitSources readSources(const std::string& unit_name, const ServiceFileRefs& refs, const std::string& where,
                        std::map<std::string, std::string>& texts, std::vector<Error>& errors) {
  UnitSources sources;
  sources.name = unit_name;
  auto read = [&](const fs::path& full) -> std::optional<UnitFileText> {
    auto f = readOne(full, errors);
    if (!f) return std::nullopt;
    texts[f->parsed.path] = std::move(f->text);
    return std::move(f->parsed);
  };
  if (refs.unit_file) sources.unit_file = read((refs.base / *refs.unit_file).lexically_normal());
  // File name -> (folder specificity, index in sources.drop_ins): of two drop-ins with
  // the same name, the one in the more specific folder is the one systemd reads.
  std::map<std::string, std::pair<int, std::size_t>> drop_in_names;
  const int own = static_cast<int>(dropInFolderNames(unit_name).size()) - 1;
  for (const auto& d : refs.drop_ins) {
    const fs::path full = (refs.base / d).lexically_normal();
    std::error_code ec;
    std::vector<fs::path> confs;
    if (fs::is_directory(full, ec)) {
      confs = confsIn(full, errors);
      if (confs.empty()) errors.push_back(Error{full.string(), "no *.conf drop-ins in this folder"});
    } else if (full.extension() == ".conf") {
      confs.push_back(full);
    } else {
      errors.push_back(Error{where + ".drop_ins", "expected a NAME.service.d folder or a *.conf file; got " +
                                                      full.string()});
      continue;
    }
    for (const auto& c : confs) {
      const std::string name = c.filename().string();
      if (name >= kHarnessDropInName) {
        errors.push_back(Error{c.string(), "sorts after oomharness's own drop-in " +
                                               std::string(kHarnessDropInName) +
                                               ", which must be applied last; rename it"});
        continue;
      }
      // "service.d", "api-.service.d": less specific than the unit's own folder; any
      // other folder (or a file given alone) counts as the unit's own.
      int specificity = dropInSpecificity(unit_name, c.parent_path().filename().string());
      if (specificity < 0) specificity = own;
      const auto seen = drop_in_names.find(name);
      if (seen != drop_in_names.end() && seen->second.first == specificity) {
        errors.push_back(Error{c.string(), "a drop-in named " + name + " is also given as " +
                                               sources.drop_ins[seen->second.second].path +
                                               "; the guest has one " + unit_name + ".d folder"});
        continue;
      }
      if (seen != drop_in_names.end() && seen->second.first > specificity) continue;  // shadowed
      auto f = read(c.lexically_normal());
      if (!f) continue;
      if (seen != drop_in_names.end()) {  // shadows the less specific one
        sources.drop_ins[seen->second.second] = std::move(*f);
        seen->second.first = specificity;
      } else {
        drop_in_names[name] = {specificity, sources.drop_ins.size()};
        sources.drop_ins.push_back(std::move(*f));
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
void classifyAssignments(const UnitSources& sources, ServiceFilesResult& out) {
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
                                            "]; systemd ignores it in [" + a.section + "]"});
        } else if (a.value.empty()) {
          if (!emptyResets(a.key))
            errors.push_back(Error{at(a), a.key + "= with no value: systemd refuses it; expected " +
                                              std::string(info->accepts)});
        } else if (auto d = toDbusProperty(a.key, a.value); !d) {
          const std::string systemd = unitValueProblem(a.key, a.value);
          errors.push_back(Error{at(a), a.key + "=" + a.value + ": " +
                                            (systemd.empty() ? "systemd accepts it, oomharness does not yet: "
                                                             : "systemd refuses it (" + systemd + "): ") +
                                            d.error().message});
        }
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

// The slice the unit runs in, if its file is in the tree: installed as it is.
void addSliceFiles(const ServiceFileRefs& refs, ServiceFilesResult& out) {
  auto& errors = out.errors;
  for (const auto& p : out.unit) {
    if (p.name != "Slice") continue;
    for (const auto& dir : refs.slice_dirs) {
      const fs::path full = (refs.base / dir).lexically_normal();
      std::error_code ec;
      if (fs::is_regular_file(full / p.value, ec))
        if (auto f = readOne(full / p.value, errors))
          out.files.files.push_back(installed(std::move(*f), std::string(kGuestUnitDir) + "/" + p.value));
      if (fs::is_directory(full / (p.value + ".d"), ec))
        for (const auto& c : confsIn(full / (p.value + ".d"), errors))
          if (auto f = readOne(c, errors))
            out.files.files.push_back(
                installed(std::move(*f), std::string(kGuestUnitDir) + "/" + p.value + ".d/" + c.filename().string()));
      break;
    }
  }
}

}  // namespace

ServiceFilesResult readServiceFiles(const std::string& service, const ServiceFileRefs& refs,
                                    const std::vector<UnitProperty>& inline_unit, const std::string& where) {
  ServiceFilesResult out;
  const std::string unit_name = service + ".service";
  const std::string drop_in_dir = std::string(kGuestUnitDir) + "/" + unit_name + ".d/";
  std::map<std::string, std::string> texts;  // parsed path -> bytes
  const UnitSources sources = readSources(unit_name, refs, where, texts, out.errors);
  if (!sources.unit_file && sources.drop_ins.empty()) return out;

  if (sources.unit_file)
    out.files.files.push_back(InstalledFile{sources.unit_file->path, std::string(kGuestUnitDir) + "/" + unit_name,
                                            texts[sources.unit_file->path]});
  else  // systemd loads no unit from drop-ins alone ("Unit not found"): a base file, empty but for its name
    out.files.files.push_back(InstalledFile{"oomharness (no unit_file given)",
                                            std::string(kGuestUnitDir) + "/" + unit_name,
                                            "# Written by oomharness: the scenario gives drop-ins only.\n[Unit]\n"
                                            "Description=" + unit_name + " (drop-ins under test)\n"});
  for (const auto& d : sources.drop_ins)
    out.files.files.push_back(InstalledFile{d.path, drop_in_dir + fs::path(d.path).filename().string(), texts[d.path]});

  classifyAssignments(sources, out);
  mergeSettings(sources, inline_unit, where, out);
  addSliceFiles(refs, out);
  return out;
}

std::string harnessDropIn(const ServiceFiles& files, const std::vector<UnitProperty>& inline_unit,
                          const std::vector<std::string>& exec_start, const std::string& type) {
  std::string unit_section, service_section;
  for (const auto& line : files.unit_reset_lines) unit_section += line + "\n";
  service_section += "Type=" + type + "\n";
  service_section += "ExecStart=\n";
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
  service_section += "ExecStart=" + command + "\n";
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
