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
  return error.kind == ErrorKind::setup ? kExitInconclusive : kExitBadInput;
}

}  // namespace oom
