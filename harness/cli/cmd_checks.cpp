// `oomharness checks`: every check a verdict is built from, from the registry, so
// the list a user reads is the list evaluate() runs. `--markdown` prints
// docs/checks.md.
#include <cstdio>
#include <string>

#include "checks/registry.hpp"
#include "commands.hpp"

namespace oom {

void addChecksCommand(CLI::App& app, int& status) {
  auto* cmd = app.add_subcommand("checks", "List every check: its kind, what it takes to pass, what it cites");
  static bool markdown = false;
  cmd->add_flag("--markdown", markdown, "Print docs/checks.md (the same list as a Markdown document)");
  cmd->callback([&status] {
    if (markdown) {
      std::fputs(checksMarkdown().c_str(), stdout);
    } else {
      for (const CheckDef* d : checkRegistry()) {
        const std::string name = namePattern(*d);
        std::printf("%-36s %-12s %.*s\n", name.c_str(), kindName(d->kind), static_cast<int>(d->passes_when.size()),
                    d->passes_when.data());
      }
    }
    status = 0;
  });
}

}  // namespace oom
