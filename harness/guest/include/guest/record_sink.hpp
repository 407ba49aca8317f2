#pragma once
// Where the observer's records go: one JSON line per record, each written with
// a single write(2), so whatever reached the host before the guest died is whole.
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
  void emit(const std::string& type, const nlohmann::json& body);

 private:
  int fd_ = -1;
  std::string line_;  // reused buffer
};

}  // namespace oom
