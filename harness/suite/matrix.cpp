#include "suite/matrix.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>
#include <set>

#include "oom/releases.hpp"
#include "oom/text.hpp"
#include "scenario/budget.hpp"
#include "scenario/parse.hpp"

namespace fs = std::filesystem;

namespace oom {

Expected<std::vector<fs::path>> expandScenarioInputs(const std::vector<std::string>& inputs) {
  std::vector<fs::path> files;
  std::set<fs::path> seen;
  auto add = [&](const fs::path& file) -> Expected<void> {
    std::error_code ec;
    const fs::path key = fs::weakly_canonical(file, ec);
    if (!seen.insert(ec ? file : key).second)
      return fail(file.string(), "named twice (a scenario runs once per release and repeat)");
    files.push_back(file);
    return {};
  };
  for (const auto& input : inputs) {
    const fs::path path(input);
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status))
      return fail(printable(input), "expected a scenario file or a folder of them; it does not exist");
    if (!fs::is_directory(status)) {
      if (auto added = add(path); !added) return tl::unexpected(added.error());
      continue;
    }
    std::vector<fs::path> found;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".json" && !fs::is_directory(it->path())) found.push_back(it->path());
    if (ec) return fail(printable(input), "cannot read the folder: " + ec.message());
    if (found.empty())
      return fail(printable(input), "expected a folder with scenario files (*.json directly in it); found none");
    std::sort(found.begin(), found.end());
    for (const auto& file : found)
      if (auto added = add(file); !added) return tl::unexpected(added.error());
  }
  if (files.empty()) return fail("run", "expected at least one scenario file or folder");
  return files;
}

Expected<std::vector<std::string>> parseReleaseList(const std::string& text) {
  if (text.empty()) return std::vector<std::string>{};
  if (text == "all") return supportedReleases();
  std::vector<std::string> releases;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string release = text.substr(start, comma - start);
    if (!isSupportedRelease(release))
      return fail("--release", "expected all, or one or more of " + supportedReleasesText() +
                                   " separated by commas; got '" + printable(release) + "'");
    if (std::find(releases.begin(), releases.end(), release) != releases.end())
      return fail("--release", "'" + release + "' is named twice");
    releases.push_back(release);
    start = comma + 1;
  }
  return releases;
}

SuiteInput loadSuiteScenarios(const std::vector<fs::path>& files, const std::vector<std::string>& releases,
                              const std::optional<fs::path>& units_dir) {
  SuiteInput input;
  std::map<std::string, fs::path> by_name;
  for (const auto& file : files) {
    const ScenarioCheck check = loadScenarioFile(file, units_dir);
    input.warnings.insert(input.warnings.end(), check.warnings.begin(), check.warnings.end());
    input.errors.insert(input.errors.end(), check.errors.begin(), check.errors.end());
    if (!check.ok()) continue;
    const Scenario& scenario = *check.scenario;
    if (const auto [it, added] = by_name.emplace(scenario.name, file); !added) {
      input.errors.push_back(Error{file.string() + ": $.name",
                                   "expected a scenario name no other file of the suite uses; '" +
                                       scenario.name + "' is also the name in " + it->second.string(),
                                   ErrorKind::input});
      continue;
    }
    // The guest's own overhead differs by release: each release's budget must fit.
    for (const auto& release : releases) {
      Scenario on_release = scenario;
      on_release.guest.release = release;
      if (const Budget budget = computeBudget(on_release); !budget.fits())
        input.errors.push_back(Error{file.string() + ": --release " + release, budget.explain(), ErrorKind::input});
    }
    input.scenarios.push_back({file, scenario});
  }
  return input;
}

std::vector<SuiteCell> buildMatrix(const std::vector<SuiteScenario>& scenarios,
                                   const std::vector<std::string>& releases, int repeat) {
  std::vector<SuiteCell> cells;
  for (const auto& s : scenarios) {
    const std::vector<std::string> own{s.scenario.guest.release};
    for (const auto& release : releases.empty() ? own : releases)
      for (int k = 1; k <= repeat; ++k) {
        SuiteCell cell;
        cell.scenario = s.scenario.name;
        cell.file = s.file.string();
        cell.release = release;
        cell.repeat = k;
        cell.folder = s.scenario.name + "-" + release + (repeat > 1 ? "-r" + std::to_string(k) : "");
        cells.push_back(std::move(cell));
      }
  }
  return cells;
}

namespace {

std::optional<int> parseInt(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

constexpr int kMaxShards = 1000;

Expected<Shard> checkedShard(std::optional<int> index, std::optional<int> total, const std::string& where,
                             const std::string& text) {
  if (!index || !total || *total < 1 || *total > kMaxShards || *index < 1 || *index > *total)
    return fail(where, "expected I/N with 1 <= I <= N <= " + std::to_string(kMaxShards) + "; got '" +
                           printable(text) + "'");
  return Shard{*index, *total};
}

}  // namespace

Expected<Shard> parseShard(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return checkedShard(std::nullopt, std::nullopt, "--shard", text);
  return checkedShard(parseInt(std::string_view(text).substr(0, slash)),
                      parseInt(std::string_view(text).substr(slash + 1)), "--shard", text);
}

Expected<std::optional<Shard>> shardFromEnvironment(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* name) -> const std::string* {
    const auto it = env.find(name);
    return it == env.end() || it->second.empty() ? nullptr : &it->second;
  };
  if (const auto* own = get("OOMHARNESS_SHARD")) {
    const auto slash = own->find('/');
    const std::string_view text(*own);
    auto shard = slash == std::string::npos
                     ? checkedShard(std::nullopt, std::nullopt, "OOMHARNESS_SHARD", *own)
                     : checkedShard(parseInt(text.substr(0, slash)), parseInt(text.substr(slash + 1)),
                                    "OOMHARNESS_SHARD", *own);
    if (!shard) return tl::unexpected(shard.error());
    return std::optional<Shard>(*shard);
  }
  struct Variables {
    const char* index;
    const char* total;
    int base;  // what the first job's index is
  };
  for (const Variables v : {Variables{"CI_NODE_INDEX", "CI_NODE_TOTAL", 1},
                            Variables{"CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0},
                            Variables{"BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0}}) {
    const auto* index = get(v.index);
    const auto* total = get(v.total);
    if (!index && !total) continue;
    const std::string where = std::string(v.index) + "/" + v.total;
    const std::string text = (index ? *index : "") + "/" + (total ? *total : "");
    auto i = index ? parseInt(*index) : std::nullopt;
    if (i) *i += 1 - v.base;
    auto shard = checkedShard(i, total ? parseInt(*total) : std::nullopt, where, text);
    if (!shard) return tl::unexpected(shard.error());
    return std::optional<Shard>(*shard);
  }
  return std::optional<Shard>();
}

std::vector<SuiteCell> selectShard(const std::vector<SuiteCell>& cells,
                                   const std::map<std::string, double>& time_limit_by_scenario, Shard shard) {
  if (shard.total <= 1) return cells;
  // Groups (scenario x release) in matrix order.
  std::vector<std::pair<std::string, std::string>> groups;
  for (const auto& c : cells)
    if (std::find(groups.begin(), groups.end(), std::pair(c.scenario, c.release)) == groups.end())
      groups.emplace_back(c.scenario, c.release);
  auto limit = [&](std::size_t g) {
    const auto it = time_limit_by_scenario.find(groups[g].first);
    return it == time_limit_by_scenario.end() ? 0.0 : it->second;
  };
  std::vector<std::size_t> order(groups.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return limit(a) > limit(b); });
  std::vector<double> load(static_cast<std::size_t>(shard.total), 0.0);
  std::set<std::pair<std::string, std::string>> mine;
  for (const std::size_t g : order) {
    const auto least = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[least] += limit(g);
    if (static_cast<int>(least) + 1 == shard.index) mine.insert(groups[g]);
  }
  std::vector<SuiteCell> selected;
  for (const auto& c : cells)
    if (mine.count({c.scenario, c.release})) selected.push_back(c);
  return selected;
}

}  // namespace oom
