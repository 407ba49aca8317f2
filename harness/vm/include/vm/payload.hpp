#pragma once
// The payload disk: our binaries, the user's payload folder and the job, as a
// small ext4 image built without root (mkfs.ext4 -d), attached read-only.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "oom/expected.hpp"

namespace oom {

struct PayloadSpec {
  std::vector<std::filesystem::path> binaries;  // -> bin/
  std::filesystem::path payload_dir;            // -> payload/ (may be empty)
  std::vector<std::pair<std::filesystem::path, std::string>> files;  // -> relative path
  std::vector<std::string> command;             // -> job/run.sh
};

// The job script: drops the -1000 oom_score_adj it inherits, enters the payload
// folder and execs the command (each word shell-quoted).
std::string jobScript(const std::vector<std::string>& command);

// Lays the payload out in `staging` and writes the ext4 image to `image`.
Expected<void> buildPayloadDisk(const PayloadSpec& spec, const std::filesystem::path& staging,
                                const std::filesystem::path& image);

}  // namespace oom
