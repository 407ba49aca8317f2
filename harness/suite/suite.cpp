#include "suite/suite.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <thread>

#include "oom/files.hpp"
#include "oom/text.hpp"
#include "oom/units.hpp"
#include "oom/utc.hpp"
#include "oom/version.hpp"
#include "report/report.hpp"
#include "run/exit_status.hpp"
#include "suite/admission.hpp"
#include "suite/matrix.hpp"
#include "suite/suite_html.hpp"
#include "suite/suite_report.hpp"
#include "vm/process.hpp"
#include "vm/reservations.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

extern char** environ;

namespace oom {
namespace {

// How often the suite looks at its children, the host and the terminal.
constexpr auto kTick = std::chrono::milliseconds(250);
// The cell's own output (the child oomharness's stdout and stderr).
constexpr const char* kCellLogFile = "oomharness.log";

std::map<std::string, std::string> environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos) env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

bool envIs(const char* name, const char* value) {
  const char* v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

Expected<fs::path> createSuiteDirectory(const fs::path& root, const std::string& utc) {
  return createUniqueDirectory(root, utc + "-suite", "the suite's folder");
}

// Peak resident memory of a live process (VmHWM), 0 when it cannot be read.
std::uint64_t peakRssBytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * KiB;
  return 0;
}

std::string readMeminfo() {
  std::ifstream in("/proc/meminfo");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The last non-empty line of a cell's log, for its status line.
std::string lastLine(const fs::path& file) {
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  in.seekg(from);
  std::string tail(static_cast<std::size_t>(size - from), '\0');
  in.read(tail.data(), static_cast<std::streamsize>(tail.size()));
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
  const auto nl = tail.rfind('\n');
  return printable(nl == std::string::npos ? tail : tail.substr(nl + 1));
}

struct CellOutcome {
  std::optional<FinishedRun> run;  // when result.json was read
  std::string verdict, reason;
  int exit_status = -1;
};

// A finished cell: its result.json, or why there is none.
CellOutcome readCellOutcome(const fs::path& dir, int wait_status) {
  CellOutcome outcome;
  const std::string how = WIFEXITED(wait_status) ? "exit " + std::to_string(WEXITSTATUS(wait_status))
                          : WIFSIGNALED(wait_status) ? std::string("killed by signal ") + ::strsignal(WTERMSIG(wait_status))
                                                     : "ended";
  outcome.exit_status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : kExitInconclusive;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir / kRunResultFile, ec))) {
    outcome.verdict = "inconclusive";
    outcome.reason = "the run ended (" + how + ") without a result.json; see " + (dir / kCellLogFile).string();
    return outcome;
  }
  const auto parsed = readResultJson(dir / kRunResultFile, "result file");
  if (!parsed) {
    outcome.verdict = "inconclusive";
    outcome.reason = "the run ended (" + how + ") with a result.json that is not readable: " + parsed.error().str();
    return outcome;
  }
  try {
    const auto& json = *parsed;
    FinishedRun run;
    run.verdict = json.at("verdict").get<std::string>();
    run.checks = json.at("checks").get<std::vector<CheckResult>>();
    outcome.verdict = run.verdict;
    outcome.reason = json.value("reason", "");
    outcome.exit_status = json.value("exit_status", outcome.exit_status);
    outcome.run = std::move(run);
  } catch (const nlohmann::json::exception& e) {
    outcome.verdict = "inconclusive";
    outcome.reason = "the run ended (" + how + ") with a result.json that is not readable: " + e.what();
  }
  return outcome;
}

// What the terminal shows. On a terminal (and not under CI, not --quiet): a block
// redrawn in place, one line per running guest under a header line, with each
// finished cell printed above it for good. Otherwise one plain line per cell
// started and ended.
class SuiteDisplay {
 public:
  SuiteDisplay(bool quiet, std::size_t cells, int repeats)
      : quiet_(quiet), live_(!quiet && ::isatty(STDOUT_FILENO) && !envIs("CI", "true")),
        colour_(live_ && !std::getenv("NO_COLOR")), width_(std::to_string(cells).size()), cells_(cells),
        repeats_(repeats) {}

  void started(std::size_t n, const SuiteCell& cell) {
    if (quiet_ || live_) return;
    std::printf("[%*zu/%zu] start %s on %s%s\n", static_cast<int>(width_), n, cells_, cell.scenario.c_str(),
                cell.release.c_str(), repeatText(cell).c_str());
    std::fflush(stdout);
  }

  // Line mode: once per new reason the next cell waits (the live block shows it in its header).
  void waiting(const SuiteCell& cell, const std::string& why) {
    if (quiet_ || live_) return;
    std::printf("%*s  %s on %s%s waits: %s\n", static_cast<int>(2 * width_ + 3), "", cell.scenario.c_str(),
                cell.release.c_str(), repeatText(cell).c_str(), why.c_str());
    std::fflush(stdout);
  }

  void finished(std::size_t n, const SuiteCell& cell) {
    if (quiet_) return;
    erase();
    const char* colour = !colour_ ? "" : cell.verdict == "pass" ? "\x1b[32m" : cell.verdict == "fail" ? "\x1b[31m" : "\x1b[33m";
    std::printf("[%*zu/%zu] %s%-12s%s %s on %s%s  %s  %s\n", static_cast<int>(width_), n, cells_, colour,
                cell.verdict.c_str(), colour_ ? "\x1b[0m" : "", cell.scenario.c_str(), cell.release.c_str(),
                repeatText(cell).c_str(), formatTenths(cell.duration_sec).c_str(), cell.folder.c_str());
    std::fflush(stdout);
  }

  // The live block: header, then one line per running guest.
  void redraw(const std::string& header, const std::vector<std::string>& lines) {
    if (!live_) return;
    // Once a second is enough to watch; sooner only when the block changes shape.
    const auto now = Clock::now();
    if (drawn_ == lines.size() + 1 && now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    erase();
    std::string block = header + "\n";
    for (const auto& l : lines) block += "  " + l + "\n";
    std::fputs(block.c_str(), stdout);
    std::fflush(stdout);
    drawn_ = lines.size() + 1;
  }

  void erase() {
    if (!live_ || drawn_ == 0) return;
    std::printf("\x1b[%zuF\x1b[J", drawn_);  // to the block's first line, clear to the end
    drawn_ = 0;
  }

  bool live() const { return live_; }

  // " r2" when the suite repeats its cells, "" otherwise.
  std::string repeatText(const SuiteCell& cell) const {
    return repeats_ > 1 ? " r" + std::to_string(cell.repeat) : "";
  }

 private:
  bool quiet_, live_, colour_;
  std::size_t width_, cells_, drawn_ = 0;
  int repeats_;
  Clock::time_point last_;
};

struct Child {
  std::size_t cell = 0;
  int pid = 0;
  Clock::time_point start;
  GuestDemand demand;
  std::uint64_t peak_rss_bytes = 0;
};

// Starts `argv` with stdout and stderr into `log`, in a process group of its own
// (Ctrl-C reaches the suite, which stops each run), dying with the suite.
Expected<int> startChild(const std::vector<std::string>& argv, const fs::path& log) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, outputFileMode());
  if (fd < 0) return failSetup(log.string(), std::string("cannot create the cell's log: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return failSetup(argv.front(), std::string("cannot fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    prepareChild(SIGTERM);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "oomharness: cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fd);
  return pid;
}

class SuiteRun {
 public:
  SuiteRun(const SuiteOptions& options, fs::path dir, SuiteIndex index, std::map<std::string, GuestDemand> demand,
           int jobs)
      : options_(options), dir_(std::move(dir)), index_(std::move(index)), demand_(std::move(demand)),
        jobs_(jobs), display_(options.quiet, index_.cells.size(), index_.repeat) {}

  int run();

 private:
  void launchNext();
  void reap();
  void stopAll();
  void write();
  void showLive();
  std::vector<OtherReservation> otherRuns() const;

  const SuiteOptions& options_;
  fs::path dir_;
  SuiteIndex index_;
  std::map<std::string, GuestDemand> demand_;  // by scenario name
  int jobs_;
  SuiteDisplay display_;
  std::vector<Child> running_;
  std::map<std::string, FinishedRun> finished_;  // by cell folder
  std::size_t next_ = 0, done_ = 0;
  std::string waiting_for_;
  std::string waiting_kind_;  // "vCPUs" or "memory": what the last wait was for
  bool stopping_ = false;
  std::vector<std::string> write_failures_;
  Clock::time_point start_ = Clock::now();
};

std::vector<OtherReservation> SuiteRun::otherRuns() const {
  auto folder = reservationFolder();
  if (!folder) return {};
  std::vector<OtherReservation> others;
  for (auto& r : liveReservations(*folder)) {
    // Our own runs are counted by their demand (admitGuest); skip their reservations.
    const bool ours = std::any_of(running_.begin(), running_.end(), [&](const Child& c) { return c.pid == r.pid; });
    if (!ours) others.push_back(std::move(r));
  }
  return others;
}

void SuiteRun::launchNext() {
  if (stopping_ || next_ >= index_.cells.size() || static_cast<int>(running_.size()) >= jobs_) return;
  SuiteCell& cell = index_.cells[next_];
  const GuestDemand demand = demand_.at(cell.scenario);
  std::vector<RunningGuest> guests;
  for (const auto& c : running_)
    guests.push_back({index_.cells[c.cell].folder, c.pid, c.demand, anonymousMemoryOf(c.pid)});
  const Admission admission =
      admitGuest(demand, guests, readMeminfo(), hostCpus(), options_.oversubscribe, otherRuns());
  if (!admission.admit) {
    // The figures move every tick: say it when what the suite waits for changes.
    const std::string kind = admission.waiting_for.substr(0, admission.waiting_for.find(':'));
    if (kind != waiting_kind_) display_.waiting(cell, admission.waiting_for);
    waiting_kind_ = kind;
    waiting_for_ = admission.waiting_for;
    return;
  }
  waiting_for_.clear();
  const fs::path folder = dir_ / cell.folder;
  std::vector<std::string> argv{options_.self.string(), "run", cell.file, "--release", cell.release,
                                "--accel", options_.accelerator, "--run-dir", folder.string()};
  if (options_.cold_boot) argv.push_back("--cold-boot");
  if (options_.units_dir) argv.insert(argv.end(), {"--units", options_.units_dir->string()});
  auto pid = ::mkdir(folder.c_str(), outputFolderMode()) == 0
                 ? startChild(argv, folder / kCellLogFile)
                 : Expected<int>(failSetup(folder.string(), std::string("cannot create the cell's folder: ") +
                                                                std::strerror(errno)));
  cell.started_at = utcNow();
  ++next_;
  if (!pid) {
    cell.status = CellStatus::done;
    cell.verdict = "inconclusive";
    cell.exit_status = exitStatusFor(pid.error());
    cell.reason = pid.error().str();
    cell.finished_at = cell.started_at;
    ++done_;
    display_.finished(done_, cell);
  } else {
    cell.status = CellStatus::running;
    running_.push_back({next_ - 1, *pid, Clock::now(), demand, 0});
    display_.started(next_, cell);
  }
  write();
}

void SuiteRun::reap() {
  for (auto& c : running_) c.peak_rss_bytes = std::max(c.peak_rss_bytes, peakRssBytes(c.pid));
  for (auto it = running_.begin(); it != running_.end();) {
    int status = 0;
    const pid_t got = ::waitpid(it->pid, &status, WNOHANG);
    if (got == 0 || (got < 0 && errno == EINTR)) {
      ++it;
      continue;
    }
    SuiteCell& cell = index_.cells[it->cell];
    const CellOutcome outcome = readCellOutcome(dir_ / cell.folder, got < 0 ? 0 : status);
    cell.status = CellStatus::done;
    cell.verdict = outcome.verdict;
    cell.reason = outcome.reason;
    cell.exit_status = outcome.exit_status;
    cell.duration_sec = std::chrono::duration<double>(Clock::now() - it->start).count();
    cell.finished_at = utcNow();
    cell.harness_peak_rss_bytes = it->peak_rss_bytes;
    if (outcome.run) {
      FinishedRun run = *outcome.run;
      run.repeat = cell.repeat;
      finished_[cell.folder] = std::move(run);
    }
    ++done_;
    display_.finished(done_, cell);
    it = running_.erase(it);
    write();
  }
}

void SuiteRun::stopAll() {
  if (stopping_) return;
  stopping_ = true;
  // Each run stops its guest and writes its result.json (exit 130).
  for (const auto& c : running_) signalGroup(c.pid, SIGTERM);
  for (std::size_t i = next_; i < index_.cells.size(); ++i) index_.cells[i].status = CellStatus::not_run;
  next_ = index_.cells.size();
  write();
}

// index.json, junit.xml and summary.txt as they stand: every finished cell in them.
void SuiteRun::write() {
  index_.groups = suiteGroups(index_, finished_);
  const bool all_done = std::all_of(index_.cells.begin(), index_.cells.end(),
                                    [](const SuiteCell& c) { return c.status == CellStatus::done; });
  index_.complete = all_done;
  std::vector<std::string> failures;
  for (const auto& [file, text] :
       {std::pair<const char*, std::string>{kSuiteIndexFile, nlohmann::json(index_).dump(2) + "\n"},
        {"junit.xml", suiteJunitXml(index_, finished_)},
        {"summary.txt", suiteSummary(index_)},
        {"index.html", suiteIndexHtml(index_)}})
    if (auto written = writeFileAtomically(dir_ / file, text); !written) failures.push_back(written.error().str());
  write_failures_ = failures;
}

void SuiteRun::showLive() {
  if (!display_.live()) return;
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  std::string header = "suite: " + std::to_string(done_) + "/" + std::to_string(index_.cells.size()) + " done, " +
                       std::to_string(running_.size()) + " running, " + formatTenths(elapsed);
  if (!waiting_for_.empty() && next_ < index_.cells.size()) header += "; next waits for " + waiting_for_;
  std::vector<std::string> lines;
  for (const auto& c : running_) {
    const auto& cell = index_.cells[c.cell];
    const double t = std::chrono::duration<double>(Clock::now() - c.start).count();
    std::string line = cell.scenario + " on " + cell.release + display_.repeatText(cell) + "  " +
                       formatTenths(t) + "  " + lastLine(dir_ / cell.folder / kCellLogFile);
    if (line.size() > 150) line = line.substr(0, 147) + "...";
    lines.push_back(line);
  }
  display_.redraw(header, lines);
}

int SuiteRun::run() {
  write();
  while (!running_.empty() || next_ < index_.cells.size()) {
    if (interruptRequested()) stopAll();
    reap();
    const std::size_t before = next_;
    launchNext();
    if (next_ != before) continue;  // another may start at once
    showLive();
    std::this_thread::sleep_for(kTick);
  }
  display_.erase();
  index_.finished_at = utcNow();
  const SuiteOutcome outcome = suiteOutcome(index_, stopping_);
  index_.verdict = outcome.verdict;
  index_.exit_status = outcome.exit_status;
  write();
  std::printf("\n%s\nsuite: %s (exit %d): %s; %s in %s\n", suiteSummary(index_).c_str(), outcome.verdict.c_str(),
              outcome.exit_status, outcome.reason.c_str(),
              formatTenths(std::chrono::duration<double>(Clock::now() - start_).count()).c_str(), dir_.c_str());
  std::fflush(stdout);
  for (const auto& failure : write_failures_) std::fprintf(stderr, "oomharness: report not written: %s\n", failure.c_str());
  return outcome.exit_status;
}

}  // namespace

bool isSuite(const SuiteOptions& options) {
  if (options.inputs.size() != 1 || options.repeat > 1 || !options.shard.empty()) return true;
  if (options.releases == "all" || options.releases.find(',') != std::string::npos) return true;
  std::error_code ec;
  return fs::is_directory(options.inputs.front(), ec);
}

int runSuite(const SuiteOptions& options) {
  installInterruptHandlers();
  auto bad = [](const std::string& message) {
    std::fprintf(stderr, "oomharness: %s; nothing was started\n", message.c_str());
    return kExitBadInput;
  };
  const auto files = expandScenarioInputs(options.inputs);
  if (!files) return bad(files.error().str());
  const auto releases = parseReleaseList(options.releases);
  if (!releases) return bad(releases.error().str());
  if (options.repeat < 1 || options.repeat > 100) return bad("--repeat: expected 1 to 100");
  if (options.jobs && (*options.jobs < 1 || *options.jobs > 64)) return bad("-j: expected 1 to 64 guests at once");
  Shard shard;
  if (!options.shard.empty()) {
    const auto parsed = parseShard(options.shard);
    if (!parsed) return bad(parsed.error().str());
    shard = *parsed;
  } else {
    const auto from_env = shardFromEnvironment(environment());
    if (!from_env) return bad(from_env.error().str());
    if (*from_env) shard = **from_env;
  }
  const SuiteInput input = loadSuiteScenarios(*files, *releases, options.units_dir);
  if (!input.ok()) {
    for (const auto& w : input.warnings) std::fprintf(stderr, "warning: %s\n", w.str().c_str());  // str() escapes
    for (const auto& e : input.errors) std::fprintf(stderr, "error: %s\n", e.str().c_str());
    return bad("the suite has invalid scenarios");
  }

  std::map<std::string, double> time_limits;
  std::map<std::string, GuestDemand> demand;
  unsigned largest_cpus = 1;
  for (const auto& s : input.scenarios) {
    time_limits[s.scenario.name] = s.scenario.time_limit_sec;
    demand[s.scenario.name] = {s.scenario.guest.memory_bytes,
                               s.scenario.guest.swap_kind == kSwapDisk ? s.scenario.guest.swap_bytes : 0,
                               s.scenario.guest.cpus};
    largest_cpus = std::max(largest_cpus, s.scenario.guest.cpus);
  }
  SuiteIndex index;
  index.tool_version = kVersion;
  index.started_at = utcNow();
  index.inputs = options.inputs;
  index.releases = *releases;
  index.repeat = options.repeat;
  index.shard_index = shard.index;
  index.shard_total = shard.total;
  const int jobs = options.jobs.value_or(defaultJobs(hostCpus(), largest_cpus));
  index.jobs = jobs;
  const auto all = buildMatrix(input.scenarios, *releases, options.repeat);
  index.cells = selectShard(all, time_limits, shard);
  if (options.list) {
    std::printf("# shard %d/%d: %zu of %zu cell(s); up to %d guest(s) at once\n", shard.index, shard.total,
                index.cells.size(), all.size(), jobs);
    for (const auto& c : index.cells)
      std::printf("%s\t%s\t%d\t%s\t%s\n", c.scenario.c_str(), c.release.c_str(), c.repeat, c.folder.c_str(),
                  c.file.c_str());
    return kExitPass;
  }

  const auto dir = createSuiteDirectory(options.results_root, utcNow(kCompactUtc));
  if (!dir) {
    std::fprintf(stderr, "oomharness: %s\n", dir.error().str().c_str());
    return exitStatusFor(dir.error());
  }
  if (!options.quiet) {
    // Each cell's log has them in full; a suite of shipped examples would repeat them at every start.
    if (!input.warnings.empty())
      std::printf("oomharness: %zu lint warning(s) in these scenarios (`oomharness check` lists them)\n",
                  input.warnings.size());
    std::printf("oomharness: suite of %zu run(s): %zu scenario(s) x %zu release(s) x %d repeat(s)", index.cells.size(),
                input.scenarios.size(), releases->empty() ? std::size_t{1} : releases->size(), options.repeat);
    if (shard.total > 1) std::printf(", shard %d/%d of %zu", shard.index, shard.total, all.size());
    std::printf("; up to %d guest(s) at once%s\n  results in %s\n", jobs,
                options.oversubscribe ? " (vCPUs may exceed the host's CPUs)" : "", dir->c_str());
    std::fflush(stdout);
  }
  SuiteRun run(options, *dir, std::move(index), std::move(demand), jobs);
  return run.run();
}

}  // namespace oom
