#pragma once
// A payload folder (a scenario's `payload`, `vm run --payload`): files the guest
// sees read-only at guest::kPayloadDir. oomharness runs as root on scenarios from
// pull requests, so the folder is read below a confining folder only
// (confined.hpp) and within the budgets below: regular files and folders, nothing
// else. A symlink anywhere in it is refused (naming it) rather than followed, and
// so are FIFOs, sockets and devices. Modes are normalised: files 0644, or 0755 when
// the owner may execute them; folders 0755.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "oom/expected.hpp"
#include "oom/units.hpp"

namespace oom {
namespace limits {
// A payload's budgets, checked by `check` and again when it is copied: files and
// folders in it, their bytes together, and how deep folders nest below it.
constexpr std::size_t kMaxPayloadEntries = 1024;
constexpr std::uint64_t kMaxPayloadBytes = 64 * MiB;
constexpr std::size_t kMaxPayloadDepth = 16;
}  // namespace limits

struct PayloadTree {
  std::size_t entries = 0;  // files and folders below the payload folder
  std::uint64_t bytes = 0;  // of its files
  // FNV-1a 64 (hex) of every entry's relative path, mode and contents, in name
  // order: the same payload gives the same digest wherever it lies.
  std::string digest;
};

// Walks `relative` below `root` (the root opened as given, links followed; "." for
// the root itself), refusing what the header says; with `copy_to` (an existing
// folder), writes each entry there with its normalised mode. Errors are input
// errors naming the path and the budget or the kind of file.
Expected<PayloadTree> readPayloadTree(const std::filesystem::path& root, const std::filesystem::path& relative,
                                      const std::filesystem::path& copy_to = {});

}  // namespace oom
