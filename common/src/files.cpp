#include "oom/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace oom {

Expected<void> writeFileAtomically(const std::filesystem::path& file, std::string_view content) {
  std::string tmp = file.string() + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return failSetup(file.string(), std::string("cannot create a temporary file: ") + std::strerror(errno));
  auto give_up = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return failSetup(file.string(), std::string(what) + ": " + std::strerror(err));
  };
  for (std::size_t done = 0; done < content.size();) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return give_up("cannot write");
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, 0644) != 0) return give_up("cannot set permissions");
  if (::fsync(fd) != 0) return give_up("cannot flush to disk");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return failSetup(file.string(), std::string("cannot close: ") + std::strerror(err));
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return failSetup(file.string(), std::string("cannot rename into place: ") + std::strerror(err));
  }
  return {};
}

}  // namespace oom
