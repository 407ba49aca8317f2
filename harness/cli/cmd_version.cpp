// `oomharness --version`: the tool's version and, per supported release, the name
// of the guest image this recipe builds (<release>-<recipe hash>, the cache folder
// under ~/.cache/oomharness/images/) and the recipe folder it was hashed from.
#include <filesystem>
#include <string>
#include <system_error>

#include "commands.hpp"
#include "oom/version.hpp"
#include "scenario/parse.hpp"
#include "vm/data_dir.hpp"
#include "vm/image.hpp"

namespace oom {

std::string versionText() {
  std::string text = std::string("oomharness ") + kVersion;
  const std::filesystem::path recipe = recipeDir();
  std::error_code ec;
  const bool found = std::filesystem::is_directory(recipe, ec);
  for (const auto& release : supportedReleases()) {
    text += "\nguest recipe " + (found ? recipeName(release, recipeHash(recipe, release)) : release + ": missing");
    text += " (" + recipe.string() + ")";
  }
  return text;
}

void addVersionFlag(CLI::App& app) {
  app.set_version_flag("--version", versionText,
                       "Print the version and the guest image each release would use, and exit");
}

}  // namespace oom
