#pragma once
// sd_notify without libsystemd (oomstress is static and libc-only): one
// datagram to $NOTIFY_SOCKET, which may be an abstract socket ("@name").
#include <string>

namespace oom::stress {
// Returns false when $NOTIFY_SOCKET is unset or the send failed.
bool notifySystemd(const std::string& state);
}  // namespace oom::stress
