// oomharness: prove a Linux OOM policy in a disposable VM before it ships.
#include <spdlog/spdlog.h>

#include <exception>
#include <new>

#include "commands.hpp"
#include "run/exit_status.hpp"

int main(int argc, char** argv) {
  CLI::App app{"oomharness: test systemd OOM policy (OOMScoreAdjust=, OOMPolicy=, Restart=, "
               "MemoryMax=) in a disposable VM"};
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Debug logging on stderr");
  int status = oom::kExitPass;
  oom::addScenarioCommands(app, status);
  oom::addVmCommands(app, status);
  oom::addRunCommand(app, status);
  oom::addDiffCommand(app, status);
  oom::addCompareCommand(app, status);
  oom::addReportCommands(app, status);
  oom::addLintCommand(app, status);
  oom::addCaptureCommand(app, status);
  oom::addChecksCommand(app, status);
  oom::addVersionFlag(app);
  app.parse_complete_callback([&] {
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : oom::kExitBadInput;
  } catch (const std::bad_alloc&) {
    // Inputs are held to budgets (README: Reliability) a host normally has room for:
    // one that did not is the host's failure, said, never a crash.
    spdlog::error("out of memory: this host gave oomharness less memory than its inputs' budgets need "
                  "(README: Reliability, bounded memory and output)");
    return oom::kExitInconclusive;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return oom::kExitInconclusive;
  }
  return status;
}
