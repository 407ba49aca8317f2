#include "oom/payload_tree.hpp"

#include "oom/fnv.hpp"

#include <fstream>

#include "oom/confined.hpp"

namespace oom {
namespace fs = std::filesystem;
namespace {

class PayloadWalk {
 public:
  PayloadWalk(const ConfinedDir& root, fs::path copy_to) : root_(root), copy_to_(std::move(copy_to)) {}

  // The folder `dir` (below the root), whose copy is `to` (relative to copy_to), `depth` below the payload.
  Expected<void> folder(const fs::path& dir, const fs::path& to, std::size_t depth) {
    auto names = root_.list(dir);
    if (!names) return tl::unexpected(names.error());
    for (const auto& name : *names) {
      const fs::path path = dir / name;
      auto e = root_.entry(path);
      if (!e) return tl::unexpected(e.error());
      if (++tree_.entries > limits::kMaxPayloadEntries)
        return refuse(path, "more than " + std::to_string(limits::kMaxPayloadEntries) +
                                " files and folders in the payload; expected at most that many");
      if (depth + 1 > limits::kMaxPayloadDepth)
        return refuse(path, "nested " + std::to_string(depth + 1) + " levels deep; expected folders at most " +
                                std::to_string(limits::kMaxPayloadDepth) + " levels below the payload");
      using Type = ConfinedDir::Entry::Type;
      if (e->type == Type::symlink)
        return refuse(path, "is a symlink; expected regular files and folders only (copy the file in instead)");
      if (e->type != Type::regular && e->type != Type::directory)
        return refuse(path, "is not a regular file or a folder (a FIFO, socket or device); expected files and folders only");
      const bool is_dir = e->type == Type::directory;
      const unsigned mode = is_dir || (e->mode & 0100) ? 0755 : 0644;
      hash_.field((to / name).generic_string());
      hash_.field(is_dir ? "d" : std::to_string(mode));
      if (is_dir) {
        if (auto made = makeFolder(to / name); !made) return made;
        if (auto inner = folder(path, to / name, depth + 1); !inner) return inner;
      } else if (auto copied = file(path, to / name, e->bytes, mode); !copied) {
        return copied;
      }
    }
    return {};
  }

  PayloadTree finish() {
    tree_.digest = hash_.hex();
    return tree_;
  }

 private:
  Expected<void> refuse(const fs::path& path, const std::string& why) const {
    return fail((root_.path() / path).lexically_normal().string(), why);
  }

  Expected<void> overBudget(const fs::path& path, std::uint64_t bytes) const {
    return refuse(path, std::to_string(bytes) + " bytes: with the payload's other files, more than " +
                            formatSize(limits::kMaxPayloadBytes) + "; expected at most that in all");
  }

  Expected<void> file(const fs::path& path, const fs::path& to, std::uint64_t bytes, unsigned mode) {
    const std::uint64_t left = limits::kMaxPayloadBytes - tree_.bytes;
    if (bytes > left) return overBudget(path, bytes);
    auto text = root_.read(path, left, "payload file");
    if (!text && text.error().message.find("expected a payload file of at most") != std::string::npos)
      return overBudget(path, bytes);  // it grew since
    if (!text) return tl::unexpected(text.error());
    tree_.bytes += text->size();
    hash_.field(*text);
    if (copy_to_.empty()) return {};
    const fs::path target = copy_to_ / to;
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out.write(text->data(), static_cast<std::streamsize>(text->size()));
    out.close();
    std::error_code ec;
    fs::permissions(target, static_cast<fs::perms>(mode), ec);
    if (!out || ec) return failSetup(target.string(), "cannot write the payload's copy");
    return {};
  }

  Expected<void> makeFolder(const fs::path& to) {
    if (copy_to_.empty()) return {};
    std::error_code ec;
    fs::create_directory(copy_to_ / to, ec);
    if (!ec) fs::permissions(copy_to_ / to, static_cast<fs::perms>(0755), ec);
    if (ec) return failSetup((copy_to_ / to).string(), "cannot create the payload's folder: " + ec.message());
    return {};
  }


  const ConfinedDir& root_;
  fs::path copy_to_;
  PayloadTree tree_;
  Fnv1a64 hash_;
};

}  // namespace

Expected<PayloadTree> readPayloadTree(const fs::path& root, const fs::path& relative, const fs::path& copy_to) {
  auto dir = ConfinedDir::open(root);
  if (!dir) return tl::unexpected(dir.error());
  auto top = dir->entry(relative);
  if (!top) return tl::unexpected(top.error());
  const std::string where = (dir->path() / relative).lexically_normal().string();
  if (top->type == ConfinedDir::Entry::Type::missing) return fail(where, "no such folder");
  // The payload folder itself may be reached through a link that stays below the
  // root (kind() follows it); below it, links are refused.
  auto kind = dir->kind(relative);
  if (!kind) return tl::unexpected(kind.error());
  if (*kind != ConfinedDir::Kind::directory) return fail(where, "expected a folder");
  PayloadWalk walk(*dir, copy_to);
  if (auto walked = walk.folder(relative, "", 0); !walked) return tl::unexpected(walked.error());
  return walk.finish();
}

}  // namespace oom
