// The host-memory reservation registry: what a run sees of the others.
#include "vm/reservations.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

using namespace oom;
namespace fs = std::filesystem;

namespace {
struct Scratch {
  fs::path dir = fs::temp_directory_path() / ("oomharness-reservations-test-" + std::to_string(::getpid()));
  Scratch() { fs::remove_all(dir); fs::create_directories(dir); }
  ~Scratch() { fs::remove_all(dir); }
};

std::set<std::string> runsOf(const std::vector<OtherReservation>& live) {
  std::set<std::string> runs;
  for (const auto& r : live) runs.insert(r.run);
  return runs;
}
}  // namespace

// flock() belongs to an open file description, not a process: two registrations of
// one process are two live reservations, as two runs would be.
TEST(Reservations, TwoRegistrationsAreBothLiveUntilEachEnds) {
  Scratch s;
  auto a = HostReservation::create(s.dir, 2 * GiB, "/results/a");
  ASSERT_TRUE(a) << a.error().str();
  auto b = HostReservation::create(s.dir, 3 * GiB, "/results/b");
  ASSERT_TRUE(b) << b.error().str();
  EXPECT_NE(a->file(), b->file());
  EXPECT_EQ(a->file().parent_path(), s.dir);
  EXPECT_EQ(a->file().extension(), ".reservation");

  auto live = liveReservations(s.dir);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(runsOf(live), (std::set<std::string>{"/results/a", "/results/b"}));
  for (const auto& r : live) {
    EXPECT_EQ(r.pid, ::getpid());
    EXPECT_EQ(r.reserved_bytes, r.run == "/results/a" ? 2 * GiB : 3 * GiB);
    EXPECT_GT(r.held_bytes, 0u) << "this process's RssAnon";
  }

  const fs::path a_file = a->file();
  { auto gone = std::move(*a); }  // run a ends
  EXPECT_FALSE(fs::exists(a_file));
  live = liveReservations(s.dir);
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].run, "/results/b");
}

// A run killed with SIGKILL cannot remove its file, but its lock went with it.
TEST(Reservations, AFileWhoseLockIsNotHeldIsNotCountedAndIsRemoved) {
  Scratch s;
  const fs::path stale = s.dir / "run-Kd93xQ.reservation";
  std::ofstream(stale) << "reserved_bytes=8589934592\npid=" << ::getpid() << "\nrun=/results/killed\n";
  const fs::path unfinished = s.dir / ".new-Pq81zz";  // killed while registering
  std::ofstream(unfinished) << "reserved_bytes=1";
  auto live_run = HostReservation::create(s.dir, GiB, "/results/live");
  ASSERT_TRUE(live_run) << live_run.error().str();

  const auto live = liveReservations(s.dir);
  EXPECT_EQ(runsOf(live), (std::set<std::string>{"/results/live"}));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(unfinished));
  EXPECT_TRUE(fs::exists(live_run->file()));
}

// What a run holds is its oomharness's anonymous memory and its children's (qemu).
TEST(Reservations, HeldMemoryCountsTheChildren) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const std::uint64_t before = anonymousMemoryOf(::getpid());
  EXPECT_GT(before, 0u);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    constexpr std::size_t kTouched = 64 * MiB;
    // volatile: a block written and never read would be optimised away.
    volatile char* block = static_cast<volatile char*>(std::malloc(kTouched));
    for (std::size_t i = 0; block && i < kTouched; i += 4096) block[i] = 1;
    (void)!::write(ready[1], "x", 1);
    ::pause();
    ::_exit(0);
  }
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  const std::uint64_t with_child = anonymousMemoryOf(::getpid());
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  EXPECT_GE(with_child, before + 60 * MiB) << "before " << before << ", with the child " << with_child;
}
