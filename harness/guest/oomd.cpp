#include "guest/oomd.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

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

Expected<std::string> runOomctl() {
  FILE* p = ::popen("oomctl 2>&1", "r");
  if (!p) return fail("oomctl", "cannot run it");
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0 && text.size() < 256 * 1024) text.append(buf, n);
  const int status = ::pclose(p);
  if (status != 0) return fail("oomctl", "exited with status " + std::to_string(status) + ": " + printable(text));
  return text;
}

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
