#pragma once
// The oomharness exit statuses: scripts and CI depend on these numbers. Owned by
// the run stage (it records the status in result.json); the CLI returns them.
#include <vector>

#include "checks/verdict.hpp"

namespace oom {
enum ExitStatus : int {
  kExitPass = 0,          // every expectation held / command succeeded
  kExitFail = 1,          // an expectation failed
  kExitBadInput = 2,      // bad scenario, bad flag, missing rights: nothing was started
  kExitInconclusive = 3,  // the guest hung or died, setup failed, no pressure happened
  kExitInterrupted = 130, // SIGINT or SIGTERM stopped the command (128 + SIGINT, as shells report Ctrl-C)
};

// pass 0, fail 1, inconclusive 3.
int exitStatusFor(VerdictKind verdict);

// An error that stopped a command before or while it set things up: the user's
// input (ErrorKind::input) is 2, the host failing to set up (ErrorKind::setup) is 3,
// a signal (ErrorKind::interrupted) is 130.
int exitStatusFor(const Error& error);
// Several errors (a scenario's): 130 if a signal stopped it, else 2 if any is the
// input's fault, else 3 (the host could not look, such as an image not built).
int exitStatusFor(const std::vector<Error>& errors);
}  // namespace oom
