// `oomharness diff OLD NEW`: what changed between two suite folders or two run
// folders. Exit 0 no regression, 1 something regressed, 2 bad input (nothing
// printed but the error, on stderr).
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "oom/text.hpp"
#include "run/exit_status.hpp"
#include "suite/diff.hpp"

namespace oom {
namespace {

struct DiffOptions {
  std::string old_dir, new_dir;
  std::string tolerance = "10s";
  bool json = false;
};

int diffCommand(const DiffOptions& options) {
  auto tolerance = parseTolerance(options.tolerance);
  if (!tolerance) {
    std::fprintf(stderr, "oomharness diff: %s\n", printable(tolerance.error().str()).c_str());
    return kExitBadInput;
  }
  auto diff = diffFolders(options.old_dir, options.new_dir, *tolerance);
  if (!diff) {
    std::fprintf(stderr, "oomharness diff: %s\n", printable(diff.error().str()).c_str());
    return exitStatusFor(diff.error());
  }
  if (options.json)
    std::printf("%s\n", diffJson(*diff).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  else
    std::printf("%s", diffText(*diff).c_str());
  return diffExitStatus(*diff);
}

}  // namespace

void addDiffCommand(CLI::App& app, int& status) {
  auto options = std::make_shared<DiffOptions>();
  auto* diff = app.add_subcommand(
      "diff", "Compare two suite folders (index.json) or two run folders (result.json): exit 1 when something regressed");
  diff->add_option("old", options->old_dir, "The earlier suite or run folder")->required();
  diff->add_option("new", options->new_dir, "The later suite or run folder")->required();
  diff->add_option("--tolerance", options->tolerance,
                   "How far a first kill or stall figure may move: seconds (10s, 500ms) or a share of OLD's (25%)")
      ->default_str("10s");
  diff->add_flag("--json", options->json, "Print the diff as JSON (format oomharness-diff/1)");
  diff->callback([&status, options] { status = diffCommand(*options); });
}

}  // namespace oom
