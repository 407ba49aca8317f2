#include "options.hpp"

#include "arena.hpp"

#include "oom/text.hpp"
#include "oom/units.hpp"

namespace oom::stress {

const char* usage() {
  return R"(usage: oomstress --target SIZE [options]
       oomstress --checkpoint FILE [options]   (resume the job FILE records)

Allocates real memory (every page filled with data unique to it, so KSM, the
zero page and compressed swap cannot fake it) in the shape a scenario asks for,
and reports what it achieved: one JSON line per report interval on stdout.

  --target SIZE           memory to hold, e.g. 512M, 2G, 300MiB (whole unit)
  --rate SIZE/s           allocation rate, e.g. 50M/s; 0 or absent: as fast as possible
  --hold DURATION         after reaching the target, hold this long, then exit 0
                          (default: hold until killed)
  --start-after DURATION  wait before allocating
  --leak                  reach the target as fast as possible, then keep growing at
                          --rate until killed (READY=1 is sent at the target)
  --spike SIZE@TIME       at TIME after start (--start-after included, as in the
                          reports' t), allocate SIZE at once, on top
  --sawtooth              after the target: free down to half (munmap), grow back at
                          --rate, repeat (no --rate: half and full, one second each)
  --processes N           fork N-1 children; each carries 1/N of target, rate and spike.
                          A child that dies is not replaced (Restart= is under test).
  --supervisor            the main process holds no memory and forks N workers (N from
                          --processes, default 1) that carry the load: a pre-fork server's
                          master, which the kernel will not pick while a worker holds more.
                          It exits once every worker has (0 if each exited 0, else 1).
                          Not with --checkpoint.
  --thp                   madvise(MADV_HUGEPAGE) on allocations
  --mlock                 mlock allocations
  --compress-ratio N      fill pages so that a compressor (zram, zswap) shrinks them
                          about N times (1 to 16; default 1: incompressible)
  --report-interval D     JSON report period (default 1s)
  --health-port PORT      a health endpoint on 0.0.0.0:PORT, bound at start and
                          listening from the moment READY=1 is sent (every process
                          holds its share of the target): each HTTP request gets
                          200 and the phase and bytes held; before that a connect
                          is refused, and a kill closes it
  --checkpoint FILE       batch mode: a job whose work is the bytes it allocates along
                          its schedule (ramp to --target at --rate; with --leak, every
                          leaked byte too), counted across runs. Progress is saved
                          atomically (temp file, fsync, rename) every report interval as
                          JSON: format, target, done (bytes), units_done (MiB), runs,
                          complete; with --processes, process N>0 uses FILE.N.
                          A restarted job finds FILE, prints {"event":"resumed",
                          "resumed_from":BYTES}, rebuilds the working set it had
                          (min(done, target), at once) and carries on from there at
                          --rate; a restart frees leaked memory but keeps the work.
                          The work is complete when the target has been held for --hold
                          (default 0 in this mode): FILE is marked complete, exit 0; a
                          job started on a complete FILE exits 0 at once. --target may
                          be omitted to resume the one FILE records. An unreadable FILE
                          is an error (exit 2): delete it to start over.

Each report line: t (s since start, monotonic), pid, process (0 = main), phase
(waiting|ramping|holding|leaking|sawtooth|exiting), processes_alive, bytes_allocated
(this process), rss_bytes (VmRSS; in the main process of --processes N, summed over
the live processes: rss_scope says which), rate_bps_interval and rate_bps_overall
(bytes/s over the last interval and since allocation started), time_to_target (s
from allocation start, -1 until reached), resumed_from. Events: {"event":"child_exited",...,"respawn":false},
{"event":"resumed",...}, {"event":"complete",...}, {"event":"listening","port":PORT}. stderr carries errors only.

With $NOTIFY_SOCKET set (systemd Type=notify) it sends READY=1 once every
process holds its share of the target, and STATUS= at each report.
SIGTERM or SIGINT: a last report line, then exit 0. Bad arguments: exit 2.
)";
}

namespace {

Error flagError(const std::string& flag, const std::string& accepted, const std::string& got) {
  return Error{flag, "expected " + accepted + ", got '" + got + "'"};
}

}  // namespace

Expected<Options> parseOptions(const std::vector<std::string>& args) {
  Options o;
  bool have_target = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto value = [&](const char* accepted) -> Expected<std::string> {
      if (i + 1 >= args.size()) return tl::unexpected(flagError(flag, accepted, ""));
      return args[++i];
    };
    auto size = [&](const char* accepted) -> Expected<std::uint64_t> {
      auto v = value(accepted);
      if (!v) return tl::unexpected(v.error());
      auto s = parseSize(*v);
      if (!s) return tl::unexpected(flagError(flag, accepted, *v));
      return *s;
    };
    // A whole number from lo to hi and nothing else (oom/text.hpp parseNumber).
    auto wholeNumber = [&](const char* accepted, unsigned lo, unsigned hi) -> Expected<unsigned> {
      auto v = value(accepted);
      if (!v) return tl::unexpected(v.error());
      const auto n = parseNumber<unsigned>(*v);
      if (!n || *n < lo || *n > hi) return tl::unexpected(flagError(flag, accepted, *v));
      return *n;
    };
    auto duration = [&]() -> Expected<double> {
      const char* accepted = "a duration such as 30s, 250ms or 2min";
      auto v = value(accepted);
      if (!v) return tl::unexpected(v.error());
      auto d = parseDuration(*v);
      if (!d) return tl::unexpected(flagError(flag, accepted, *v));
      return d->count();
    };
    if (flag == "--help" || flag == "-h") {
      o.help = true;
    } else if (flag == "--target") {
      auto s = size("a size such as 512M, 2G or 300MiB");
      if (!s) return tl::unexpected(s.error());
      o.target = *s;
      have_target = true;
    } else if (flag == "--rate") {
      const char* accepted = "a rate such as 50M/s";
      auto v = value(accepted);
      if (!v) return tl::unexpected(v.error());
      auto r = parseRate(*v);
      if (!r) return tl::unexpected(flagError(flag, accepted, *v));
      o.rate = *r;
    } else if (flag == "--hold") {
      auto d = duration();
      if (!d) return tl::unexpected(d.error());
      o.hold_sec = *d;
    } else if (flag == "--start-after") {
      auto d = duration();
      if (!d) return tl::unexpected(d.error());
      o.start_after_sec = *d;
    } else if (flag == "--report-interval") {
      auto d = duration();
      if (!d) return tl::unexpected(d.error());
      if (*d <= 0) return tl::unexpected(flagError(flag, "a positive duration such as 1s", args[i]));
      o.report_interval_sec = *d;
    } else if (flag == "--spike") {
      const char* accepted = "SIZE@TIME such as 200M@30s";
      auto v = value(accepted);
      if (!v) return tl::unexpected(v.error());
      auto spike = parseSizeAt(*v);
      if (!spike) return tl::unexpected(flagError(flag, accepted, *v));
      o.spike = *spike;
    } else if (flag == "--processes") {
      auto n = wholeNumber("a whole number from 1 to 64", 1, 64);
      if (!n) return tl::unexpected(n.error());
      o.processes = *n;
    } else if (flag == "--compress-ratio") {
      auto n = wholeNumber("a whole number from 1 to 16", 1, kMaxCompressRatio);
      if (!n) return tl::unexpected(n.error());
      o.compress_ratio = *n;
    } else if (flag == "--health-port") {
      auto n = wholeNumber("a TCP port from 1 to 65535", 1, 65535);
      if (!n) return tl::unexpected(n.error());
      o.health_port = static_cast<std::uint16_t>(*n);
    } else if (flag == "--checkpoint") {
      auto v = value("a file path");
      if (!v) return tl::unexpected(v.error());
      o.checkpoint = *v;
    } else if (flag == "--leak") {
      o.leak = true;
    } else if (flag == "--supervisor") {
      o.supervisor = true;
    } else if (flag == "--sawtooth") {
      o.sawtooth = true;
    } else if (flag == "--thp") {
      o.thp = true;
    } else if (flag == "--mlock") {
      o.mlock = true;
    } else {
      return fail(flag, "unknown option; see oomstress --help");
    }
  }
  if (o.help) return o;
  // A checkpointed job may omit --target: it resumes the one its checkpoint records.
  if (!have_target && o.checkpoint.empty())
    return fail("--target", "required: a size such as 512M, 2G or 300MiB");
  o.target_from_checkpoint = !have_target;
  if (o.leak && o.rate == 0) return fail("--leak", "needs a nonzero --rate (how fast it leaks)");
  if (o.leak && o.sawtooth) return fail("--sawtooth", "cannot be combined with --leak");
  if (o.supervisor && !o.checkpoint.empty())
    return fail("--supervisor", "cannot be combined with --checkpoint (each worker would need a job of its own)");
  return o;
}

Options shareFor(const Options& whole, unsigned index) {
  Options part = whole;
  const unsigned n = whole.processes;
  auto split = [&](std::uint64_t total) {
    // The first process takes the remainder, so the shares add up exactly.
    return total / n + (index == 0 ? total % n : 0);
  };
  part.target = split(whole.target);
  part.rate = split(whole.rate);
  if (whole.spike) part.spike = Spike{split(whole.spike->bytes), whole.spike->at_sec};
  return part;
}

Options supervisorShare(const Options& whole) {
  Options part = whole;
  part.target = 0;
  part.rate = 0;
  part.leak = false;
  part.spike.reset();
  part.sawtooth = false;
  part.hold_sec.reset();  // it stays until its workers are gone
  return part;
}

}  // namespace oom::stress
