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
  bool interrupted = false;  // SIGINT/SIGTERM reached the harness meanwhile: the tool was stopped
};

// How long a host tool may take to stop after SIGTERM (mmdebstrap unmounts its
// root and removes its temporary files) before its process group gets SIGKILL.
inline constexpr int kToolStopGraceSec = 30;

// Runs argv to completion (argv[0] looked up in PATH), stdin from /dev/null, in a
// process group of its own. Never throws for a missing program: status 127 and a
// message in output. When SIGINT or SIGTERM reaches the harness meanwhile
// (interruptRequested()), the tool's group gets SIGTERM, then SIGKILL after
// kToolStopGraceSec, and the result says interrupted.
// on_line, when given, sees each output line as it comes (for progress).
ToolResult runTool(const std::vector<std::string>& argv,
                   const std::function<void(const std::string&)>& on_line = {});

// Full path of a program in PATH, or empty.
std::filesystem::path findProgram(const std::string& name);

// Runs in every child between fork and exec: it dies with the harness (deathsig
// through PR_SET_PDEATHSIG), inherits no descriptor beyond 0-2, and leads a
// process group of its own, so that a Ctrl-C on the terminal reaches the harness
// alone and the harness decides how its children stop (signalGroup). A stray
// inherited fd is not harmless: mmdebstrap hands apt `cat >&N` for the next
// free fd, and dash cannot parse N >= 10 ("Bad fd number").
void prepareChild(int deathsig);

// Sends `sig` to the process group a child of ours leads (prepareChild), or to
// the child alone when it has not got to setpgid yet.
void signalGroup(int pid, int sig);

// SIGINT and SIGTERM set a flag instead of ending the process (SA_RESTART: no
// call fails with EINTR); every stage polls it and stops cleanly. Installed at
// the start of `run`, `vm build` and `vm run`.
void installInterruptHandlers();
// True once SIGINT or SIGTERM arrived.
bool interruptRequested();
// The signal that arrived (SIGINT or SIGTERM), 0 if none.
int interruptSignal();

}  // namespace oom
