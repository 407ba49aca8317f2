#pragma once
// Files that must be whole or absent: written to a temporary name in the same
// folder, flushed to disk and renamed over the target (rename is atomic).
#include <filesystem>
#include <string_view>

#include "oom/expected.hpp"

namespace oom {

// Errors are ErrorKind::setup and name the file and the errno text.
Expected<void> writeFileAtomically(const std::filesystem::path& file, std::string_view content);

}  // namespace oom
