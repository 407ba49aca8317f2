// Fuzz target: any bytes as a run folder's result.json (show, report and diff read
// them from pull requests), read back within report/limits.hpp; what reads back is
// reported again as `oomharness report` would. Nothing in the file may crash the
// host, nor take memory out of proportion to it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "report/html_report.hpp"
#include "report/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto report = oom::readResultText(bytes, "result.json");
  if (!report) return 0;
  (void)oom::junitXml(*report);
  (void)oom::summarize(*report);
  (void)oom::htmlReport(*report);
  return 0;
}
