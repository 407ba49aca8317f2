#pragma once
// One result type for everything that parses user input: a value, or an Error
// that says where (file, JSON path or flag) and what was expected.
#include <string>

#include "oom/text.hpp"
#include <tl/expected.hpp>

namespace oom {

// Whose fault: the user's input (a file, a flag, missing rights; exit 2), the
// host failing to set up a run (a mirror, mkfs, mkswap, a filesystem; exit 3), or
// nobody's: SIGINT or SIGTERM asked the command to stop (exit 130).
enum class ErrorKind { input, setup, interrupted };

struct Error {
  std::string where;    // file, "file:$.services[0].load" or "--rate"
  std::string message;  // what was wrong and what was expected
  ErrorKind kind = ErrorKind::input;
  // Inside the file `where` names, when known: the JSON path ("$.services[0].load")
  // and the line (for text that is not JSON yet). The same place as `where` says,
  // as fields, so no reader has to cut it back out of the text.
  std::string json_path{};
  unsigned line = 0;

  // As it may reach a terminal or a log: control characters escaped (printable()),
  // whatever the file or value it names held.
  std::string str() const { return printable(where.empty() ? message : where + ": " + message); }
};

template <typename T>
using Expected = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string where, std::string message) {
  return tl::unexpected<Error>(Error{std::move(where), std::move(message)});
}

inline tl::unexpected<Error> failSetup(std::string where, std::string message) {
  return tl::unexpected<Error>(Error{std::move(where), std::move(message), ErrorKind::setup});
}

inline tl::unexpected<Error> failInterrupted(std::string where, std::string message) {
  return tl::unexpected<Error>(Error{std::move(where), std::move(message), ErrorKind::interrupted});
}

}  // namespace oom
