#pragma once
// Memory the stressor really holds: mmap'd chunks whose every page is filled
// with data unique to that page and never zero (a Weyl sequence seeded by
// pid, chunk and page), so neither KSM, the zero page nor zswap/zram can shrink it
// (unless --compress-ratio asks for data a compressor shrinks that many times).
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace oom::stress {

constexpr std::size_t kPageSize = 4096;
constexpr std::size_t kHugePageSize = 2 * 1024 * 1024;
// Biggest step of one grow() with small pages: a signal waits for at most one
// step (MAP_POPULATE is not interrupted), and under TCG a guest fills only
// 10-20 MiB/s, so 1 MiB keeps SIGTERM well under 200 ms. With THP a step is
// one huge page.
constexpr std::size_t kStepSize = 1024 * 1024;

// Fills one page; `seed` must differ per page. Exposed for tests. With
// compress_ratio R > 1 only the first 1/R of the page holds the sequence and the
// rest is zero, so a compressor (zram, zswap) shrinks it about R times, as it
// would real data of that kind; the first word still names the page.
void fillPage(std::uint64_t* page, std::uint64_t seed, unsigned compress_ratio = 1);
constexpr unsigned kMaxCompressRatio = 16;

class Arena {
 public:
  Arena(bool thp, bool lock, unsigned compress_ratio = 1);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Maps and fills up to `bytes` more (at most one step per call). Returns bytes added
  // (0 when mmap failed: the caller reports and retries later).
  std::size_t grow(std::size_t bytes);
  // Unmaps the newest chunks while what remains still covers `bytes`.
  void shrinkTo(std::size_t bytes);
  std::size_t bytes() const { return total_; }
  // The first failure of each kind (mmap, madvise, mlock) as a one-line message,
  // once; empty when there is nothing new. The caller prints it on stderr.
  std::string takeNewError();

 private:
  struct Chunk {
    void* base;
    std::size_t mapped;  // what munmap needs
    std::size_t used;
  };
  std::vector<Chunk> chunks_;
  std::size_t total_ = 0;
  std::uint64_t counter_ = 0;  // chunks ever made: keeps refills unique too
  void noteError(unsigned kind, const char* what);
  unsigned reported_ = 0, pending_ = 0;  // bit per kind
  std::string pending_text_;
  bool thp_, lock_;
  unsigned compress_ratio_;
  pid_t pid_;
};

}  // namespace oom::stress
