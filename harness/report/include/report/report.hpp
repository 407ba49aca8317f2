#pragma once
// A finished run, and the ways it is reported: result.json (everything,
// versioned, see RESULT-FORMAT.md), junit.xml (one testcase per check), a
// short human summary (also printed) and report.html (html_report.hpp). The
// last three are derived from what result.json holds, so `oomharness report`
// writes them again for an old run.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/verdict.hpp"
#include "oom/expected.hpp"
#include "oom/units.hpp"
#include "oom/version.hpp"
#include "plan/guest_plan.hpp"
#include "report/limits.hpp"
#include "scenario/scenario.hpp"
#include "timeline/timeline.hpp"

namespace oom {

constexpr const char* kResultFormat = "oomharness-result/1";

// What the VM layer knows about the run; plain fields so this stage needs no vm code.
struct VmFacts {
  std::string accelerator;       // "kvm" or "tcg"
  std::string qemu_version;
  std::string image;             // the image version's folder the guest booted from
  std::string image_recipe;      // "<release>-<recipe hash>": the recipe it was built from (as --version names it)
  std::string image_built_at;    // when that build of it was made (ISO 8601 UTC, from its image.json)
  double image_build_sec = 0;    // how long that build took (from its image.json)
  // guest.packages as installed in the image: package -> dpkg version.
  std::map<std::string, std::string> packages;
  // How the guest started: "restored" (a saved guest, vm/saved_guest.hpp) or
  // "cold boot"; "" in files written before guests were saved.
  std::string start;
  // Why it was not simply restored: the saved guest made for this run (what it
  // cost), a cold boot asked for, none to be had (why), a restore that failed
  // and the cold boot after it. "" when a saved guest was restored.
  std::string start_note;
  double boot_sec = 0;           // qemu launch (or restore) to the job's command
  double run_sec = 0;            // power-on to qemu exit
  bool timed_out = false;        // the host-side timeout fired
  std::uint64_t host_memory_reserved_bytes = 0;   // guest + qemu + harness + margin, checked before booting
  std::uint64_t host_memory_available_bytes = 0;  // the host's MemAvailable then
  std::uint64_t swap_reserved_bytes = 0;          // swap file allocated on the host
  std::uint64_t output_lines_cut = 0;             // channel lines over the line cap, cut
  std::uint64_t output_bytes_dropped = 0;         // channel bytes past a cap, or not written (disk full)
  std::string output_losses;                      // which channel lost what; "" when none did
  std::string earlier_boot_failure;               // a first boot that died before the job: why ("" if none)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(VmFacts, accelerator, qemu_version, image, image_recipe,
                                                image_built_at, image_build_sec, packages,
                                                start, start_note, boot_sec, run_sec, timed_out,
                                                host_memory_reserved_bytes, host_memory_available_bytes,
                                                swap_reserved_bytes, output_lines_cut,
                                                output_bytes_dropped, output_losses, earlier_boot_failure)

struct RunReport {
  Scenario scenario;
  GuestPlan plan;
  Timeline timeline;
  Verdict verdict;
  VmFacts vm;
  std::string tool_version = kVersion;
  std::string started_at;        // ISO 8601 UTC, host clock
  double wall_sec = 0;           // host wall time of the whole command
  int exit_status = 0;           // what oomharness exits with (run/exit_status.hpp)
};

// A run folder's verdict, written last: a folder with it holds a finished run.
inline constexpr const char* kRunResultFile = "result.json";

nlohmann::ordered_json toResultJson(const RunReport& report, bool with_timeline = true);
// result.json's text: toResultJson(report).dump(2) and a newline, byte for byte,
// built without the timeline's whole tree (each record's tree in turn). Text from
// the guest that is not UTF-8 is replaced, never thrown on.
std::string resultJsonText(const RunReport& report);
// Reads result.json back; the scenario is re-validated from its stored document.
Expected<RunReport> fromResultJson(const nlohmann::json& result, const std::string& source);

std::string junitXml(const RunReport& report);
std::string summarize(const RunReport& report);

// Writes dir/result.json, dir/junit.xml, dir/summary.txt and dir/report.html
// (creates dir), each to a temporary name and renamed into place, so a reader
// never sees half a file. Never throws: returns one sentence per file that could
// not be written, so the caller can still report the verdict it reached.
std::vector<std::string> writeRunReports(const std::filesystem::path& dir, const RunReport& report);

// Only the files derived from result.json: summary.txt, junit.xml, report.html.
std::vector<std::string> writeDerivedReports(const std::filesystem::path& dir, const RunReport& report);

// The largest result.json any reader of run folders takes (readRunFolder, the suite
// runner, diff): report/limits.hpp says why.
inline constexpr std::uint64_t kMaxResultFileBytes = report_limits::kMaxResultFileBytes;

// `file` (a result.json) as a JSON tree: a regular file of at most kMaxResultFileBytes,
// nested at most report_limits::kMaxResultDepth deep (checked before the tree is
// built), each key once per object. Errors are ErrorKind::input and name the file,
// the JSON path and what was expected; `what` names the file's role in them.
Expected<nlohmann::json> readResultJson(const std::filesystem::path& file, const std::string& what);

// A run folder's result.json, read back for `oomharness report` and `show`. Every
// error is ErrorKind::input and names the folder or file and what was expected:
// no such folder, not a folder, no result.json, not a regular file or too large,
// not JSON, not oomharness-result/1, a field of the wrong type.
Expected<RunReport> readRunFolder(const std::filesystem::path& dir);
// The same for the bytes of a result.json (`file` names it in errors).
Expected<RunReport> readResultText(std::string_view bytes, const std::filesystem::path& file);

}  // namespace oom
