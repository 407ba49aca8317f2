#include "guest/command.hpp"

#include <cstdio>

#include "oom/text.hpp"

namespace oom {

Expected<std::string> runGuestCommand(const std::string& command, const std::string& what) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return fail(what, "cannot run it");
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    if (text.size() < 256 * 1024) text.append(buf, n);
  const int status = ::pclose(p);
  if (status != 0) return fail(what, "exited with status " + std::to_string(status) + ": " + printable(text));
  return text;
}

}  // namespace oom
