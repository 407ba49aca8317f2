#pragma once
// Text and numbers as every parser in the project reads them: one trim, and one
// family of number parsers over std::from_chars (no locale, no exceptions, no
// allocation), so that "what counts as a number" is decided once.
//
//   parseNumber<T>("42")        whole text: digits, a '-' only for signed and
//                               floating types, nothing before or after
//   leadingNumber<T>(" 42 kB")  the number at the start, after spaces and tabs;
//                               whatever follows is ignored
//   numberAfter<T>(s, "rss:")   leadingNumber right after the first `key` in s
//
// None accepts a leading '+' or hex; each returns nullopt for no number or one
// that does not fit T. Integral T and double are supported.
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace oom {

// Without leading and trailing whitespace (space, \t, \n, \v, \f, \r).
std::string_view trim(std::string_view text);

// Whether `text` begins with `prefix`, or ends with `suffix`.
bool startsWith(std::string_view text, std::string_view prefix);
bool endsWith(std::string_view text, std::string_view suffix);

// Without leading spaces and tabs (a number's position in /proc and kernel-log text).
std::string_view skipBlanks(std::string_view text);

// The lines of `text`, without their '\n'; no empty last line for a final '\n'.
std::vector<std::string_view> splitLines(std::string_view text);
// The space-separated words of `text` (runs of spaces skipped), as views into it:
// how the kernel's log lines are read.
std::vector<std::string_view> words(std::string_view text);

// "Key:   value kB" lines, as in /proc/meminfo and /proc/PID/status: key -> value,
// in bytes where the line says kB (a count such as HugePages_Total stays a count).
// Lines without a leading number are left out.
std::map<std::string, std::uint64_t> parseMeminfo(std::string_view text);

// Text as it may reach a terminal, a log or a copied command line: every control
// character escaped, so a scenario's description, a process name or a journal
// line cannot move the cursor, recolour the screen or fake a line of output.
// C0 and DEL become \n, \t, \r or \xNN; C1 controls (U+0080..U+009F) and the
// bidirectional overrides (U+200E/F, U+202A..U+202E, U+2066..U+2069) \u{NNNN};
// bytes that are not UTF-8 \xNN. Everything else, backslashes included, is kept.
std::string printable(std::string_view text);

// A text of several lines (a summary, a diff, a lint report) as it may reach a
// terminal: each line printable(), the text's own newlines kept. Whatever a field
// let through, no control character but those newlines is left.
std::string printableLines(std::string_view text);

// The first control character (C0, DEL or C1) in UTF-8 text, as its code point,
// or nullopt when there is none. Bytes that are not UTF-8 are not reported here.
std::optional<char32_t> firstControlCharacter(std::string_view text);

namespace detail {
template <typename T>
std::optional<T> fromChars(std::string_view text, bool whole) {
  static_assert(std::is_integral_v<T> || std::is_floating_point_v<T>, "a number type");
  static_assert(!std::is_same_v<T, bool>, "a number type");
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr == text.data() || (whole && ptr != end)) return std::nullopt;
  return value;
}
}  // namespace detail

template <typename T>
std::optional<T> parseNumber(std::string_view text) {
  return detail::fromChars<T>(text, /*whole=*/true);
}

template <typename T>
std::optional<T> leadingNumber(std::string_view text) {
  return detail::fromChars<T>(skipBlanks(text), /*whole=*/false);
}

template <typename T>
std::optional<T> numberAfter(std::string_view text, std::string_view key) {
  const auto at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  return leadingNumber<T>(text.substr(at + key.size()));
}

}  // namespace oom
