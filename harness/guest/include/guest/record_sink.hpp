#pragma once
// Where the observer's records go: one JSON line per record, each written with
// a single write(2), so whatever reached the host before the guest died is whole.
// Two threads write here (the event loop and the sampler): a line is formatted
// and written under one lock, so lines never interleave. The lock inherits
// priority (PTHREAD_PRIO_INHERIT): the real-time sampler waiting for it lends
// its priority to the event loop holding it, which a thrashing guest would
// otherwise leave waiting for a CPU (priority inversion).
#include <pthread.h>

#include <atomic>
#include <string>

#include <nlohmann/json.hpp>

namespace oom {

class RecordSink {
 public:
  explicit RecordSink(const std::string& path);  // a virtio port or a file
  ~RecordSink();
  RecordSink(const RecordSink&) = delete;
  RecordSink& operator=(const RecordSink&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Dropped once the stream has ended (after end()).
  void emit(const std::string& type, const nlohmann::json& body);
  // Writes the "end" record, once: false (and nothing written) when another
  // thread ended the stream first. Nothing is written after it.
  bool end(int status);
  bool ended() const { return ended_.load(); }

 private:
  void writeLocked(const std::string& type, const nlohmann::json& body);
  int fd_ = -1;
  pthread_mutex_t mutex_;
  std::atomic<bool> ended_{false};
  std::string line_;  // reused buffer, guarded by mutex_
};

}  // namespace oom
