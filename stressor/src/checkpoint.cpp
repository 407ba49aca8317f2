#include "checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace oom::stress {

std::string serialize(const Checkpoint& c) {
  nlohmann::json j = {{"format", Checkpoint::kFormat}, {"target", c.target},
                      {"job_target", c.job_target}, {"done", c.done},
                      {"complete", c.complete}, {"runs", c.runs}, {"leak", c.leak},
                      {"unit_bytes", Checkpoint::kUnitBytes}, {"units_done", c.unitsDone()}};
  return j.dump() + "\n";
}

Expected<Checkpoint> parseCheckpoint(const std::string& text, const std::string& file) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() ||
      j["format"] != Checkpoint::kFormat)
    return fail(file, std::string("corrupt or not an ") + Checkpoint::kFormat +
                          " checkpoint (delete it to start over)");
  try {
    Checkpoint c;
    c.target = j.at("target").get<std::uint64_t>();
    c.done = j.at("done").get<std::uint64_t>();
    c.complete = j.at("complete").get<bool>();
    c.runs = j.value("runs", 0u);
    c.job_target = j.value("job_target", c.target);
    c.leak = j.value("leak", false);
    if (c.done > c.target && !c.leak) return fail(file, "done exceeds target");
    return c;
  } catch (const nlohmann::json::exception& e) {
    return fail(file, std::string("checkpoint field missing or of the wrong type: ") + e.what());
  }
}

Expected<std::optional<Checkpoint>> loadCheckpoint(const std::string& file) {
  std::ifstream in(file);
  if (!in) return std::optional<Checkpoint>{};
  std::stringstream s;
  s << in.rdbuf();
  auto c = parseCheckpoint(s.str(), file);
  if (!c) return tl::unexpected(c.error());
  return std::optional<Checkpoint>{*c};
}

Expected<void> saveCheckpoint(const std::string& file, const Checkpoint& c) {
  const std::string tmp = file + ".tmp";
  const std::string text = serialize(c);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(file, std::string("cannot write checkpoint: ") + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0)
    return fail(file, std::string("cannot write checkpoint: ") + std::strerror(errno));
  // Make the rename itself durable: a crash right after must not bring back the old file.
  const auto slash = file.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : file.substr(0, slash));
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace oom::stress
