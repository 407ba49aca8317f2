#include "scenario/image_archive.hpp"

#include <nlohmann/json.hpp>

#include "oom/text.hpp"

namespace oom {
namespace {

constexpr std::size_t kBlock = 512;

// A numeric header field: octal digits (spaces and NULs around them), or GNU's
// base-256 form (high bit of the first byte set) for sizes past 8 GiB.
std::optional<std::uint64_t> headerNumber(std::string_view field) {
  if (!field.empty() && (static_cast<unsigned char>(field[0]) & 0x80)) {
    std::uint64_t n = static_cast<unsigned char>(field[0]) & 0x7f;
    for (std::size_t i = 1; i < field.size(); ++i) {
      if (n > (UINT64_MAX >> 8)) return std::nullopt;
      n = (n << 8) | static_cast<unsigned char>(field[i]);
    }
    return n;
  }
  std::uint64_t n = 0;
  bool digits = false, done = false;
  for (char c : field) {
    if (c >= '0' && c <= '7' && !done) {
      if (n > (UINT64_MAX >> 3)) return std::nullopt;
      n = n * 8 + static_cast<std::uint64_t>(c - '0');
      digits = true;
    } else if (c == ' ' || c == '\0') {
      done = digits;
    } else {
      return std::nullopt;
    }
  }
  return n;
}

std::string cString(std::string_view field) { return std::string(field.substr(0, field.find('\0'))); }

// A pax extended header's "path" record ("LEN path=VALUE\n" records), or "".
std::string paxPath(std::string_view data) {
  std::string path;
  while (!data.empty()) {
    const auto space = data.find(' ');
    if (space == std::string_view::npos) break;
    std::uint64_t len = 0;
    for (char c : data.substr(0, space)) {
      if (c < '0' || c > '9' || len > data.size()) return path;
      len = len * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (len <= space + 1 || len > data.size()) break;
    const std::string_view record = data.substr(space + 1, len - space - 2);  // without the newline
    if (record.rfind("path=", 0) == 0) path = std::string(record.substr(5));
    data.remove_prefix(len);
  }
  return path;
}

std::string entryName(std::string name) {
  while (name.rfind("./", 0) == 0) name.erase(0, 2);
  return name;
}

// manifest.json: [{"Config": "...json", "RepoTags": ["localhost/shop/web:1.4"], "Layers": [...]}]
Expected<std::vector<std::string>> repoTags(std::string_view text) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return fail("", "manifest.json: expected a JSON array of images, as podman save writes it");
  std::vector<std::string> names;
  for (const auto& image : doc) {
    if (!image.is_object()) return fail("", "manifest.json: expected each image as an object");
    const auto tags = image.find("RepoTags");
    if (tags == image.end() || tags->is_null()) continue;
    if (!tags->is_array()) return fail("", "manifest.json: expected RepoTags as an array");
    for (const auto& t : *tags) {
      if (!t.is_string()) return fail("", "manifest.json: expected each of RepoTags as a string");
      if (names.size() == kMaxArchiveImageNames)
        return fail("", "manifest.json: more than " + std::to_string(kMaxArchiveImageNames) + " image names");
      names.push_back(t.get<std::string>());
    }
  }
  return names;
}

}  // namespace

bool validImageName(std::string_view name) {
  if (name.empty() || name.size() > kMaxImageNameBytes) return false;
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name[0])) return false;
  for (char c : name)
    if (!alnum(c) && c != '.' && c != '_' && c != '-' && c != '/' && c != ':' && c != '@') return false;
  return true;
}

std::string normalizedImageName(std::string_view name) {
  std::string out(name);
  const auto slash = out.find('/');
  const std::string first = slash == std::string::npos ? "" : out.substr(0, slash);
  const bool registry = !first.empty() && (first.find('.') != std::string::npos ||
                                           first.find(':') != std::string::npos || first == "localhost");
  if (!registry) out = "localhost/" + out;
  const auto last_slash = out.rfind('/');
  const bool tagged = out.find(':', last_slash) != std::string::npos || out.find('@') != std::string::npos;
  if (!tagged) out += ":latest";
  return out;
}

Expected<std::vector<std::string>> imageNamesInArchive(std::string_view tar) {
  if (tar.size() >= 2 && static_cast<unsigned char>(tar[0]) == 0x1f && static_cast<unsigned char>(tar[1]) == 0x8b)
    return fail("", "is compressed (gzip); expected the plain tar podman save writes (podman save -o FILE IMAGE)");
  bool oci = false;       // an index.json seen (an oci-archive, or docker save's newer layout)
  std::string long_name;  // from a GNU 'L' or a pax 'x' header, for the next entry
  for (std::size_t at = 0; at + kBlock <= tar.size();) {
    const std::string_view header = tar.substr(at, kBlock);
    if (header.find_first_not_of('\0') == std::string_view::npos) break;  // the end-of-archive blocks
    const std::string_view magic = header.substr(257, 5);
    const auto size = headerNumber(header.substr(124, 12));
    if (magic != "ustar" || !size)
      return fail("", at == 0 ? "is not a tar archive; expected the tar podman save writes (a docker-archive or an oci-archive)"
                              : "is not a whole tar archive: the header at byte " + std::to_string(at) + " is damaged");
    const std::size_t data_at = at + kBlock;
    if (*size > tar.size() - data_at)
      return fail("", "is cut short: an entry at byte " + std::to_string(at) + " claims " + std::to_string(*size) +
                          " bytes, past the end of the file");
    const std::string_view data = tar.substr(data_at, static_cast<std::size_t>(*size));
    const char type = header[156];
    std::string name = long_name.empty() ? cString(header.substr(0, 100)) : long_name;
    if (long_name.empty() && header.substr(257, 6) == std::string_view("ustar\0", 6))
      if (const std::string prefix = cString(header.substr(345, 155)); !prefix.empty()) name = prefix + "/" + name;
    long_name.clear();
    if (type == 'L') long_name = cString(data);
    else if (type == 'x') long_name = paxPath(data);
    else if ((type == '0' || type == '\0') && entryName(name) == "manifest.json") {
      if (*size > kMaxArchiveIndexBytes)
        return fail("", "manifest.json is " + std::to_string(*size) + " bytes; expected at most " +
                            std::to_string(kMaxArchiveIndexBytes) + " (podman save writes a few hundred)");
      return repoTags(data);
    } else if ((type == '0' || type == '\0') && entryName(name) == "index.json") {
      oci = true;
    }
    at = data_at + (static_cast<std::size_t>(*size) + kBlock - 1) / kBlock * kBlock;
  }
  if (oci)
    return fail("", "is an oci-archive (index.json, no manifest.json); expected a docker-archive, podman save's "
                    "default format (podman save -o FILE IMAGE): an oci-archive's names are not read yet");
  return fail("", "holds no manifest.json at its top; expected the docker-archive podman save writes "
                  "(podman save -o FILE IMAGE)");
}

}  // namespace oom
