#include "oom/releases.hpp"

#include <algorithm>

namespace oom {

const std::vector<std::string>& supportedReleases() {
  static const std::vector<std::string> releases = {"bookworm", "trixie"};
  return releases;
}

std::string supportedReleasesText(std::string_view last) {
  const auto& known = supportedReleases();
  std::string text;
  for (std::size_t i = 0; i < known.size(); ++i) {
    if (i > 0) text += i + 1 == known.size() ? std::string(last) : std::string(", ");
    text += known[i];
  }
  return text;
}

bool isSupportedRelease(std::string_view release) {
  const auto& known = supportedReleases();
  return std::find(known.begin(), known.end(), release) != known.end();
}

bool isDebianPackageName(std::string_view name) {
  auto allowed = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return name.size() >= 2 && name.size() <= kMaxDebianPackageNameBytes && allowed(name[0]) &&
         std::all_of(name.begin() + 1, name.end(),
                     [&](char c) { return allowed(c) || c == '+' || c == '.' || c == '-'; });
}

std::string packageVersionsText(const std::map<std::string, std::string>& versions) {
  std::string text;
  for (const auto& [name, version] : versions) text += (text.empty() ? "" : ", ") + name + " " + version;
  return text;
}

std::string releaseOfOsRelease(std::string_view pretty_name) {
  const auto open = pretty_name.rfind('('), close = pretty_name.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return "";
  const std::string_view codename = pretty_name.substr(open + 1, close - open - 1);
  return isSupportedRelease(codename) ? std::string(codename) : "";
}

}  // namespace oom
