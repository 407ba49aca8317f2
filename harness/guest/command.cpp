#include "guest/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "oom/text.hpp"

extern char** environ;

namespace oom {
namespace {

constexpr std::size_t kOutputKept = 256 * 1024;

std::string howItEnded(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
  return "ended with wait status " + std::to_string(status);
}

}  // namespace

Expected<ChildCommand> ChildCommand::start(const std::vector<std::string>& argv, std::string what) {
  if (argv.empty()) return fail(what, "no command");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return fail(what, std::string("cannot make a pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int r = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (r != 0) {
    ::close(pipe_fds[0]);
    return fail(what, std::string("cannot run it: ") + std::strerror(r));
  }
  ::fcntl(pipe_fds[0], F_SETFL, ::fcntl(pipe_fds[0], F_GETFL) | O_NONBLOCK);
  return ChildCommand(pid, pipe_fds[0], std::move(what));
}

ChildCommand::ChildCommand(pid_t pid, int fd, std::string what)
    : pid_(pid), fd_(fd), what_(std::move(what)), keep_(kOutputKept) {}

ChildCommand::ChildCommand(ChildCommand&& other) noexcept
    : pid_(other.pid_), fd_(other.fd_), what_(std::move(other.what_)), output_(std::move(other.output_)),
      keep_(other.keep_), ended_(other.ended_) {
  other.pid_ = -1;
  other.fd_ = -1;
}

ChildCommand::~ChildCommand() {
  if (fd_ >= 0) ::close(fd_);
  if (pid_ > 0) killAndReap();
}

std::optional<int> ChildCommand::reapIfExited() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0) return std::nullopt;
  pid_ = -1;
  return status;
}

int ChildCommand::killAndReap() {
  int status = 0;
  if (pid_ <= 0) return status;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return status;
}

bool ChildCommand::readAvailable() {
  char buf[4096];
  while (!ended_) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      if (output_.size() < keep_) output_.append(buf, std::min(static_cast<std::size_t>(n), keep_ - output_.size()));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      ended_ = true;  // EOF: every writer (the child and its children) closed it
    } else if (errno == EAGAIN) {
      break;
    }
  }
  return ended_;
}

Expected<std::string> ChildCommand::finish() {
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid_, &status, 0);
  while (r < 0 && errno == EINTR);
  pid_ = -1;
  if (r < 0) return fail(what_, std::string("cannot wait for it: ") + std::strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(what_, howItEnded(status) + ": " + printable(output_));
  return std::move(output_);
}

Expected<std::string> runGuestCommand(const std::string& command, const std::string& what) {
  auto child = ChildCommand::start({"/bin/sh", "-c", command}, what);
  if (!child) return tl::unexpected(child.error());
  while (!child->readAvailable()) {
    pollfd p{child->fd(), POLLIN, 0};
    ::poll(&p, 1, -1);
  }
  return child->finish();
}

}  // namespace oom
