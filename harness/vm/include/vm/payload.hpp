#pragma once
// The payload disk: our binaries, the user's payload folder and the job, as a
// small ext4 image built without root (mkfs.ext4 -d), attached read-only.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "oom/expected.hpp"
#include "oom/payload_tree.hpp"

namespace oom {

struct PayloadSpec {
  std::vector<std::filesystem::path> binaries;  // -> bin/
  std::filesystem::path payload_dir;            // -> payload/ (may be empty)
  // A folder payload_dir must stay below (a scenario's own folder): read confined
  // to it (oom/payload_tree.hpp). Empty: payload_dir itself is the confining folder.
  std::filesystem::path payload_confined_to;
  std::vector<std::pair<std::filesystem::path, std::string>> files;  // -> relative path
  std::vector<std::string> command;             // -> job/run.sh
};

// The job script: drops the -1000 oom_score_adj it inherits, enters the payload
// folder and execs the command (each word shell-quoted).
std::string jobScript(const std::vector<std::string>& command);

// Lays the payload out in `staging` (the payload folder only below payload/, so
// it cannot replace bin/ or job/) and writes the ext4 image to `image`. Returns
// what was copied of the payload folder (empty when there is none).
Expected<PayloadTree> buildPayloadDisk(const PayloadSpec& spec, const std::filesystem::path& staging,
                                const std::filesystem::path& image);

}  // namespace oom
