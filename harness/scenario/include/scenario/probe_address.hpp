#pragma once
// Where a probe connects: the parts of an `http` probe's URL or a `tcp` probe's
// HOST:PORT. The scenario parser checks them with these functions and the guest's
// probes split the same text with them again, so both read one grammar.
#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace oom {

struct ProbeAddress {
  std::string host;        // as written: an IPv4 literal or "localhost" (the HTTP Host header)
  std::uint16_t port = 0;
  std::string path;        // http: "/health", "/" when the URL has none; tcp: ""

  // The address to connect to: localhost is 127.0.0.1 (no resolver in the guest's way).
  std::string ipv4() const { return host == "localhost" ? "127.0.0.1" : host; }
};

// "http://HOST[:PORT][/PATH]" (port 80 by default); else what was expected.
tl::expected<ProbeAddress, std::string> parseProbeUrl(std::string_view url);
// "HOST:PORT"; else what was expected.
tl::expected<ProbeAddress, std::string> parseProbeHostPort(std::string_view text);

}  // namespace oom
