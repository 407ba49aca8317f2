#include "scenario/probe_address.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include "oom/text.hpp"

namespace oom {
namespace {

constexpr std::string_view kHttpScheme = "http://";

bool validHost(std::string_view host) {
  if (host == "localhost") return true;
  in_addr a{};
  return ::inet_pton(AF_INET, std::string(host).c_str(), &a) == 1;  // dotted decimal only
}

// "HOST:PORT" or, when `port_optional`, "HOST" (port `default_port`).
tl::expected<ProbeAddress, std::string> hostAndPort(std::string_view text, bool port_optional,
                                                    std::uint16_t default_port) {
  ProbeAddress a;
  const auto colon = text.rfind(':');
  a.host = std::string(text.substr(0, colon));
  if (!validHost(a.host))
    return tl::unexpected("a host that is an IPv4 address such as 127.0.0.1, or localhost; got \"" + a.host + "\"");
  if (colon == std::string_view::npos) {
    if (!port_optional) return tl::unexpected(std::string("HOST:PORT such as 127.0.0.1:8080; got no port"));
    a.port = default_port;
    return a;
  }
  const std::string_view digits = text.substr(colon + 1);
  const bool all_digits = !digits.empty() && digits.size() <= 5 &&
                          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  const auto port = all_digits ? parseNumber<unsigned>(digits) : std::nullopt;
  if (!port || *port < 1 || *port > 65535)
    return tl::unexpected("a port from 1 to 65535; got \"" + std::string(digits) + "\"");
  a.port = static_cast<std::uint16_t>(*port);
  return a;
}

}  // namespace

tl::expected<ProbeAddress, std::string> parseProbeUrl(std::string_view url) {
  if (!startsWith(url, kHttpScheme))
    return tl::unexpected(std::string("a URL http://HOST[:PORT][/PATH] (plain http; no https)"));
  std::string_view rest = url.substr(kHttpScheme.size());
  const auto slash = rest.find('/');
  auto a = hostAndPort(rest.substr(0, slash), true, 80);
  if (!a) return a;
  a->path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  // The path goes into the request line as written: no space may split it.
  if (std::any_of(a->path.begin(), a->path.end(), [](char c) { return c == ' ' || c == '\t'; }))
    return tl::unexpected(std::string("a path without spaces (write %20)"));
  return a;
}

tl::expected<ProbeAddress, std::string> parseProbeHostPort(std::string_view text) {
  return hostAndPort(text, false, 0);
}

}  // namespace oom
