#include "vm/data_dir.hpp"

#include <cstdlib>
#include <string>

namespace fs = std::filesystem;

namespace oom {

fs::path selfExecutable() { return fs::read_symlink("/proc/self/exe"); }

Expected<fs::path> helperBinary(std::string_view name) {
  const fs::path bin = selfExecutable().parent_path();
  const fs::path installed = bin.parent_path() / "libexec" / "oomharness" / name;
  const fs::path beside = bin / name;
  std::error_code ec;
  if (fs::is_regular_file(installed, ec)) return installed;
  if (fs::is_regular_file(beside, ec)) return beside;
  return failSetup(std::string(name), "not found at " + installed.string() + " or " +
                                          beside.string() + "; reinstall oomharness or rebuild");
}

fs::path recipeDir() {
  if (const char* env = std::getenv("OOMHARNESS_RECIPE_DIR"); env && *env) return env;
  return selfExecutable().parent_path().parent_path() / "share" / "oomharness" / "vm";
}

}  // namespace oom
