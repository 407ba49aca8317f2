// The limits of scenario/limits.hpp, on inputs too large or too odd to commit to
// tests/scenario/bad/: generated here. Whatever the input, an error naming the
// file and the JSON path, never a crash or a hang.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "scenario/budget.hpp"
#include "scenario/limits.hpp"
#include "scenario/parse.hpp"
#include "error_text.hpp"

using namespace oom;
namespace fs = std::filesystem;

using oomtest::errorsOf;

namespace {

// A valid scenario with `guest` and `load` spliced in.
std::string scenario(const std::string& guest, const std::string& load,
                     const std::string& extra = "") {
  return R"({"name": "n", "description": "d", "guest": {)" + guest + R"(}, )" + extra +
         R"("services": [{"name": "w", "why": "y", "load": {"baseline": "10M")" + load +
         R"(}}], "expect": {"never_killed": ["w"]}})";
}

std::string repeat(const std::string& s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "oomharness-limits-XXXXXX").string();
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

void write(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

}  // namespace

TEST(ScenarioLimits, EightyThousandLevelsOfObjectsAreRefusedWhileParsing) {
  // This made `oomharness check` die of SIGSEGV: the tree was copied and dumped recursively.
  const std::size_t n = 80000;
  const std::string text = repeat(R"({"a":)", n) + "1" + repeat("}", n);
  TempDir dir;
  write(dir / "deep.json", text);
  const auto c = loadScenarioFile(dir / "deep.json");
  ASSERT_EQ(c.errors.size(), 1u) << errorsOf(c);
  EXPECT_EQ(c.errors[0].where, (dir / "deep.json").string() + ": $" + repeat(".a", limits::kMaxDepth));
  EXPECT_NE(c.errors[0].message.find("nested deeper than 64 levels; expected at most 64"), std::string::npos)
      << c.errors[0].message;
}

TEST(ScenarioLimits, EightyThousandLevelsOfArraysAreRefusedWhileParsing) {
  const std::size_t n = 80000;
  const auto c = parseScenario(R"({"services": )" + repeat("[", n) + repeat("]", n) + "}", "deep.json");
  ASSERT_EQ(c.errors.size(), 1u) << errorsOf(c);
  EXPECT_EQ(c.errors[0].where, "deep.json: $.services" + repeat("[0]", limits::kMaxDepth - 1));
  EXPECT_NE(c.errors[0].message.find("nested deeper than 64"), std::string::npos);
}

TEST(ScenarioLimits, SixtyFourLevelsAreStillRead) {
  // 1 (the scenario) + 63 arrays: the depth is fine, the value is not a string.
  const std::size_t n = limits::kMaxDepth - 1;
  const auto c = parseScenario(R"({"name": "n", "description": )" + repeat("[", n) + repeat("]", n) +
                                   R"(, "services": [], "expect": {"never_killed": ["w"]}})", "x.json");
  EXPECT_EQ(errorsOf(c).find("nested deeper"), std::string::npos) << errorsOf(c);
  EXPECT_NE(errorsOf(c).find("x.json: $.description: expected a string"), std::string::npos) << errorsOf(c);
}

TEST(ScenarioLimits, FilesLargerThanOneMebibyteAreNotRead) {
  TempDir dir;
  const std::string big = scenario("", "", R"("$schema": ")" + std::string(limits::kMaxFileBytes, 'x') + R"(", )");
  write(dir / "big.json", big);
  const auto c = loadScenarioFile(dir / "big.json");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].where, (dir / "big.json").string());
  EXPECT_NE(c.errors[0].message.find("expected a scenario file of at most 1MiB"), std::string::npos)
      << c.errors[0].message;
  EXPECT_NE(errorsOf(parseScenario(big, "big.json")).find("at most 1MiB"), std::string::npos);
}

TEST(ScenarioLimits, OnlyRegularFilesAreRead) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir / "fifo.json").c_str(), 0600), 0);
  // Opening a FIFO with no writer must not block: the check answers at once.
  const auto fifo = loadScenarioFile(dir / "fifo.json");
  EXPECT_NE(errorsOf(fifo).find("fifo.json: expected a regular file; got a FIFO"), std::string::npos)
      << errorsOf(fifo);
  fs::create_directory(dir / "folder.json");
  EXPECT_NE(errorsOf(loadScenarioFile(dir / "folder.json")).find("expected a regular file; got a directory"),
            std::string::npos);
  EXPECT_NE(errorsOf(loadScenarioFile("/dev/null")).find("/dev/null: expected a regular file; got a character device"),
            std::string::npos);
  EXPECT_NE(errorsOf(loadScenarioFile(dir / "missing.json")).find("cannot read the file: No such file"),
            std::string::npos);
}

TEST(ScenarioLimits, GuestBoundsAreInclusive) {
  EXPECT_TRUE(parseScenario(scenario(R"("memory": "64G", "swap": "64G", "cpus": 64)", ""), "x").ok());
  EXPECT_TRUE(parseScenario(scenario(R"("memory": "512M", "swap": "0", "cpus": 1)", ""), "x").ok());
  EXPECT_NE(errorsOf(parseScenario(scenario(R"("memory": "255M")", ""), "x"))
                .find("x: $.guest.memory: expected a size from 256MiB to 64GiB; got \"255M\" (255MiB)"),
            std::string::npos);
  EXPECT_NE(errorsOf(parseScenario(scenario(R"("memory": 68719476737)", ""), "x"))
                .find("$.guest.memory: expected a size from 256MiB to 64GiB; got 68719476737"),
            std::string::npos);
  EXPECT_NE(errorsOf(parseScenario(scenario(R"("swap": "65G")", ""), "x")).find("$.guest.swap: expected a size of at most 64GiB"),
            std::string::npos);
  EXPECT_NE(errorsOf(parseScenario(scenario(R"("cpus": 65)", ""), "x")).find("$.guest.cpus: expected an integer from 1 to 64"),
            std::string::npos);
}

TEST(ScenarioLimits, DurationsAreFiniteAndAtMostADay) {
  EXPECT_TRUE(parseScenario(scenario("", R"(, "start_after": "24h", "hold": 86400)", R"("time_limit": "24h", )"), "x").ok());
  const auto c = parseScenario(
      scenario("", R"(, "start_after": "86401s", "hold": 1e300)", R"("time_limit": 86401, )"), "x");
  const std::string e = errorsOf(c);
  EXPECT_NE(e.find("$.time_limit: expected a duration of at most 24h (86400s); got 86401"), std::string::npos) << e;
  EXPECT_NE(e.find("$.services[0].load.start_after: expected a duration of at most 24h"), std::string::npos) << e;
  EXPECT_NE(e.find("$.services[0].load.hold: expected a duration of at most 24h (86400s); got 1e+300"), std::string::npos) << e;
  // A 400-digit duration parses as infinity: refused, never planned as null.
  const auto inf = parseScenario(scenario("", "", R"("settle": ")" + std::string(400, '9') + R"(", )"), "x");
  EXPECT_NE(errorsOf(inf).find("$.settle: expected a duration of at most 24h"), std::string::npos) << errorsOf(inf);
  const auto grace = parseScenario(R"({"name": "n", "description": "d", "services": [{"name": "w", "why": "y",
      "load": {"baseline": "10M"}}], "expect": {"restart_grace": "25h", "half_alive_grace": "1e3"}})", "x");
  EXPECT_NE(errorsOf(grace).find("$.expect.restart_grace: expected a duration of at most 24h"), std::string::npos);
}

TEST(ScenarioLimits, LoadSizesAndRatesAreBounded) {
  EXPECT_TRUE(parseScenario(scenario(R"("memory": "1G", "swap": "1G")", R"(, "leak": "64G/s", "spike": "2G@10s")"), "x").ok());
  const std::string e = errorsOf(parseScenario(
      scenario(R"("memory": "1G", "swap": "1G")", R"(, "rate": 68719476737, "spike": "2049M@10s")"), "x"));
  EXPECT_NE(e.find("$.services[0].load.rate: expected a rate of at most 64GiB/s; got 68719476737"), std::string::npos) << e;
  EXPECT_NE(e.find("$.services[0].load.spike: expected a SIZE of at most the guest memory and swap, 2GiB"), std::string::npos) << e;
  const std::string b = errorsOf(parseScenario(R"({"name": "n", "description": "d", "guest": {"memory": "1G"},
      "services": [{"name": "w", "why": "y", "load": {"baseline": "1025M"}}], "expect": {"never_killed": ["w"]}})", "x"));
  EXPECT_NE(b.find("$.services[0].load.baseline: expected a size of at most the guest memory, 1GiB; got \"1025M\""),
            std::string::npos) << b;
}

TEST(ScenarioLimits, AtMostSixtyFourServices) {
  std::string services;
  for (int i = 0; i < 65; ++i)
    services += std::string(i ? "," : "") + R"({"name": "s)" + std::to_string(i) +
                R"(", "why": "y", "load": {"baseline": "1M"}})";
  const auto c = parseScenario(R"({"name": "n", "description": "d", "services": [)" + services +
                                   R"(], "expect": {"never_killed": [)" + repeat(R"("s1",)", 65) + R"("s2"]}})",
                               "x");
  EXPECT_NE(errorsOf(c).find("x: $.services: expected at most 64 services; got 65"), std::string::npos) << errorsOf(c);
  EXPECT_NE(errorsOf(c).find("x: $.expect.never_killed: expected at most 64 service names"), std::string::npos);
}

TEST(ScenarioLimits, TextIsAtMostFourKibibytes) {
  const std::string ok(limits::kMaxTextBytes, 'd');
  EXPECT_TRUE(parseScenario(R"({"name": "n", "description": ")" + ok + R"(", "services": [{"name": "w",
      "why": "y", "load": {"baseline": "10M"}}], "expect": {"never_killed": ["w"]}})", "x").ok());
  const auto c = parseScenario(R"({"name": "n", "description": "d", "services": [{"name": "w",
      "why": ")" + ok + R"(w", "load": {"baseline": "10M"}}], "expect": {"never_killed": ["w"]}})", "x");
  EXPECT_NE(errorsOf(c).find("$.services[0].why: expected at most 4096 bytes of text; got 4097"), std::string::npos)
      << errorsOf(c);
}

TEST(ScenarioLimits, ControlCharactersAreRefusedInEveryStringAndKey) {
  // C0 (escaped in JSON), DEL and C1 (raw UTF-8): each with the path of its string.
  const auto c = parseScenario(R"({"name": "n\u001b[31m", "description": "d)" "\x7f" R"(",
      "services": [{"name": "w", "why": "next line)" "\xc2\x85" R"(", "load": {"baseline": "10M"}}],
      "expect": {"units": {"w\r": {}}}})", "x");
  const std::string e = errorsOf(c);
  EXPECT_NE(e.find("x: $.name: control character U+001B in a string"), std::string::npos) << e;
  EXPECT_NE(e.find("x: $.description: control character U+007F"), std::string::npos) << e;
  EXPECT_NE(e.find("x: $.services[0].why: control character U+0085"), std::string::npos) << e;
  EXPECT_NE(e.find("x: $.expect.units['w\\r']: control character U+000D in a key"), std::string::npos) << e;
  for (const auto& err : c.errors)
    for (char ch : err.str()) EXPECT_FALSE(static_cast<unsigned char>(ch) < 0x20) << err.str();
}

TEST(ScenarioLimits, LongKeysAreShortenedAndEscapedInPaths) {
  const std::string key = "\\u001b" + std::string(100, 'k');
  const auto c = parseScenario(R"({")" + key + R"(": 1})", "x");
  ASSERT_FALSE(c.errors.empty());
  EXPECT_EQ(c.errors[0].where, "x: $['\\x1b" + std::string(39, 'k') + "...']") << errorsOf(c);
}

TEST(ScenarioLimits, DuplicateKeysAnywhereAreEachReported) {
  const auto c = parseScenario(R"({"name": "a", "description": "d", "name": "b", "services": [{"name": "w",
      "why": "y", "load": {"baseline": "10M", "baseline": "20M"}}],
      "expect": {"units": {"w": {}, "w": {"oom_kills": 1}}}})", "x");
  const std::string e = errorsOf(c);
  EXPECT_EQ(c.errors.size(), 3u) << e;
  EXPECT_NE(e.find("x: $.name: duplicate key \"name\""), std::string::npos) << e;
  EXPECT_NE(e.find("x: $.services[0].load.baseline: duplicate key"), std::string::npos) << e;
  EXPECT_NE(e.find("x: $.expect.units.w: duplicate key \"w\""), std::string::npos) << e;
}

TEST(ScenarioLimits, ErrorsAreListedUpToALimitThenCounted) {
  std::string keys;
  for (int i = 0; i < 250; ++i) keys += R"("k)" + std::to_string(i) + R"(": 1, )";
  const auto c = parseScenario("{" + keys + R"("name": "n", "description": "d", "services": [{"name": "w",
      "why": "y", "load": {"baseline": "10M"}}], "expect": {"never_killed": ["w"]}})", "x");
  ASSERT_EQ(c.errors.size(), limits::kMaxErrorsListed + 1);
  EXPECT_EQ(c.errors.back().str(), "x: ... and 150 more errors not listed (at most 100 are)");
}

TEST(ScenarioLimits, AMebibyteOfKeysIsReadInLinearTime) {
  // Distinct keys, then the same keys again: nothing may look keys up one by one
  // in a growing list (ordered_json would), or this takes minutes, not milliseconds.
  std::string keys;
  for (int i = 0; keys.size() < limits::kMaxFileBytes / 2 - 64; ++i) keys += R"("k)" + std::to_string(i) + R"(":0,)";
  const std::string text = "{" + keys + keys + R"("end": 0})";
  ASSERT_LE(text.size(), limits::kMaxFileBytes);
  const auto start = std::chrono::steady_clock::now();
  const auto c = parseScenario(text, "x");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(c.errors.size(), limits::kMaxErrorsListed + 1);
  EXPECT_NE(errorsOf(c).find("x: $.k0: duplicate key"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(ScenarioLimits, NumbersBeyondADoubleNameTheirPathAndDoNotThrow) {
  const auto c = parseScenario(R"({"name": "n", "expect": {"units": {"w": {"restarts": {"max": -1e400}}}}})", "x");
  ASSERT_EQ(c.errors.size(), 1u) << errorsOf(c);
  EXPECT_EQ(c.errors[0].str(), "x: $.expect.units.w.restarts.max: expected a finite number; got -1e400, which does "
                               "not fit in a double");
  const auto d = parseScenario(R"({"services": [1, 2, )" + std::string(400, '7') + "]}", "x");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].where, "x: $.services[2]");
}

TEST(ScenarioBudget, SumsSaturateInsteadOfWrapping) {
  // 2^64 - 200M plus 300M wrapped to 100M, and `plan` said it fit.
  Scenario s;
  s.guest.memory_bytes = GiB;
  ServiceSpec a, b;
  a.name = "a";
  a.load->baseline_bytes = UINT64_MAX - 200 * MiB + 1;
  b.name = "b";
  b.load->baseline_bytes = 300 * MiB;
  s.services = {a, b};
  const Budget budget = computeBudget(s);
  EXPECT_EQ(budget.baselines_bytes, UINT64_MAX);
  EXPECT_EQ(budget.neededBytes(), UINT64_MAX);
  EXPECT_FALSE(budget.fits());
  EXPECT_EQ(budget.headroomBytes(), 0u);
}
