#pragma once
// The oomharness exit statuses. Scripts and CI depend on these numbers.
namespace oom {
enum ExitStatus : int {
  kExitPass = 0,          // every expectation held / command succeeded
  kExitFail = 1,          // an expectation failed
  kExitBadInput = 2,      // bad scenario, bad flag, missing rights: nothing was started
  kExitInconclusive = 3,  // the guest hung or died, setup failed, no pressure happened
};
}  // namespace oom
