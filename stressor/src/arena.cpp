#include "arena.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace oom::stress {

void fillPage(std::uint64_t* page, std::uint64_t seed, unsigned compress_ratio) {
  // A Weyl sequence: seed*K, seed*K+K, ... with K odd. Every word of every page
  // differs and no byte pattern repeats, so KSM cannot merge it and LZ-style
  // compressors (zswap, zram) gain little; unlike a PRNG it vectorises, so the
  // fill costs far less than the page fault it follows.
  // The start is the seed hashed (splitmix64's finaliser): pages with adjacent
  // seeds would otherwise hold the same words shifted by one. `| 1`: never zero.
  constexpr std::uint64_t K = 0x9E3779B97F4A7C15ull;
  std::uint64_t v = seed;
  v = (v ^ (v >> 30)) * 0xBF58476D1CE4E5B9ull;
  v = (v ^ (v >> 27)) * 0x94D049BB133111EBull;
  v ^= v >> 31;
  constexpr std::size_t kWords = kPageSize / sizeof(std::uint64_t);
  const std::size_t unique = compress_ratio <= 1 ? kWords : std::max<std::size_t>(1, kWords / compress_ratio);
  for (std::size_t i = 0; i < unique; ++i, v += K) page[i] = v | 1;
  if (unique < kWords) std::memset(page + unique, 0, (kWords - unique) * sizeof(std::uint64_t));
  page[0] = seed | (1ull << 62);  // the first word names the page: unique, non-zero
}

Arena::Arena(bool thp, bool lock, unsigned compress_ratio)
    : thp_(thp), lock_(lock), compress_ratio_(compress_ratio), pid_(::getpid()) {
  chunks_.reserve(4096);
}

Arena::~Arena() { shrinkTo(0); }

std::size_t Arena::grow(std::size_t bytes) {
  std::size_t want = std::min(bytes, thp_ ? kHugePageSize : kStepSize);
  want = (want + kPageSize - 1) / kPageSize * kPageSize;
  if (want == 0) return 0;
  // With THP, map one chunk extra and keep a 2 MiB-aligned window, so the
  // kernel can back it with one huge page.
  const std::size_t extra = thp_ ? kHugePageSize : 0;
  // Without THP, MAP_POPULATE faults the chunk in inside one system call: 1.09x
  // the first-touch rate of one fault per page, against 0.96x (bench/stressor).
  // With THP it would populate before madvise(MADV_HUGEPAGE), with small pages.
  const int populate = thp_ ? 0 : MAP_POPULATE;
  void* raw = ::mmap(nullptr, want + extra, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | populate, -1, 0);
  if (raw == MAP_FAILED) {
    noteError(1, "mmap");
    return 0;
  }
  void* base = raw;
  if (thp_) {
    const auto addr = reinterpret_cast<std::uintptr_t>(raw);
    const auto aligned = (addr + kHugePageSize - 1) & ~(std::uintptr_t{kHugePageSize} - 1);
    if (aligned > addr) ::munmap(raw, aligned - addr);
    const std::size_t tail = (addr + want + extra) - (aligned + want);
    if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + want), tail);
    base = reinterpret_cast<void*>(aligned);
    if (::madvise(base, want, MADV_HUGEPAGE) != 0) noteError(2, "--thp: madvise(MADV_HUGEPAGE)");
  }
  const std::uint64_t chunk_id = (static_cast<std::uint64_t>(pid_) << 40) ^ (counter_++ << 20);
  auto* p = static_cast<std::uint8_t*>(base);
  for (std::size_t off = 0; off < want; off += kPageSize)
    fillPage(reinterpret_cast<std::uint64_t*>(p + off), chunk_id + off / kPageSize + 1, compress_ratio_);
  if (lock_ && ::mlock(base, want) != 0) noteError(4, "--mlock: mlock (see RLIMIT_MEMLOCK, LimitMEMLOCK=)");
  chunks_.push_back({base, want, want});
  total_ += want;
  return want;
}

void Arena::noteError(unsigned kind, const char* what) {
  if ((reported_ | pending_) & kind) return;
  pending_ |= kind;
  if (!pending_text_.empty()) pending_text_ += "; ";
  pending_text_ += std::string(what) + " failed: " + std::strerror(errno) + " (reported once)";
}

std::string Arena::takeNewError() {
  reported_ |= pending_;
  pending_ = 0;
  return std::exchange(pending_text_, {});
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
