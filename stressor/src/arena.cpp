#include "arena.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace oom::stress {

void fillPage(std::uint64_t* page, std::uint64_t seed) {
  // xorshift64*: cheap next to the page fault, incompressible, never all-zero
  // (a zero state is avoided by or-ing in a high bit).
  std::uint64_t x = (seed * 0x9E3779B97F4A7C15ull) | (1ull << 63);
  for (std::size_t i = 0; i < kPageSize / sizeof(std::uint64_t); ++i) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    page[i] = x * 0x2545F4914F6CDD1Dull;
  }
  page[0] = seed | (1ull << 62);  // the first word names the page: unique, non-zero
}

Arena::Arena(bool thp, bool lock) : thp_(thp), lock_(lock), pid_(::getpid()) {
  chunks_.reserve(4096);
}

Arena::~Arena() { shrinkTo(0); }

std::size_t Arena::grow(std::size_t bytes) {
  std::size_t want = std::min(bytes, kChunkSize);
  want = (want + kPageSize - 1) / kPageSize * kPageSize;
  if (want == 0) return 0;
  void* base = ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return 0;
  if (thp_) ::madvise(base, want, MADV_HUGEPAGE);
  const std::uint64_t chunk_id = (static_cast<std::uint64_t>(pid_) << 40) ^ (counter_++ << 20);
  auto* p = static_cast<std::uint8_t*>(base);
  for (std::size_t off = 0; off < want; off += kPageSize)
    fillPage(reinterpret_cast<std::uint64_t*>(p + off), chunk_id + off / kPageSize + 1);
  if (lock_) ::mlock(base, want);
  chunks_.push_back({base, want, want});
  total_ += want;
  return want;
}

void Arena::shrinkTo(std::size_t bytes) {
  // Whole chunks only, and never below `bytes`: grow() rounds up to a page, so
  // shrinking to the exact figure would drop a chunk and regrow it forever.
  while (!chunks_.empty() && total_ - chunks_.back().used >= bytes) {
    const Chunk c = chunks_.back();
    chunks_.pop_back();
    ::munmap(c.base, c.mapped);
    total_ -= c.used;
  }
}

}  // namespace oom::stress
