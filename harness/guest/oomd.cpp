#include "guest/oomd.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "guest/command.hpp"
#include "oom/text.hpp"
#include "timeline/message_ids.hpp"

namespace oom {
namespace fs = std::filesystem;

Expected<void> prepareOomd(const SysFs& sys, const std::string& conf) {
  for (const std::string unit : {"systemd-oomd.service", "systemd-oomd.socket"}) {
    const fs::path link = sys.path("etc/systemd/system/" + unit);
    std::error_code ec;
    if (fs::is_symlink(link, ec) && fs::read_symlink(link, ec) == "/dev/null") fs::remove(link, ec);
    if (ec) return fail(link.string(), "cannot unmask: " + ec.message());
  }
  const fs::path file = sys.path(kOomdConfDropIn);
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  std::ofstream out(file, std::ios::trunc);
  out << conf;
  out.close();
  if (ec || !out) return fail(file.string(), "cannot write the systemd-oomd configuration");
  return {};
}

Expected<ChildCommand> startOomctl() { return ChildCommand::start({"oomctl"}, "oomctl"); }

Expected<std::string> runOomctl() { return runGuestCommand("oomctl", "oomctl"); }

OomdStatus parseOomctl(std::string_view text) {
  OomdStatus s;
  s.text = std::string(text);
  std::vector<std::string>* list = nullptr;
  for (const std::string_view line : splitLines(text)) {
    const std::string_view t = trim(line);
    if (t.rfind("Swap Monitored CGroups", 0) == 0) list = &s.swap_cgroups;
    else if (t.rfind("Memory Pressure Monitored CGroups", 0) == 0) list = &s.pressure_cgroups;
    else if (!line.empty() && line.front() != '\t' && line.front() != ' ') list = nullptr;
    else if (list && t.rfind("Path: ", 0) == 0) list->emplace_back(trim(t.substr(6)));
  }
  return s;
}

}  // namespace oom
