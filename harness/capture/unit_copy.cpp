// The files behind the captured settings, copied as a /etc/systemd/system tree.
#include "capture/unit_copy.hpp"

#include <map>
#include <system_error>

namespace oom {
namespace fs = std::filesystem;

namespace {

bool plainName(const std::string& name) { return !name.empty() && name != "." && name != ".."; }

}  // namespace

UnitCopyPlan planUnitCopies(const std::vector<CapturedService>& services) {
  UnitCopyPlan plan;
  std::map<std::string, std::string> source_at;  // relative -> source already planned
  auto add = [&](const std::string& unit, const std::string& source, const std::string& relative) {
    const auto [it, inserted] = source_at.emplace(relative, source);
    if (inserted) plan.copies.push_back({unit, source, relative});
    else if (it->second != source)
      plan.not_copied.push_back(unit + ": " + source + " not copied: " + relative + " is already " + it->second);
  };
  for (const auto& s : services) {
    if (s.load_state == "masked" || s.fragment_path == "/dev/null") {
      plan.not_copied.push_back(s.unit + ": masked (FragmentPath " +
                                (s.fragment_path.empty() ? std::string("none") : s.fragment_path) + ")");
      continue;
    }
    if (s.fragment_path.empty()) {
      plan.not_copied.push_back(s.unit + ": no unit file (systemd gives no FragmentPath)");
    } else {
      const std::string name = fs::path(s.fragment_path).filename().string();
      if (plainName(name)) add(s.unit, s.fragment_path, name);
      else plan.not_copied.push_back(s.unit + ": FragmentPath " + s.fragment_path + " names no file");
    }
    for (const auto& dropin : s.drop_in_paths) {
      const fs::path p(dropin);
      const std::string folder = p.parent_path().filename().string(), name = p.filename().string();
      if (plainName(folder) && plainName(name)) add(s.unit, dropin, folder + "/" + name);
      else plan.not_copied.push_back(s.unit + ": drop-in " + dropin + " is not in a NAME.d folder");
    }
  }
  return plan;
}

Expected<std::vector<std::string>> copyUnitFiles(const UnitCopyPlan& plan, const SysFs& root, const fs::path& dir) {
  std::vector<std::string> written;
  for (const auto& c : plan.copies) {
    const fs::path target = dir / c.relative;
    std::error_code ec;
    fs::create_directories(target.parent_path(), ec);
    if (ec) return fail(target.parent_path().string(), "cannot create the folder: " + ec.message());
    if (fs::exists(fs::symlink_status(target)))
      return fail(target.string(), "already exists; --units writes into a new or empty folder and never replaces a file");
    fs::copy_file(root.path(c.source), target, fs::copy_options::none, ec);
    if (ec) return fail(c.source, "cannot copy to " + target.string() + ": " + ec.message());
    written.push_back(target.string());
  }
  return written;
}

}  // namespace oom
