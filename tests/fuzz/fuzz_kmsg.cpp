// Fuzz target: any bytes as /dev/kmsg records, one per line (the observer reads
// one record per read(2)). The parser must never crash on what the kernel, or a
// corrupted stream, hands it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "live/kmsg_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  oom::OomKillParser parser;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view raw = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    (void)oom::isOomRelated(raw);
    (void)oom::parseTaskDumpRow(raw);
    (void)oom::unitFromCgroup(raw);
    if (auto record = oom::parseKmsgRecord(raw)) {
      (void)parser.feed(*record);
      (void)parser.flush(record->t, 0.5);
    }
  }
  (void)parser.flushAll();
  return 0;
}
