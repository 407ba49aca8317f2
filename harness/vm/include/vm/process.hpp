#pragma once
// Running host tools (mmdebstrap, mkfs.ext4, qemu) with Boost.Process. Children
// get PR_SET_PDEATHSIG so nothing outlives a crashed or killed harness.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace oom {

struct ToolResult {
  int status = -1;
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv to completion (argv[0] looked up in PATH). Never throws for a
// missing program: status 127 and a message in output.
// on_line, when given, sees each output line as it comes (for progress).
ToolResult runTool(const std::vector<std::string>& argv,
                   const std::function<void(const std::string&)>& on_line = {});

// Full path of a program in PATH, or empty.
std::filesystem::path findProgram(const std::string& name);

// Runs in every child between fork and exec: it dies with the harness (deathsig
// through PR_SET_PDEATHSIG) and inherits no descriptor beyond 0-2. A stray
// inherited fd is not harmless: mmdebstrap hands apt `cat >&N` for the next
// free fd, and dash cannot parse N >= 10 ("Bad fd number").
void prepareChild(int deathsig);

// True once SIGINT or SIGTERM arrived (installs the handlers on first call).
bool interruptRequested();
void installInterruptHandlers();

}  // namespace oom
