// Child processes the guest agent runs: their output, how they ended, and a child
// left running when its owner gives up.
#include "guest/command.hpp"

#include <poll.h>
#include <signal.h>

#include <gtest/gtest.h>

using namespace oom;

namespace {

// What an event loop does with the child's fd, reduced to poll.
Expected<std::string> waitFor(Expected<ChildCommand> child) {
  if (!child) return tl::unexpected(child.error());
  while (!child->readAvailable()) {
    pollfd p{child->fd(), POLLIN, 0};
    ::poll(&p, 1, 5000);
  }
  return child->finish();
}

}  // namespace

TEST(ChildCommand, OutputOfAProgramThatExitsZero) {
  const auto out = waitFor(ChildCommand::start({"sh", "-c", "echo monitored; echo to-stderr >&2"}, "sh"));
  ASSERT_TRUE(out) << out.error().str();
  EXPECT_EQ(*out, "monitored\nto-stderr\n");
}

TEST(ChildCommand, AFailureNamesTheStatusAndTheOutput) {
  const auto out = waitFor(ChildCommand::start({"sh", "-c", "echo 'no daemon'; exit 3"}, "oomctl"));
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().str().find("oomctl"), std::string::npos) << out.error().str();
  EXPECT_NE(out.error().str().find("exited with status 3: no daemon"), std::string::npos) << out.error().str();
}

TEST(ChildCommand, AProgramThatCannotBeFoundIsAnError) {
  const auto out = waitFor(ChildCommand::start({"/nonexistent/oomctl"}, "oomctl"));
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().str().find("cannot run it"), std::string::npos) << out.error().str();
}

TEST(ChildCommand, ReadingDoesNotWaitForTheChild) {
  auto child = ChildCommand::start({"sleep", "30"}, "sleep");
  ASSERT_TRUE(child);
  EXPECT_FALSE(child->readAvailable());  // nothing yet, and no block
  // Destroyed while running: killed and reaped, not left behind.
}

TEST(RunGuestCommand, RunsThroughTheShell) {
  const auto out = runGuestCommand("printf '%s' a b", "printf");
  ASSERT_TRUE(out) << out.error().str();
  EXPECT_EQ(*out, "ab");
}
