#include "run/exit_status.hpp"

namespace oom {

int exitStatusFor(VerdictKind verdict) {
  switch (verdict) {
    case VerdictKind::pass: return kExitPass;
    case VerdictKind::fail: return kExitFail;
    case VerdictKind::inconclusive: return kExitInconclusive;
  }
  return kExitInconclusive;
}

int exitStatusFor(const Error& error) {
  switch (error.kind) {
    case ErrorKind::input: return kExitBadInput;
    case ErrorKind::setup: return kExitInconclusive;
    case ErrorKind::interrupted: return kExitInterrupted;
  }
  return kExitInconclusive;
}

int exitStatusFor(const std::vector<Error>& errors) {
  int status = kExitInconclusive;
  for (const auto& e : errors) {
    if (e.kind == ErrorKind::interrupted) return kExitInterrupted;
    if (e.kind == ErrorKind::input) status = kExitBadInput;
  }
  return status;
}

}  // namespace oom
