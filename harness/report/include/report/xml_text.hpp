#pragma once
// The text pieces every JUnit file of ours is built from (a run's junit.xml, a
// suite's), so guest-provided bytes are made safe for XML in one place.
#include <string>
#include <string_view>

#include "checks/verdict.hpp"

namespace oom {

// `text` as XML 1.0 character data or attribute value: printable() first (control
// characters and non-UTF-8 bytes become visible \xNN), then U+FFFE/U+FFFF and the
// five markup characters escaped.
std::string xmlText(std::string_view text);
// Several lines, each as xmlText, newlines kept.
std::string xmlLines(std::string_view text);
// A check's expected/observed/why and its evidence, one field per line.
std::string checkEvidenceText(const CheckResult& check);

}  // namespace oom
