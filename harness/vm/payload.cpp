#include "vm/payload.hpp"

#include <fstream>

#include "oom/guest_paths.hpp"
#include "oom/shell.hpp"
#include "vm/process.hpp"

namespace fs = std::filesystem;

namespace oom {
namespace {

std::uintmax_t treeSize(const fs::path& dir) {
  std::uintmax_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

}  // namespace

std::string jobScript(const std::vector<std::string>& command) {
  std::string script =
      std::string("# written by oomharness vm run\n"
                  "echo 0 > /proc/self/oom_score_adj\n") +
      "cd " + std::string(guest::kPayloadDir) + " 2>/dev/null || cd /\n"
      "exec";
  for (const auto& word : command) script += " " + shellQuote(word);
  return script + "\n";
}

Expected<PayloadTree> buildPayloadDisk(const PayloadSpec& spec, const fs::path& staging,
                                       const fs::path& image) {
  fs::create_directories(staging / "bin");
  fs::create_directories(staging / "job");
  fs::create_directories(staging / "payload");
  for (const auto& bin : spec.binaries)
    fs::copy_file(bin, staging / "bin" / bin.filename(), fs::copy_options::overwrite_existing);
  PayloadTree copied;
  if (!spec.payload_dir.empty()) {
    const bool own = spec.payload_confined_to.empty();
    const fs::path root = own ? spec.payload_dir : spec.payload_confined_to;
    const fs::path relative = own ? fs::path(".") : spec.payload_dir.lexically_relative(root);
    auto tree = readPayloadTree(root, relative.empty() ? fs::path(".") : relative, staging / "payload");
    if (!tree) return tl::unexpected(tree.error());
    copied = *tree;
  }
  for (const auto& [from, to] : spec.files) {
    fs::create_directories((staging / to).parent_path());
    fs::copy_file(from, staging / to, fs::copy_options::overwrite_existing);
  }
  std::ofstream(staging / "job" / "run.sh") << jobScript(spec.command);
  // Room for ext4's own metadata on top of the files.
  const auto size_mib = treeSize(staging) / (1024 * 1024) * 5 / 4 + 16;
  auto mkfs = runTool({"mkfs.ext4", "-q", "-F", "-d", staging.string(), "-L", "payload",
                       image.string(), std::to_string(size_mib) + "M"});
  if (mkfs.status != 0) return failSetup("payload", "mkfs.ext4 failed: " + mkfs.output);
  return copied;
}

}  // namespace oom
