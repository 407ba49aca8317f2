// Fuzz target: any bytes as a unit file or drop-in, from a pull request and read by
// root. parseUnitFile must not crash or hang, and what it reports must stay short:
// no problem carries more than an excerpt of the file (kUnitExcerptBytes, escaped),
// and after kMaxForeignLines lines that are not systemd syntax it stops.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "systemd/unit_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const oom::UnitFileText file = oom::parseUnitFile(text, "fuzz.conf");
  // An excerpt escapes each byte to at most \u{NNNN} (8 characters), plus the words around it.
  constexpr std::size_t kLongestMessage = 8 * oom::kUnitExcerptBytes + 100;
  std::size_t foreign = 0;
  for (const auto& p : file.problems) {
    if (p.message.size() > kLongestMessage) std::abort();
    if (p.message.rfind("missing '='", 0) == 0 || p.message.rfind("invalid section header", 0) == 0 ||
        p.message.rfind("assignment outside", 0) == 0)
      ++foreign;
  }
  if (foreign > oom::kMaxForeignLines || (foreign == oom::kMaxForeignLines) != file.foreign) std::abort();
  oom::UnitSources unit;
  unit.name = "fuzz.service";
  unit.drop_ins.push_back(file);
  (void)oom::effectiveSettings(unit);
  return 0;
}
