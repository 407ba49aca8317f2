#pragma once
// A batch job's progress on disk. Written atomically (temp file, fsync, rename)
// so a job killed mid-write still finds the previous checkpoint.
#include <cstdint>
#include <optional>
#include <string>

#include "oom/expected.hpp"

namespace oom::stress {

struct Checkpoint {
  static constexpr const char* kFormat = "oomstress-checkpoint/1";
  std::uint64_t target = 0;     // bytes of work of this process (its share)
  std::uint64_t job_target = 0; // --target of the whole job (all processes)
  std::uint64_t done = 0;       // bytes of work finished and saved
  bool complete = false;
  unsigned runs = 0;            // how many runs have worked on it (1 = first)
  bool leak = false;            // open-ended work (--leak): done may exceed target

  // Work is also counted in whole units, for people reading the file.
  static constexpr std::uint64_t kUnitBytes = 1024 * 1024;
  std::uint64_t unitsDone() const { return done / kUnitBytes; }
};

std::string serialize(const Checkpoint& c);
Expected<Checkpoint> parseCheckpoint(const std::string& text, const std::string& file);

// A missing file is a fresh start (nullopt inside the Expected); a corrupt one is an error.
Expected<std::optional<Checkpoint>> loadCheckpoint(const std::string& file);
Expected<void> saveCheckpoint(const std::string& file, const Checkpoint& c);

}  // namespace oom::stress
