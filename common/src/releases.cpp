#include "oom/releases.hpp"

#include <algorithm>

namespace oom {

const std::vector<std::string>& supportedReleases() {
  static const std::vector<std::string> releases = {"bookworm", "trixie"};
  return releases;
}

bool isSupportedRelease(std::string_view release) {
  const auto& known = supportedReleases();
  return std::find(known.begin(), known.end(), release) != known.end();
}

}  // namespace oom
