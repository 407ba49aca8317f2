#include "scenario/json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstdio>
#include <deque>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include "oom/text.hpp"
#include "scenario/limits.hpp"

namespace oom {
namespace {

constexpr std::size_t kKeyShown = 40;

bool plainKey(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
         });
}

// At most `max` bytes, cut at a UTF-8 character boundary, "..." when cut.
std::string shortened(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "...";
}

std::string codePoint(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

std::pair<std::size_t, std::size_t> lineColumn(std::string_view text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// Builds the tree while checking the limits. After the first error the tree is
// no longer built (it will not be used), but parsing goes on to find more errors,
// except past the depth limit or at a broken number, where it stops.
template <typename Json>
class LimitedSax final : public nlohmann::json_sax<Json> {
 public:
  using typename nlohmann::json_sax<Json>::number_integer_t;
  using typename nlohmann::json_sax<Json>::number_unsigned_t;
  using typename nlohmann::json_sax<Json>::number_float_t;
  using typename nlohmann::json_sax<Json>::string_t;
  using typename nlohmann::json_sax<Json>::binary_t;
  // An ordered object is a vector: its keys are checked for duplicates with a set
  // per open object. A std::map finds a duplicate itself when the value is added.
  static constexpr bool kOrdered = std::is_same_v<Json, nlohmann::ordered_json>;

  LimitedSax(std::string_view text, const std::string& source, const JsonReadRules& rules, Json& root,
             ErrorList& errors)
      : text_(text), source_(source), rules_(rules), root_(root), errors_(errors) {}

  bool failed() const { return failed_; }

  bool null() override { return value(nullptr); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override { return value(v); }
  bool number_unsigned(number_unsigned_t v) override { return value(v); }
  bool number_float(number_float_t v, const string_t& text) override {
    if (rules_.max_float_magnitude > 0 && !(std::fabs(v) <= rules_.max_float_magnitude))
      error(valuePath(), "expected a number of at most " + std::to_string(static_cast<long long>(rules_.max_float_magnitude)) +
                             " in magnitude; got " + printable(shortened(text, kKeyShown)));
    else if (!rules_.negative_floats && v < 0)
      error(valuePath(), "expected a number of at least 0; got " + printable(shortened(text, kKeyShown)));
    return value(v);
  }
  bool binary(binary_t&) override { return value(nullptr); }  // not produced by the JSON parser

  bool string(string_t& s) override {
    if (!rules_.printable_text) return value(std::move(s));
    if (auto c = firstControlCharacter(s))
      error(valuePath(), "control character " + codePoint(*c) + " in a string; expected printable "
                         "text on one line (no newlines, tabs or escape sequences)");
    return value(std::move(s));
  }

  bool start_object(std::size_t) override { return open(/*object=*/true); }
  bool start_array(std::size_t) override { return open(/*object=*/false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    Frame& top = frames_.back();
    top.key = k;
    top.has_key = true;
    if (rules_.printable_text)
      if (auto c = firstControlCharacter(k))
        error(valuePath(), "control character " + codePoint(*c) + " in a key; expected a printable key");
    if constexpr (kOrdered)
      if (!top.keys.insert(k).second) duplicateKey(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::detail::exception& e) override {
    failed_ = true;
    if (dynamic_cast<const nlohmann::detail::out_of_range*>(&e)) {
      // 406: a number beyond a double's range, such as 1e400 or 400 digits.
      errors_.add(Error{source_ + ": " + valuePath(),
                        "expected a finite number; got " + printable(shortened(last_token, kKeyShown)) +
                            ", which does not fit in a double",
                        ErrorKind::input, valuePath()});
      return false;
    }
    const auto [line, column] = lineColumn(text_, position == 0 ? 0 : position - 1);
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..."
    if (auto colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    errors_.add(Error{source_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + valuePath(),
                      "invalid JSON: " + printable(what), ErrorKind::input, valuePath(),
                      static_cast<unsigned>(line)});
    return false;
  }

 private:
  struct Frame {
    Json* container = nullptr;  // null once the tree is no longer built
    bool object = false;
    bool has_key = false;               // object: a key was read, its value not yet
    std::string key;                    // object: the latest key
    std::size_t index = 0;              // array: the index of the next element
    std::unordered_set<std::string> keys;
  };

  void duplicateKey(const std::string& k) {
    error(valuePath(), "duplicate key \"" + printable(shortened(k, kKeyShown)) +
                           "\"; expected each key once per object (which copy would count is "
                           "up to the parser)");
  }

  void error(const std::string& path, std::string message) {
    failed_ = true;
    errors_.add(Error{source_ + ": " + path, std::move(message), ErrorKind::input, path});
  }

  // The path of the value being read: the container's path plus its key or index.
  std::string valuePath() const {
    std::string path = "$";
    for (const Frame& f : frames_) {
      if (!f.object) path = jsonPathIndex(path, f.index);
      else if (f.has_key) path = jsonPathKey(path, f.key);
    }
    return path;
  }

  // Where the next value goes, or nullptr when the tree is no longer built.
  Json* slot() {
    if (failed_) return nullptr;
    if (frames_.empty()) return &root_;
    Frame& top = frames_.back();
    if (!top.container) return nullptr;
    if (top.object) return member(top);
    auto& elements = top.container->template get_ref<typename Json::array_t&>();
    elements.emplace_back(nullptr);
    return &elements.back();
  }

  Json* member(Frame& top) {
    auto& members = top.container->template get_ref<typename Json::object_t&>();
    if constexpr (kOrdered) {
      // The key is new (key() checked), so append without ordered_map's linear lookup.
      members.emplace_back(top.key, nullptr);
      return &members.back().second;
    } else {
      auto [at, added] = members.emplace(top.key, nullptr);
      if (added) return &at->second;
      duplicateKey(top.key);
      return nullptr;
    }
  }

  // A scalar value or a closed container was read: the parent moves on.
  void advance() {
    if (frames_.empty()) return;
    Frame& top = frames_.back();
    if (top.object) top.has_key = false;
    else ++top.index;
  }

  template <typename T>
  bool value(T&& v) {
    if (Json* at = slot()) *at = Json(std::forward<T>(v));
    advance();
    return true;
  }

  bool open(bool object) {
    if (frames_.size() >= rules_.max_depth) {
      const std::string max = std::to_string(rules_.max_depth);
      error(valuePath(), "objects and arrays nested deeper than " + max + " levels; expected at most " + max +
                             " (" + rules_.depth_note + ")");
      return false;  // stop: nothing deeper is read
    }
    Json* at = slot();
    if (at) *at = object ? Json::object() : Json::array();
    Frame f;
    f.container = at;
    f.object = object;
    frames_.push_back(std::move(f));
    return true;
  }

  bool close() {
    frames_.pop_back();
    advance();
    return true;
  }

  std::string_view text_;
  const std::string& source_;
  const JsonReadRules& rules_;
  Json& root_;
  ErrorList& errors_;
  // A deque: pushing and popping at the end keeps the other frames in place.
  std::deque<Frame> frames_;
  bool failed_ = false;
};

}  // namespace

std::string jsonPathKey(const std::string& path, std::string_view key) {
  if (plainKey(key)) return path + "." + std::string(key);
  return path + "['" + printable(shortened(key, kKeyShown)) + "']";
}

std::string jsonPathIndex(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

void ErrorList::add(Error e) {
  if (list_.size() < limits::kMaxErrorsListed) list_.push_back(std::move(e));
  else ++dropped_;
}

std::vector<Error> ErrorList::take(const std::string& source) {
  std::vector<Error> out = std::move(list_);
  if (dropped_ > 0)
    out.push_back(Error{source, "... and " + std::to_string(dropped_) + " more error" +
                                    (dropped_ == 1 ? "" : "s") + " not listed (at most " +
                                    std::to_string(limits::kMaxErrorsListed) + " are)"});
  list_.clear();
  dropped_ = 0;
  return out;
}

namespace {

template <typename Json>
bool readWith(std::string_view text, const std::string& source, const JsonReadRules& rules, Json& doc,
              ErrorList& errors) {
  LimitedSax<Json> sax(text, source, rules, doc, errors);
  const bool parsed = Json::sax_parse(text.begin(), text.end(), &sax);
  return parsed && !sax.failed();
}

}  // namespace

bool readLimitedJson(std::string_view text, const std::string& source, const JsonReadRules& rules,
                     nlohmann::json& doc, ErrorList& errors) {
  return readWith(text, source, rules, doc, errors);
}

bool readLimitedJson(std::string_view text, const std::string& source, const JsonReadRules& rules,
                     nlohmann::ordered_json& doc, ErrorList& errors) {
  return readWith(text, source, rules, doc, errors);
}

Expected<nlohmann::json> readLimitedJson(std::string_view text, const std::string& source,
                                         const JsonReadRules& rules) {
  nlohmann::json doc;
  ErrorList errors;
  if (readLimitedJson(text, source, rules, doc, errors)) return doc;
  Error first = errors.take(source).front();
  if (first.line != 0) {
    // Not JSON at all: say what the file should have been, then where it stopped.
    first.message = "expected JSON (" + rules.what + "); at " + first.where.substr(source.size() + 1) + ": " + first.message;
    first.where = source;
  }
  return tl::unexpected(first);
}

bool readScenarioJson(std::string_view text, const std::string& source, ScenarioJson& doc,
                      ErrorList& errors) {
  static const JsonReadRules scenario_rules;
  return readLimitedJson(text, source, scenario_rules, doc, errors);
}

}  // namespace oom
