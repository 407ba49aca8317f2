// `capture`: options, then read the host, then print and write.
#include "capture/command.hpp"

#include <filesystem>
#include <fstream>

#include "capture/host_reader.hpp"
#include "capture/output.hpp"
#include "capture/unit_copy.hpp"
#include "oom/text.hpp"
#include "scenario/parse.hpp"

namespace oom {
namespace fs = std::filesystem;

const char* const kCaptureUsage =
    "usage: capture [--scenario FILE] [--units DIR] [--json] [--all] [--top N]\n"
    "  reads this host's systemd services, processes and recent OOM kills (nothing is changed)\n"
    "  --scenario FILE  write a scenario skeleton of the running services (\"-\": to stdout)\n"
    "  --units DIR      copy their unit files and drop-ins into DIR (new or empty), as /etc/systemd/system\n"
    "  --json           print the capture as JSON (oomharness-capture/1) instead of the table\n"
    "  --all            include loaded services that are not running\n"
    "  --top N          victim rows in the table (default 20; 0: all)\n";

Expected<CaptureOptions> parseCaptureArgs(const std::vector<std::string>& args) {
  CaptureOptions o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto next = [&]() -> Expected<std::string> {
      if (i + 1 >= args.size()) return fail(flag, "needs a value");
      return args[++i];
    };
    if (flag == "--json") o.json = true;
    else if (flag == "--all") o.all = true;
    else if (flag == "--scenario" || flag == "--units" || flag == "--top") {
      auto v = next();
      if (!v) return tl::unexpected(v.error());
      if (flag == "--scenario") o.scenario_file = *v;
      else if (flag == "--units") o.units_dir = *v;
      else if (auto n = parseNumber<std::size_t>(*v); n && *n <= 100000) o.top = *n;
      else return fail("--top", "expected a number of rows (0: all); got \"" + printable(*v) + "\"");
    } else {
      return fail(flag, "unknown option");
    }
  }
  return o;
}

namespace {

int bad(std::FILE* err, const std::string& what) {
  std::fprintf(err, "oomharness capture: %s\n", printable(what).c_str());
  return kCaptureBadInput;
}

// Output places are checked before anything is read, so a typo costs nothing.
std::string whyNotWritable(const CaptureOptions& o) {
  if (!o.scenario_file.empty() && o.scenario_file != "-") {
    const fs::path p(o.scenario_file);
    std::error_code ec;
    if (fs::is_directory(p, ec)) return "--scenario " + o.scenario_file + ": is a folder; expected a file name";
    const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
    if (!fs::is_directory(parent, ec)) return "--scenario " + o.scenario_file + ": no folder " + parent.string();
  }
  if (!o.units_dir.empty()) {
    std::error_code ec;
    const fs::path d(o.units_dir);
    if (fs::exists(d, ec) && !fs::is_directory(d, ec)) return "--units " + o.units_dir + ": exists and is not a folder";
    if (fs::is_directory(d, ec) && !fs::is_empty(d, ec))
      return "--units " + o.units_dir + ": not empty; give a new or empty folder (no file is ever replaced)";
  }
  if (o.json && o.scenario_file == "-") return "--json and --scenario - both want stdout";
  return "";
}

}  // namespace

int runCapture(const CaptureOptions& o, std::FILE* out, std::FILE* err) {
  if (auto why = whyNotWritable(o); !why.empty()) return bad(err, why);
  const SysFs root(o.root);
  if (auto why = whyNotSystemd(root); !why.empty()) {
    std::fprintf(err, "oomharness capture: %s\n", why.c_str());
    return kCaptureNoHost;
  }
  auto bus = Bus::openSystem();
  if (!bus) {
    std::fprintf(err, "oomharness capture: %s\n", bus.error().str().c_str());
    return kCaptureNoHost;
  }
  auto capture = captureHost(root, *bus, CaptureScope{o.all});
  if (!capture) {
    std::fprintf(err, "oomharness capture: %s\n", capture.error().str().c_str());
    return kCaptureNoHost;
  }

  if (!o.scenario_file.empty()) {
    auto skeleton = scenarioSkeleton(*capture);
    if (!skeleton) {
      std::fprintf(err, "oomharness capture: %s\n", skeleton.error().str().c_str());
      return kCaptureNoHost;
    }
    const std::string text =
        skeleton->scenario.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    // What is written must pass `oomharness check`: checked here, never assumed.
    const auto check = parseScenario(text, o.scenario_file);
    if (!check.ok()) {
      for (const auto& e : check.errors) std::fprintf(err, "oomharness capture: skeleton: %s\n", printable(e.str()).c_str());
      return kCaptureNoHost;
    }
    if (o.scenario_file == "-") {
      std::fputs(text.c_str(), out);
    } else {
      std::ofstream file(o.scenario_file, std::ios::trunc);
      file << text;
      if (!file.flush()) return bad(err, "--scenario " + o.scenario_file + ": cannot be written");
      std::fprintf(err, "capture: wrote %s (%zu services)\n", o.scenario_file.c_str(),
                   check.scenario->services.size());
    }
    for (const auto& l : skeleton->left_out) std::fprintf(err, "capture: left out of the scenario: %s\n", printable(l).c_str());
  }

  if (!o.units_dir.empty()) {
    const auto plan = planUnitCopies(capture->services);
    auto written = copyUnitFiles(plan, root, o.units_dir);
    if (!written) return bad(err, "--units: " + written.error().str());
    std::fprintf(err, "capture: copied %zu unit files and drop-ins into %s\n", written->size(), o.units_dir.c_str());
    for (const auto& n : plan.not_copied) std::fprintf(err, "capture: not copied: %s\n", printable(n).c_str());
  }

  if (o.json) std::fprintf(out, "%s\n", nlohmann::json(*capture).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else if (o.scenario_file != "-") std::fputs(captureTable(*capture, o.top).c_str(), out);
  return kCaptureOk;
}

}  // namespace oom
