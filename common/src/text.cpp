#include "oom/text.hpp"

#include <cstdio>

namespace oom {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
bool isBlank(char c) { return c == ' ' || c == '\t'; }

bool isControl(char32_t c) { return c < 0x20 || (c >= 0x7f && c <= 0x9f); }

bool isBidiControl(char32_t c) {
  return c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

// Decodes one UTF-8 sequence at the start of `s` (strict: no overlong forms, no
// surrogates, nothing above U+10FFFF). Returns its length, or 0 if it is not UTF-8.
std::size_t decodeUtf8(std::string_view s, char32_t& out) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = b(0);
  std::size_t n = 0;
  char32_t c = 0, min = 0;
  if (lead < 0x80) { out = lead; return 1; }
  if (lead >= 0xc2 && lead <= 0xdf) { n = 2; c = lead & 0x1f; min = 0x80; }
  else if (lead >= 0xe0 && lead <= 0xef) { n = 3; c = lead & 0x0f; min = 0x800; }
  else if (lead >= 0xf0 && lead <= 0xf4) { n = 4; c = lead & 0x07; min = 0x10000; }
  else return 0;
  if (s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    c = (c << 6) | (b(i) & 0x3f);
  }
  if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
  out = c;
  return n;
}

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string_view skipBlanks(std::string_view s) {
  while (!s.empty() && isBlank(s.front())) s.remove_prefix(1);
  return s;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char buf[16];
  while (!text.empty()) {
    char32_t c = 0;
    const std::size_t n = decodeUtf8(text, c);
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(text[0])));
      out += buf;
      text.remove_prefix(1);
      continue;
    }
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x80 && isControl(c)) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (isControl(c) || isBidiControl(c)) {
      std::snprintf(buf, sizeof buf, "\\u{%04x}", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += text.substr(0, n);
    }
    text.remove_prefix(n);
  }
  return out;
}

std::string printableLines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (true) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) return out + printable(text);
    out += printable(text.substr(0, end)) + "\n";
    text.remove_prefix(end + 1);
  }
}

std::optional<char32_t> firstControlCharacter(std::string_view text) {
  while (!text.empty()) {
    char32_t c = 0;
    const std::size_t n = decodeUtf8(text, c);
    if (n != 0 && isControl(c)) return c;
    text.remove_prefix(n == 0 ? 1 : n);
  }
  return std::nullopt;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::map<std::string, std::uint64_t> parseMeminfo(std::string_view text) {
  // "MemTotal:        1007616 kB"
  std::map<std::string, std::uint64_t> out;
  for (auto line : splitLines(text)) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto rest = trim(line.substr(colon + 1));
    const bool kb = rest.size() > 3 && rest.substr(rest.size() - 3) == " kB";
    if (kb) rest.remove_suffix(3);
    const auto v = leadingNumber<std::uint64_t>(rest);
    if (!v || (kb && *v > UINT64_MAX / 1024)) continue;
    out[std::string(line.substr(0, colon))] = kb ? *v * 1024 : *v;
  }
  return out;
}

}  // namespace oom
