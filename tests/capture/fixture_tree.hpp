#pragma once
// A throwaway folder tree for SysFs-rooted readers: files written by the test
// itself, so each test shows the /proc it reads. Removed at the end.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace oom::test {

struct FixtureTree {
  std::filesystem::path root;
  FixtureTree() {
    char dir[] = "/tmp/oomharness-capture-XXXXXX";
    root = ::mkdtemp(dir);
  }
  ~FixtureTree() { std::filesystem::remove_all(root); }
  FixtureTree(const FixtureTree&) = delete;
  FixtureTree& operator=(const FixtureTree&) = delete;

  void write(const std::string& relative, const std::string& text) const {
    const auto p = root / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  // One process as /proc shows it; rss_kb < 0: a kernel thread (no VmRSS line).
  void process(int pid, const std::string& comm, int oom_score, int adj, long rss_kb, const std::string& cgroup) const {
    const std::string dir = "proc/" + std::to_string(pid) + "/";
    write(dir + "comm", comm + "\n");
    write(dir + "oom_score", std::to_string(oom_score) + "\n");
    write(dir + "oom_score_adj", std::to_string(adj) + "\n");
    write(dir + "status", "Name:\t" + comm + "\nState:\tS (sleeping)\n" +
                              (rss_kb >= 0 ? "VmRSS:\t" + std::to_string(rss_kb) + " kB\n" : "") + "Threads:\t1\n");
    write(dir + "cgroup", "0::" + cgroup + "\n");
  }
};

}  // namespace oom::test
