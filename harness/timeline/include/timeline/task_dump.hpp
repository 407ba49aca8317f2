#pragma once
// The kernel's task dump: the "Tasks state (memory values in pages)" table an OOM
// report prints, one row per task it weighed. The guest keeps these lines with the
// kill (KernelOomKill::lines); the observer and the report read them with this one
// parser. Memory in pages, as the kernel prints it:
// 6.1:  [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
// 6.12: [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace oom {

struct TaskDumpRow {
  int pid = 0;
  int uid = 0;
  std::uint64_t total_vm_pages = 0;
  std::uint64_t rss_pages = 0;
  std::uint64_t pgtables_bytes = 0;
  std::uint64_t swapents = 0;
  int oom_score_adj = 0;
  std::string name;  // comm, at most 15 characters; may hold spaces or be all digits
};

// The row in `line`, or nullopt for the header and any other line.
std::optional<TaskDumpRow> parseTaskDumpRow(std::string_view line);

}  // namespace oom
