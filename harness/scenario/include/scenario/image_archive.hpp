#pragma once
// The images in an archive that `podman load` reads, judged on the host before
// anything starts: a scenario's own image (`"container": {"image", "archive"}`)
// must be in the archive it names. The archive comes from a pull request and is
// read by root: it is walked as a tar, header by header, and only its small index
// is parsed: manifest.json of a docker-archive, what `podman save` writes by
// default. Nothing in it is unpacked. (An oci-archive is refused: its names are
// annotations whose reading by podman load was not measured.)
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "oom/expected.hpp"

namespace oom {

// The index file read from an archive, at most; a real one is a few hundred bytes.
inline constexpr std::uint64_t kMaxArchiveIndexBytes = 1024 * 1024;
// Names taken from an archive's index, at most (each at most kMaxImageNameBytes).
inline constexpr std::size_t kMaxArchiveImageNames = 256;
inline constexpr std::size_t kMaxImageNameBytes = 255;

// `tar` is the whole archive. An error says what is wrong with it (compressed, not a
// tar, cut short, no manifest.json, one that is not what podman save writes); its `where` is "".
// The names are manifest.json's RepoTags as written: "localhost/shop/web:1.4".
Expected<std::vector<std::string>> imageNamesInArchive(std::string_view tar);

// A name podman takes as a reference: lower-case letters, digits and . _ - / : @,
// starting with a letter or digit, at most kMaxImageNameBytes.
bool validImageName(std::string_view name);

// A name as Podman stores a loaded or imported image's (libimage's NormalizeName): a
// first part with a '.' or ':', or "localhost", is a registry, else "localhost/" goes in
// front; no tag and no digest is ":latest". "web:1.4" -> "localhost/web:1.4" (seen in
// a bookworm guest: an archive whose RepoTags say "web:1.4" loads as that); a full name
// stays. For comparing a scenario's name with the one Podman spelled in full.
std::string normalizedImageName(std::string_view name);

}  // namespace oom
