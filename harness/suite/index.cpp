#include "suite/index.hpp"

#include "oom/files.hpp"
#include "oom/units.hpp"

namespace oom {

Expected<SuiteIndex> readSuiteIndex(const std::filesystem::path& dir) {
  const auto file = dir / kSuiteIndexFile;
  // An index names each cell once: 16 MiB is room for about 40,000 cells.
  auto text = readRegularFile(file, 16 * MiB, "suite index");
  if (!text) return tl::unexpected(text.error());
  const auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return fail(file.string(), "expected a JSON object (a suite's index.json); got text that is not");
  if (json.value("format", "") != kSuiteFormat)
    return fail(file.string() + ": format", std::string("expected \"") + kSuiteFormat + "\"; got " +
                                                json.value("format", nlohmann::json()).dump());
  try {
    return json.get<SuiteIndex>();
  } catch (const nlohmann::json::exception& e) {
    return fail(file.string(), std::string("not a valid suite index: ") + e.what());
  }
}

}  // namespace oom
