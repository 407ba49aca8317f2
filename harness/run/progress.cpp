#include "run/progress.hpp"

namespace oom {

std::string ProgressPrinter::stamp(double t) {
  if (t0_ < 0) t0_ = t;
  char buf[32];
  std::snprintf(buf, sizeof buf, "[%+7.1fs]", t - t0_);
  return buf;
}

void ProgressPrinter::onRecord(const Timeline& tl) {
  for (; setups_ < tl.setup.size(); ++setups_) {
    const auto& s = tl.setup[setups_];
    std::fprintf(out_, "%s %s: settings %s, %zu process(es)\n", stamp(s.t).c_str(), s.unit.c_str(),
                 s.mismatches.empty() ? "applied" : "NOT applied", s.processes.size());
  }
  for (; phases_ < tl.phases.size(); ++phases_) {
    const auto& p = tl.phases[phases_];
    std::fprintf(out_, "%s guest: %s%s%s\n", stamp(p.t).c_str(), p.name.c_str(),
                 p.detail.empty() ? "" : ": ", p.detail.c_str());
  }
  for (; kills_ < tl.kills.size(); ++kills_) {
    const auto& k = tl.kills[kills_];
    std::fprintf(out_, "%s kernel: %s pid %d (%s) in %s, oom_score_adj %d, anon-rss %lluMiB, %s\n",
                 stamp(k.t).c_str(), k.group_kill ? "group-killed" : "KILLED", k.pid, k.comm.c_str(),
                 k.unit.empty() ? k.task_memcg.c_str() : k.unit.c_str(), k.oom_score_adj,
                 static_cast<unsigned long long>(k.anon_rss_kb / 1024), k.constraint.c_str());
  }
  for (; states_ < tl.states.size(); ++states_) {
    const auto& s = tl.states[states_];
    std::fprintf(out_, "%s systemd: %s %s/%s Result=%s NRestarts=%u MainPID=%d\n", stamp(s.t).c_str(),
                 s.unit.c_str(), s.ActiveState.c_str(), s.SubState.c_str(), s.Result.c_str(),
                 s.NRestarts, s.MainPID);
  }
  std::fflush(out_);
}

}  // namespace oom
