#pragma once
// Every bound a scenario file is held to, in one place. oomharness runs as root,
// unattended: whatever the file says, `check` answers with an error naming the
// file, the JSON path and the bound, never a crash, a hang or a silent wrap.
// The schema (scenarios/schema/scenario.schema.json) and README state the same
// numbers; tests/scenario/schema_sync_test.cpp compares them with these.
#include <cstddef>
#include <cstdint>

#include "oom/payload_tree.hpp"  // the payload's budgets: kMaxPayloadEntries, kMaxPayloadBytes, kMaxPayloadDepth
#include "oom/units.hpp"

namespace oom::limits {

// The file: a regular file (not a FIFO, device or folder), read only if at most
// this large. The largest shipped scenario is about 2 KiB.
constexpr std::uint64_t kMaxFileBytes = 1 * MiB;

// Objects and arrays nested at most this deep, checked while parsing, before any
// tree is built (the format itself needs 5 levels). Deeper documents made the
// recursive copy and dump of the tree overflow the stack.
constexpr std::size_t kMaxDepth = 64;

// guest.memory: the VM layer refuses less than 128M, and the measured guest
// overhead plus the safety margin (budget.hpp) is already 272M; the top is far
// beyond any test host, so a typo such as "100T" is caught here, not by qemu.
constexpr std::uint64_t kMinGuestMemoryBytes = 256 * MiB;
constexpr std::uint64_t kMaxGuestMemoryBytes = 64 * GiB;
constexpr std::uint64_t kMaxGuestSwapBytes = 64 * GiB;
constexpr unsigned kMaxGuestCpus = 64;

// guest.packages: each set is an image of its own (built once, then cached), so a
// few names (each at most kMaxDebianPackageNameBytes, oom/releases.hpp).
constexpr std::size_t kMaxGuestPackages = 32;

// services: each becomes a unit in one small VM.
constexpr std::size_t kMaxServices = 64;
constexpr unsigned kMaxProcessesPerService = 64;
// Entries of a service's drop_ins (folders or files).
constexpr std::size_t kMaxDropIns = 64;
// *.conf files in one NAME.d folder (of a scenario, a --units tree or `lint`),
// and the bytes of all unit files and drop-ins one scenario reads, each file also
// at most 1 MiB (kMaxUnitFileBytes). The shipped scenarios read under 8 KiB; the
// bound keeps a pull request from making a root process read gigabytes.
constexpr std::size_t kMaxDropInsPerFolder = 128;
constexpr std::uint64_t kMaxUnitFileBytesTotal = 4 * MiB;

// `lint PATH...`: the files it reads in all (unit files, drop-ins, scenarios) and
// their bytes. A whole /usr/lib/systemd/system of Debian 13 is about 400 files and
// 1 MiB; past either bound the rest is not read, and lint says so (exit 2).
constexpr std::size_t kMaxLintFiles = 4096;
constexpr std::uint64_t kMaxLintBytesTotal = 64 * MiB;

// Loads: a baseline is at most guest.memory (the budget then checks the sum), a
// spike at most guest.memory + guest.swap; rates (rate, leak) at most this.
constexpr std::uint64_t kMaxRateBytesPerSec = 64 * GiB;

// Every duration in the file (time_limit, settle, start_after, hold, the spike's
// TIME, restart_grace, half_alive_grace).
constexpr double kMaxDurationSec = 24 * 3600.0;

// Free text (description, why), in bytes. Control characters are refused in every
// string of the file, names or text (see parse.cpp).
constexpr std::size_t kMaxTextBytes = 4096;

// The words of one command: a probe's, a load driver's.
constexpr std::size_t kMaxCommandWords = 64;
// probes: each one thread in the guest, at most one attempt per interval.
constexpr std::size_t kMaxProbes = 16;
constexpr std::size_t kMaxProbeNameBytes = 64;
constexpr std::size_t kMaxProbeTargetBytes = 1024;  // an http URL or a tcp HOST:PORT
constexpr double kMinProbeIntervalSec = 0.2;
constexpr double kMaxProbeIntervalSec = 60;
constexpr double kMaxProbeTimeoutSec = 30;
// Load drivers (`drive`).
constexpr std::size_t kMaxDrives = 16;

// `check` lists at most this many errors per file, then says how many more.
constexpr std::size_t kMaxErrorsListed = 100;
// `lint` lists at most this many findings per file (text, JSON and SARIF), then
// says how many more; the counts are of all of them.
constexpr std::size_t kMaxFindingsListed = 100;

}  // namespace oom::limits
