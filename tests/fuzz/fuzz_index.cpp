// Fuzz target: any bytes as a suite folder's index.json (diff and show read them
// from pull requests), read within suite/limits.hpp. Nothing in the file may crash
// the host, nor take memory out of proportion to it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "suite/index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)oom::parseSuiteIndex(bytes, "index.json");
  return 0;
}
