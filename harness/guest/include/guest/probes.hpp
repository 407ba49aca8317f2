#pragma once
// The clients' view of the services: each of the plan's probes (an http request, a
// tcp connect or a command) tried on a fixed schedule in a thread of its own, every
// attempt written as a "probe" record (timeline.hpp ProbeAttempt) with its latency
// and result.
//
// What keeps the observer's timing intact: the probe threads run at normal priority
// (the sampler is real-time and the event loop never waits on a probe), each with
// a small stack (the agent locks all its memory: mlockall in guest_main.cpp), and
// an attempt is bounded by its timeout. A probe models a client outside the host,
// so it must never be the one that runs out of memory: its threads and the
// commands it starts inherit the agent's oom_score_adj -1000, and the kernel never
// chooses them (docs/probes.md).
#include <pthread.h>

#include <atomic>
#include <memory>
#include <vector>

#include "guest/record_sink.hpp"
#include "oom/expected.hpp"
#include "plan/guest_plan.hpp"
#include "timeline/timeline.hpp"

namespace oom {

// Whatever a probe attempt reads of its answer: at most this much body or output.
inline constexpr std::size_t kProbeOutputKept = 64 * 1024;

// One attempt of `probe` now, on the caller's thread, within its timeout. It ends
// early, with result "stopped", once `stop_fd` (an eventfd; -1: none) is readable.
ProbeAttempt attemptProbe(const PlannedProbe& probe, int stop_fd = -1);

class ProbeRunner {
 public:
  ProbeRunner(RecordSink& sink, std::vector<PlannedProbe> probes);
  ~ProbeRunner();  // stops and joins every thread
  ProbeRunner(const ProbeRunner&) = delete;
  ProbeRunner& operator=(const ProbeRunner&) = delete;

  // One thread per probe, each trying at t0 + k * interval from now (an attempt
  // that overruns skips the slots it missed). An error names the probe whose
  // thread could not start (those started are stopped).
  Expected<void> start();
  // Ends every attempt under way (none is recorded) and joins the threads. Idempotent.
  void stop();

 private:
  struct Worker {
    ProbeRunner* runner;
    PlannedProbe probe;
    pthread_t thread{};
    bool started = false;
  };
  static void* threadMain(void* worker);
  void run(const PlannedProbe& probe);

  RecordSink& sink_;
  std::vector<std::unique_ptr<Worker>> workers_;
  int stop_fd_ = -1;  // eventfd, readable once stop() was asked: wakes every wait
  std::atomic<bool> stopping_{false};
  double t0_ = 0;
};

}  // namespace oom
