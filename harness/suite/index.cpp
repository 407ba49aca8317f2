#include "suite/index.hpp"

#include <algorithm>
#include <limits>

#include "oom/files.hpp"
#include "oom/units.hpp"
#include "scenario/json_reader.hpp"
#include "suite/limits.hpp"

namespace oom {

namespace {

// A value this build does not know is an error, never a default: an unknown status
// would read as "pending", an unknown verdict as whatever the reader assumed. Values
// are named with their JSON path; what was found is quoted as JSON, so a terminal
// escape in it is printed escaped.
constexpr const char* kCellStatuses[] = {"pending", "running", "done", "not_run"};
constexpr const char* kVerdicts[] = {"pass", "fail", "inconclusive"};
constexpr const char* kGroupVerdicts[] = {"pass", "fail", "inconclusive", "flaky"};
constexpr const char* kCheckStatuses[] = {"pass", "fail", "inconclusive", "note", "flaky"};

template <std::size_t N>
Expected<void> oneOf(const nlohmann::json& value, const char* const (&names)[N], bool empty_ok,
                     const std::string& where) {
  if (value.is_string()) {
    const auto& v = value.get_ref<const std::string&>();
    if (empty_ok && v.empty()) return {};
    for (const char* n : names)
      if (v == n) return {};
  }
  std::string expected;
  for (const char* n : names) expected += std::string(expected.empty() ? "" : ", ") + "\"" + n + "\"";
  return fail(where, "expected one of " + expected + (empty_ok ? " (or \"\" before it ends)" : "") + "; got " +
                         value.dump(-1, ' ', true));
}

// Whether `folder` of the suite folder `dir`, as it is on disk, resolves outside
// `dir` (a link to elsewhere): `report` would write there, `show` and `diff` read.
bool leadsOutside(const std::filesystem::path& dir, const std::string& folder) {
  std::error_code ec;
  const auto base = std::filesystem::canonical(dir, ec);
  if (ec) return false;  // no suite folder to leave: reading it fails anyway
  const auto cell = std::filesystem::weakly_canonical(base / folder, ec);
  if (ec) return true;
  const auto rel = cell.lexically_relative(base);
  return rel.empty() || *rel.begin() == ".." || rel == ".";
}

Expected<void> checkClosed(const nlohmann::json& json, const SuiteIndex& index, const std::string& file) {
  const auto at = [&](const std::string& path) { return file + ": " + path; };
  if (auto r = oneOf(json.value("verdict", nlohmann::json("")), kVerdicts, true, at("$.verdict")); !r) return r;
  for (std::size_t i = 0; i < index.cells.size(); ++i) {
    const auto& cell = json["cells"][i];
    const std::string path = "$.cells[" + std::to_string(i) + "]";
    if (auto r = oneOf(cell.value("status", nlohmann::json("pending")), kCellStatuses, false, at(path + ".status")); !r)
      return r;
    const bool done = index.cells[i].status == CellStatus::done;
    if (auto r = oneOf(cell.value("verdict", nlohmann::json("")), kVerdicts, !done, at(path + ".verdict")); !r) return r;
    // A cell's folder lives inside the suite folder: one relative name, no way out of it.
    const std::string& folder = index.cells[i].folder;
    const std::filesystem::path p(folder);
    const bool inside = !folder.empty() && p.is_relative() && p.has_filename() &&
                        std::none_of(p.begin(), p.end(), [](const auto& part) { return part == ".." || part == "."; }) &&
                        std::none_of(folder.begin(), folder.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
    if (!inside)
      return fail(at(path + ".folder"), "expected a folder inside the suite folder (a relative path without '..'); got " +
                                            nlohmann::json(folder).dump(-1, ' ', true));
    if (leadsOutside(std::filesystem::path(file).parent_path(), folder))
      return fail(at(path + ".folder"), "expected a folder inside the suite folder; " +
                                            nlohmann::json(folder).dump(-1, ' ', true) +
                                            " is a link that leads out of it");
  }
  for (std::size_t i = 0; i < index.groups.size(); ++i) {
    const auto& group = json["groups"][i];
    const std::string path = "$.groups[" + std::to_string(i) + "]";
    if (auto r = oneOf(group.value("verdict", nlohmann::json("")), kGroupVerdicts, true, at(path + ".verdict")); !r)
      return r;
    for (std::size_t k = 0; k < index.groups[i].checks.size(); ++k)
      if (auto r = oneOf(group["checks"][k].value("status", nlohmann::json("")), kCheckStatuses, false,
                         at(path + ".checks[" + std::to_string(k) + "].status"));
          !r)
        return r;
  }
  return {};
}

}  // namespace

Expected<SuiteIndex> readSuiteIndex(const std::filesystem::path& dir) {
  const auto file = dir / kSuiteIndexFile;
  auto text = readRegularFile(file, suite_limits::kMaxIndexFileBytes, "suite index");
  if (!text) return tl::unexpected(text.error());
  return parseSuiteIndex(*text, file);
}

Expected<SuiteIndex> parseSuiteIndex(std::string_view text, const std::filesystem::path& file) {
  JsonReadRules rules;
  rules.max_depth = suite_limits::kMaxIndexDepth;
  rules.depth_note = std::string("a suite index (") + kSuiteFormat + ") needs 5";
  rules.printable_text = false;  // reasons quote guest text, escaped
  rules.what = std::string("a suite's index.json, ") + kSuiteFormat;
  rules.max_float_magnitude = std::numeric_limits<int>::max();  // repeat, exit_status are ints
  rules.negative_floats = false;                                  // and harness_peak_rss_bytes unsigned
  const auto parsed = readLimitedJson(text, file.string(), rules);
  if (!parsed) return tl::unexpected(parsed.error());
  const nlohmann::json& json = *parsed;
  if (!json.is_object())
    return fail(file.string(), "expected a JSON object (a suite's index.json); got text that is not");
  if (json.value("format", nlohmann::json()) != kSuiteFormat)
    return fail(file.string() + ": format", std::string("expected \"") + kSuiteFormat + "\"; got " +
                                                json.value("format", nlohmann::json()).dump());
  SuiteIndex index;
  try {
    index = json.get<SuiteIndex>();
  } catch (const nlohmann::json::exception& e) {
    return fail(file.string(), std::string("not a valid suite index: ") + e.what());
  }
  if (auto closed = checkClosed(json, index, file.string()); !closed) return tl::unexpected(closed.error());
  return index;
}

}  // namespace oom
