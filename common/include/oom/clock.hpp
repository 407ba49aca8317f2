#pragma once
// The one clock of every record: CLOCK_MONOTONIC in seconds, the clock of the
// kernel log's timestamps (/dev/kmsg) and the journal's __MONOTONIC_TIMESTAMP,
// so what the guest agent, oomstress, the kernel and systemd saw orders on one axis.
namespace oom {
double monotonicSeconds();
}  // namespace oom
