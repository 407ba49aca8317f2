#pragma once
// POSIX shell quoting, for command lines people copy (systemd-run lines in a
// plan) and scripts the guest runs (the job's run.sh).
#include <string>
#include <string_view>
#include <vector>

namespace oom {
// Bare when every character is safe in a shell word, else single quotes
// (an embedded ' becomes '\'').
std::string shellQuote(std::string_view word);
// argv as one line: each word shellQuote()d, separated by a space.
std::string shellLine(const std::vector<std::string>& argv);
}  // namespace oom
