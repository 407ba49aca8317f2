#pragma once
// The Debian releases a guest can run (vm/ builds each image the same way) and
// the one used when nothing names a release. The only list: the scenario
// validator, `--release`, the image and boot defaults, and (by a test) the
// scenario schema's enum all read it. Facts that differ per release (the measured
// guest overhead) stay with their users (scenario/budget.hpp).
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace oom {

inline constexpr const char* kDefaultRelease = "bookworm";

const std::vector<std::string>& supportedReleases();  // bookworm (kernel 6.1, systemd 252), trixie (6.12, 257)
bool isSupportedRelease(std::string_view release);

// The supported releases as help texts and messages name them, so that a new
// release is named in one place: "bookworm, trixie" ("a, b, c"), or with
// last = " or ", "bookworm or trixie" ("a, b or c").
std::string supportedReleasesText(std::string_view last = ", ");

// The supported release a guest's os-release PRETTY_NAME names ("Debian GNU/Linux 13
// (trixie)" -> "trixie"), or "" when it names none: the release a recording ran on,
// which `run --release` may have changed from its scenario's.
std::string releaseOfOsRelease(std::string_view pretty_name);

// A Debian package name as policy 5.6.1 has it, [a-z0-9][a-z0-9+.-]+, of at most
// kMaxDebianPackageNameBytes (policy sets no bound; the archive's longest is ~70).
// Checked before a name reaches mmdebstrap's comma-separated --include.
inline constexpr std::size_t kMaxDebianPackageNameBytes = 100;
bool isDebianPackageName(std::string_view name);
// Package -> version as one line: "nginx 1.22.1-9+deb12u1, python3 3.11.2-1+b1".
std::string packageVersionsText(const std::map<std::string, std::string>& versions);

}  // namespace oom
