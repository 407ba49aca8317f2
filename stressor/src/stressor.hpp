#pragma once
// The stressor's run: one worker per process, each following the schedule for
// its share; the first process is the unit's main process (it talks to systemd
// and watches the others, never replacing one that died).
#include "options.hpp"

namespace oom::stress {
int stressMemory(const Options& options);  // the whole oomstress process; returns its exit status
}  // namespace oom::stress
