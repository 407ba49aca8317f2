// Placeholder until the vm commands land; replaced by their owner.
#include "cli/commands.hpp"

namespace oom {
void addVmCommands(CLI::App& /*app*/, int& /*status*/) {}
}  // namespace oom
