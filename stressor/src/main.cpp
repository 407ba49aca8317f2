// oomstress: makes memory pressure happen exactly as a scenario describes, and
// tells the truth about what it did. See `oomstress --help`.
#include <cstdio>
#include <string>
#include <vector>

#include "options.hpp"
#include "stressor.hpp"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto options = oom::stress::parseOptions(args);
  if (!options) {
    std::fprintf(stderr, "oomstress: %s\n", options.error().str().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(oom::stress::usage(), stdout);
    return 0;
  }
  return oom::stress::stressMemory(*options);
}
