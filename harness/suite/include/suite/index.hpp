#pragma once
// A suite folder's index.json (format oomharness-suite/1, SUITE-FORMAT.md): every
// cell of the matrix (scenario x release x repeat), where it stands, its verdict
// and folder. Rewritten (atomically) whenever a cell starts or ends, so a suite
// that is killed leaves an index that says which cells finished, which were
// running and which never ran.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "oom/expected.hpp"

namespace oom {

constexpr const char* kSuiteFormat = "oomharness-suite/1";
constexpr const char* kSuiteIndexFile = "index.json";

// pending: not started yet (a killed suite leaves these: they never ran);
// running: started, not finished; done: its run ended (result.json written);
// not_run: the suite stopped (interrupt) before starting it.
enum class CellStatus { pending, running, done, not_run };
NLOHMANN_JSON_SERIALIZE_ENUM(CellStatus, {{CellStatus::pending, "pending"},
                                          {CellStatus::running, "running"},
                                          {CellStatus::done, "done"},
                                          {CellStatus::not_run, "not_run"}})

struct SuiteCell {
  std::string scenario;     // the scenario's name (unique within a suite)
  std::string file;         // the scenario file as given (or found in a folder)
  std::string release;      // guest release
  int repeat = 1;           // 1..K
  std::string folder;       // the cell's run folder, relative to the suite folder
  CellStatus status = CellStatus::pending;
  std::string verdict;      // "pass", "fail", "inconclusive" once done; "" before
  int exit_status = -1;     // the run's exit status once done (run/exit_status.hpp)
  std::string reason;       // the verdict's one sentence
  double duration_sec = 0;  // host wall time of the cell
  std::string started_at, finished_at;  // ISO 8601 UTC
  std::uint64_t harness_peak_rss_bytes = 0;  // the cell's oomharness (not qemu): its peak RSS (VmHWM)
  bool operator==(const SuiteCell&) const = default;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SuiteCell, scenario, file, release, repeat, folder, status,
                                                verdict, exit_status, reason, duration_sec, started_at,
                                                finished_at, harness_peak_rss_bytes)

// A check across the repeats of one scenario x release: how many runs agreed.
struct CheckAgreement {
  std::string name;                   // the check's name ("first_killed", "api.survives", ...)
  std::string unit;
  std::vector<std::string> outcomes;  // per repeat, in repeat order: "pass", "fail", ... ("" missing)
  std::string status;                 // "pass", "fail", "inconclusive", "note" when all agree; "flaky"
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CheckAgreement, name, unit, outcomes, status)

// One scenario x release over its repeats.
struct SuiteGroup {
  std::string scenario, release;
  int runs = 0;                          // repeats that finished
  std::string verdict;                   // pass, fail, inconclusive, flaky ("" none finished)
  std::vector<CheckAgreement> checks;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SuiteGroup, scenario, release, runs, verdict, checks)

struct SuiteIndex {
  std::string format = kSuiteFormat;
  std::string tool_version;
  std::string started_at, finished_at;   // finished_at "" while it runs
  bool complete = false;                 // every cell done
  std::vector<std::string> inputs;       // files and folders as given
  std::vector<std::string> releases;
  int repeat = 1;
  int shard_index = 1, shard_total = 1;  // this shard (1-based) of how many
  int jobs = 1;                          // guests at once
  std::string verdict;                   // pass, fail, inconclusive ("" while it runs)
  int exit_status = -1;
  std::vector<SuiteCell> cells;          // in matrix order
  std::vector<SuiteGroup> groups;        // scenario x release, in matrix order
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SuiteIndex, format, tool_version, started_at, finished_at,
                                                complete, inputs, releases, repeat, shard_index, shard_total,
                                                jobs, verdict, exit_status, cells, groups)

// Reads dir/index.json; an input error naming the file when it is missing, not
// JSON, or not oomharness-suite/1.
// Within suite/limits.hpp: a file of at most kMaxIndexFileBytes, nested at most
// kMaxIndexDepth deep (checked before a tree is built).
Expected<SuiteIndex> readSuiteIndex(const std::filesystem::path& dir);
// The same for the bytes of an index.json (`file` names it in errors).
Expected<SuiteIndex> parseSuiteIndex(std::string_view text, const std::filesystem::path& file);

}  // namespace oom
