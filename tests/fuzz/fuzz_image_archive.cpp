// Fuzz target: any bytes as a scenario's image archive (`"container": {"archive"}`), from
// a pull request and read by root before anything starts. imageNamesInArchive must not
// crash, hang or read past the input, and what it returns stays bounded: at most
// kMaxArchiveImageNames names, each from a manifest.json of at most kMaxArchiveIndexBytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "scenario/image_archive.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view tar(reinterpret_cast<const char*>(data), size);
  auto images = oom::imageNamesInArchive(tar);
  if (!images) {
    if (images.error().message.size() > 300) std::abort();
    return 0;
  }
  if (images->size() > oom::kMaxArchiveImageNames) std::abort();
  std::size_t bytes = 0;
  for (const auto& n : *images) bytes += n.size();
  if (bytes > oom::kMaxArchiveIndexBytes) std::abort();
  for (const auto& n : *images) (void)oom::validImageName(n);
  return 0;
}
