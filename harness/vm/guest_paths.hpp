#pragma once
// Where things are inside the guest, and the names of the host<->guest
// channels. The recipe in vm/ (units, oomharness-job) uses the same names.
namespace oom::guest {
constexpr const char* kRoot = "/opt/oomharness";             // payload disk, read-only
constexpr const char* kBinDir = "/opt/oomharness/bin";        // our binaries
constexpr const char* kPayloadDir = "/opt/oomharness/payload";// the user's --payload DIR
constexpr const char* kJobDir = "/opt/oomharness/job";        // run.sh, plan.json
constexpr const char* kResultsEnv = "OOMHARNESS_RESULTS";     // results port, for the command
// virtio-serial port names (/dev/virtio-ports/<name>); each is a file on the host.
constexpr const char* kResultsPort = "oomharness.results";
constexpr const char* kControlPort = "oomharness.control";
constexpr const char* kOutputPort = "oomharness.output";
constexpr const char* kJournalPort = "oomharness.journal";
constexpr const char* kEndSentinel = "OOMHARNESS-END";
}  // namespace oom::guest
