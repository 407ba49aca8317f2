// `oomharness vm build` and `oomharness vm run`: the disposable guest on its own.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <unistd.h>

#include "commands.hpp"
#include "oom/guest_paths.hpp"
#include "run/exit_status.hpp"
#include "oom/releases.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "vm/image.hpp"
#include "vm/boot.hpp"
#include "vm/process.hpp"
#include "vm/temp_dir.hpp"

namespace oom {
namespace {

struct VmOptions {
  std::string release = kDefaultRelease;
  bool force = false;
  std::string accelerator = "auto";
  bool cold_boot = false;
  std::string memory = "1G";
  unsigned cpus = 2;
  std::string swap = "0";
  std::string timeout = "300s";
  std::string payload;
  std::vector<std::string> packages;
  std::string keep_dir;
  std::vector<std::string> command;
};

std::uintmax_t fileSizeOr0(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  return ec ? 0 : size;
}

int vmBuild(const VmOptions& o) {
  installInterruptHandlers();  // Ctrl-C stops mmdebstrap cleanly: exit 130, no half image
  ImageRequest request;
  request.release = o.release;
  request.force = o.force;
  request.packages = o.packages;
  auto image = ensureImage(request);
  if (!image) {
    std::fprintf(stderr, "oomharness: %s\n", image.error().str().c_str());
    return exitStatusFor(image.error());
  }
  std::printf("image %s\n  release %s, systemd %s, kernel %s, recipe %s, built %s\n",
              image->dir.c_str(), image->release.c_str(), image->systemd_version.c_str(),
              image->kernel_version.c_str(), image->recipe_hash.c_str(), image->built_at.c_str());
  if (!image->packages.empty()) std::printf("  packages: %s\n", packageVersionsText(image->packages).c_str());
  // What a scenario's "unit_file": {"package": ...} can name (docs/unit-files.md).
  for (const auto& [unit, from] : image->package_units)
    std::printf("  unit file %s  (from package %s %s)\n", from.path.c_str(), from.package.c_str(), from.version.c_str());
  if (!image->packages.empty() && !image->package_units_extracted)
    std::printf("  unit files: not copied out (built by an older oomharness; --force builds it again)\n");
  std::printf("  build %.0fs, rootfs %s\n", image->build_sec, formatSize(fileSizeOr0(image->rootfs())).c_str());
  return kExitPass;
}

int vmRun(const VmOptions& o) {
  installInterruptHandlers();  // at every stage: exit 130, qemu stopped, temporary files gone
  BootRequest request;
  request.release = o.release;
  request.packages = o.packages;
  request.accelerator = o.accelerator;
  request.restore = !o.cold_boot;
  auto memory = parseSize(o.memory);
  auto swap = parseSize(o.swap);
  auto timeout = parseDuration(o.timeout);
  auto reject = [](const char* flag, const Error& error) {
    std::fprintf(stderr, "oomharness: vm run %s: %s\n", flag, error.message.c_str());
    return kExitBadInput;
  };
  if (!memory) return reject("--memory", memory.error());
  if (!swap) return reject("--swap", swap.error());
  if (!timeout) return reject("--timeout", timeout.error());
  request.memory_bytes = *memory;
  request.swap_bytes = *swap;
  request.timeout = *timeout;
  request.cpus = o.cpus;
  request.payload_dir = o.payload;
  request.command = o.command;
  const bool keep = !o.keep_dir.empty();
  // Without --keep-dir the channel files go to a private temporary folder, removed on return.
  std::optional<TempDir> out;
  if (keep) {
    request.run_dir = o.keep_dir;
  } else {
    auto made = TempDir::create("out");
    if (!made) {
      std::fprintf(stderr, "oomharness: %s\n", made.error().str().c_str());
      return exitStatusFor(made.error());
    }
    out.emplace(std::move(*made));
    request.run_dir = out->path();
  }
  request.on_output_line = [](const std::string& line) { std::printf("%s\n", line.c_str()); std::fflush(stdout); };
  request.on_result_line = [](const std::string& line) { std::printf("result: %s\n", line.c_str()); std::fflush(stdout); };
  auto result = bootGuest(request);
  if (!result) {
    std::fprintf(stderr, "oomharness: %s\n", result.error().str().c_str());
    return exitStatusFor(result.error());
  }
  std::fprintf(stderr,
               "vm: %s; accelerator %s (-cpu %s; %s); %s%s%s%s; setup %.1fs (payload disk %.2fs), "
               "command started %.1fs after qemu launch, qemu ran %.1fs\n",
               endingName(result->ending), result->accelerator.c_str(), result->cpu_model.c_str(),
               result->accelerator_note.c_str(), result->guest_start.c_str(),
               result->guest_start_note.empty() ? "" : " (", printable(result->guest_start_note).c_str(),
               result->guest_start_note.empty() ? "" : ")", result->setup_sec, result->payload_build_sec,
               result->boot_to_command_sec, result->total_sec);
  if (const auto losses = result->outputLosses(); !losses.empty())
    std::fprintf(stderr, "vm: guest output not kept in full: %s\n", losses.c_str());
  int status = result->ending == BootResult::Ending::interrupted ? kExitInterrupted : kExitInconclusive;
  if (result->ending == BootResult::Ending::completed) {
    status = result->exit_status;
  } else {
    std::fprintf(stderr, "vm: inconclusive: %s\nlast console lines:\n%s\n", printable(result->reason).c_str(),
                 printableLines(result->last_console_lines).c_str());
  }
  if (keep) std::fprintf(stderr, "vm: console, journal and channels kept in %s\n", request.run_dir.c_str());
  return status;
}

}  // namespace

void addVmCommands(CLI::App& app, int& status) {
  auto* vm = app.add_subcommand("vm", "The disposable guest: build its image, run a command in it");
  vm->require_subcommand(1);
  auto options = std::make_shared<VmOptions>();
  const std::string releases = "Guest Debian release: " + supportedReleasesText(" or ") + " (default " + kDefaultRelease + ")";

  auto* build = vm->add_subcommand("build", "Build (or reuse) the cached guest image");
  build->add_option("--release", options->release, releases)->check(CLI::IsMember(supportedReleases()));
  build->add_flag("--force", options->force, "Rebuild even when cached");
  build->add_option("--package", options->packages,
                    "Add this Debian package to the image (repeatable; as a scenario's guest.packages)")
      ->allow_extra_args(false);
  build->callback([&status, options] { status = vmBuild(*options); });

  auto* run = vm->add_subcommand("run", "Boot a disposable guest and run COMMAND in it as root");
  run->add_option("--release", options->release, releases)->check(CLI::IsMember(supportedReleases()));
  run->add_option("--accel", options->accelerator, "auto, kvm or tcg")->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  run->add_option("--memory", options->memory, "Guest memory (e.g. 1G)");
  run->add_option("--cpus", options->cpus, "Guest CPUs");
  run->add_option("--swap", options->swap, "Guest swap device size (0: none)");
  run->add_option("--timeout", options->timeout, "Watchdog: kill the guest after this long (exit 3)");
  run->add_flag("--cold-boot", options->cold_boot, "Boot the guest instead of restoring a saved one");
  run->add_option("--payload", options->payload, std::string("Folder copied read-only to ") + guest::kPayloadDir);
  // One value per --package: greedy, it would swallow `-- COMMAND`.
  run->add_option("--package", options->packages, "Boot the image with this Debian package added (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--keep-dir", options->keep_dir, "Keep console, journal and channel files here");
  run->add_option("command", options->command, "Command to run in the guest (after --)")->required();
  run->callback([&status, options] { status = vmRun(*options); });
}

}  // namespace oom
