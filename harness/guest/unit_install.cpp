#include "guest/unit_install.hpp"

#include <systemd/sd-journal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "timeline/timeline.hpp"
#include "oom/text.hpp"

namespace oom {
namespace fs = std::filesystem;
namespace {

// The folders systemd's system manager loads units from, highest priority first.
constexpr const char* kUnitDirs[] = {"etc/systemd/system", "run/systemd/system", "lib/systemd/system",
                                     "usr/lib/systemd/system"};


Expected<void> writeText(const fs::path& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return fail(path.parent_path().string(), "cannot create the folder: " + ec.message());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return fail(path.string(), "cannot write the unit file");
  return {};
}

std::string origin(const SettingOrigin& o) { return o.directive + "=" + o.value + " (" + o.where + ")"; }

}  // namespace

// A file a package put in the image: the host merged and cited its text as the image
// build copied it out; the unit systemd loads must be that text, or the plan tested another.
Expected<void> checkInImage(const SysFs& fs, const InstalledFile& f) {
  const auto text = fs.readFile(f.guest_path.substr(1));
  if (!text) return fail(f.guest_path, "the unit file of " + f.source + " is not in the guest (" + text.error().reason() + ")");
  if (*text != f.text)
    return fail(f.guest_path, "the guest's file is not the text of " + f.source +
                                  " the plan was made from; the image changed after the scenario was read");
  return {};
}

Expected<std::vector<std::string>> installUnitFiles(const SysFs& fs, const PlannedUnit& unit) {
  for (const auto& f : unit.files.files) {
    auto done = f.in_image ? checkInImage(fs, f) : writeText(fs.path(f.guest_path.substr(1)), f.text);
    if (!done) return tl::unexpected(done.error());
  }
  std::vector<std::string> stubs;
  for (const auto& dep : unit.files.hard_dependencies) {
    const bool service = endsWith(dep, ".service"), target = endsWith(dep, ".target");
    if (!service && !target) continue;
    bool present = false;
    for (const char* dir : kUnitDirs) {
      std::error_code ec;
      present = present || fs::exists(fs.path(std::string(dir) + "/" + dep), ec);
    }
    if (present) continue;
    std::string text = "[Unit]\nDescription=oomharness stand-in for " + dep + " (not in the guest)\n";
    if (service) text += "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n";
    if (auto w = writeText(fs.path(std::string(kStubUnitDir) + "/" + dep), text); !w)
      return tl::unexpected(w.error());
    stubs.push_back(dep + ": not in the guest; a stand-in that does nothing is /" + kStubUnitDir + "/" + dep);
  }
  return stubs;
}

std::vector<std::string> unitFileWarnings(const std::vector<std::string>& paths, std::uint64_t since_realtime_usec) {
  std::vector<std::string> out;
  sd_journal* j = nullptr;
  if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0) {
    out.push_back("cannot open the journal to read what systemd said about the unit files");
    return out;
  }
  for (const auto& p : paths) sd_journal_add_match(j, ("CONFIG_FILE=" + p).c_str(), 0);
  sd_journal_seek_realtime_usec(j, since_realtime_usec);
  auto field = [&](const char* name) -> std::string {
    const void* data = nullptr;
    size_t len = 0;
    if (sd_journal_get_data(j, name, &data, &len) < 0) return "";
    std::string s(static_cast<const char*>(data), len);
    const auto eq = s.find('=');
    return eq == std::string::npos ? "" : s.substr(eq + 1);
  };
  while (sd_journal_next(j) > 0 && out.size() < 100) {
    const std::string file = field("CONFIG_FILE"), line = field("CONFIG_LINE"), message = field("MESSAGE");
    std::string text = message;
    // systemd writes "file:line: message" already; keep its words, add the place if missing.
    if (text.rfind(file, 0) != 0) text = file + (line.empty() ? "" : ":" + line) + ": " + message;
    if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(text);
  }
  sd_journal_close(j);
  return out;
}

void describeUnitFiles(const PlannedUnit& unit, UnitSetup& setup) {
  for (const auto& f : unit.files.files) setup.unit_files.push_back(f.guest_path + " (from " + f.source + ")");
  for (const auto& o : unit.files.effective) setup.effective.push_back(origin(o));
  for (const auto& o : unit.files.overridden) setup.overridden.push_back(origin(o));
  for (const auto& o : unit.files.neutralized)
    setup.neutralized.push_back(origin(o) + (o.directive == "ExecStart" || o.directive == "Exec"
                                                 ? ": oomstress runs instead"
                                             : o.directive == "Image" ? ": the built-in image runs instead"
                                             : o.directive == "Notify"
                                                 ? ": Notify=true, READY=1 from oomstress once its baseline is held"
                                             : o.directive == "Type"    ? ": Type= comes from the scenario (oomstress)"
                                                                        : ": reset by the harness drop-in"));
  for (const auto& o : unit.files.passed_through) setup.passed_through.push_back(origin(o));
  for (const auto& o : unit.files.quadlet) setup.passed_through.push_back(origin(o) + ": left to Quadlet and Podman");
}

}  // namespace oom
