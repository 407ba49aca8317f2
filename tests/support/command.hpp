#pragma once
// Runs a shell command for the tests that drive the built binaries (CLI, e2e, fault
// and VM tests): one place for the popen loop and the exit-status decoding.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace oomtest {

struct CommandResult {
  int status = -1;     // the exit status; -1 when killed by a signal
  std::string output;  // stdout, and stderr too unless it went to a file
  std::string error;   // stderr, when runCommand was given a file for it
};

// `command` through /bin/sh. Without `stderr_file` stderr joins stdout in `output`;
// with it, stderr goes to that file and is read back into `error`.
inline CommandResult runCommand(const std::string& command, const std::string& stderr_file = "") {
  CommandResult r;
  const std::string redirect = stderr_file.empty() ? " 2>&1" : " 2>" + stderr_file;
  FILE* p = ::popen((command + redirect).c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.output += buf.data();
  const int raw = ::pclose(p);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  if (!stderr_file.empty()) {
    std::ifstream in(stderr_file);
    std::stringstream err;
    err << in.rdbuf();
    r.error = err.str();
  }
  return r;
}

}  // namespace oomtest
