#pragma once
// FNV-1a 64: the one hash the harness uses to name things by their content (the
// image cache's recipe key, a payload's digest, plan facts and their fingerprint).
// Not a defence against forgery; a name that changes when the content does.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace oom {

class Fnv1a64 {
 public:
  // The bytes as they are.
  Fnv1a64& add(std::string_view bytes) {
    for (unsigned char c : bytes) h_ = (h_ ^ c) * kPrime;
    return *this;
  }
  // One field of several: its bytes, then a separator, so "ab"+"c" != "a"+"bc".
  Fnv1a64& field(std::string_view bytes) {
    add(bytes);
    h_ = (h_ ^ 0xff) * kPrime;
    return *this;
  }
  std::uint64_t value() const { return h_; }
  // 16 hex digits.
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  static constexpr std::uint64_t kPrime = 1099511628211ull;
  std::uint64_t h_ = 1469598103934665603ull;
};

}  // namespace oom
