// IoEngine::poll(): one turn of the context's ring and how it waits (PollMode, nvmemp/mpath.h).
// Interrupt sleeps in io_uring_enter until something completes. Busy, while commands are out,
// asks the ring for completions without sleeping (one io_uring_enter with a zero timeout a
// spin: with DEFER_TASKRUN socket completions appear only when the ring is entered) and yields
// the CPU at least every kYieldEvery, so a control thread or a second busy context on the same
// core still runs. Hybrid sleeps until the queue expected to answer first is half its learned
// gap from answering (hybrid_wait.h), then spins as busy does.
#include <sched.h>
#include <sys/prctl.h>

#include <fmt/format.h>

#include "multipath/io_engine_state.h"

namespace nvmemp::multipath {

namespace {
using namespace std::chrono_literals;
constexpr Nanos kYieldEvery = 50us;
// A sleep shorter than this costs more (timer set-up, wake-up) than the spin it saves.
constexpr Nanos kMinSleep = 4us;
}  // namespace

bool IoEngine::commands_in_flight() const noexcept {
  for (const auto& tp : paths_) {
    if (tp->q != nullptr && tp->q->q->inflight() > 0) return true;
  }
  return false;
}

TimePoint IoEngine::hybrid_poll_from() {
  TimePoint from = TimePoint::max();
  for (const auto& tp : paths_) {
    if (tp->q == nullptr || tp->q->q->inflight() == 0) continue;
    from = std::min(from, tp->q->hybrid.poll_from(tp->q->busy_since));
  }
  return from;
}

Result<unsigned> IoEngine::spin_ring(TimePoint deadline) {
  for (;;) {
    auto p = reactor_->poll(Nanos(0));
    if (!p || *p > 0) return p;
    const TimePoint now = clock_.now();
    if (now - last_yield_ >= kYieldEvery) {
      ::sched_yield();
      last_yield_ = now;
    }
    if (now >= deadline) return p;
  }
}

Result<unsigned> IoEngine::wait_ring(Nanos wait) {
  if (mode_ == PollMode::Interrupt || wait.count() == 0 || !commands_in_flight()) {
    auto p = reactor_->poll(wait);
    if (wait.count() > 0) last_yield_ = clock_.now();  // it may have slept
    return p;
  }
  const TimePoint now = clock_.now();
  const TimePoint deadline = now + wait;
  if (mode_ == PollMode::Hybrid) {
    // The sleep is a timed wait in the ring: with the default 50 us timer slack it would end
    // tens of microseconds late, longer than the completion it waits for. Once per thread.
    static thread_local bool slack_set = false;
    if (!slack_set) {
      (void)::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
      slack_set = true;
    }
    // Wake early by what a timed sleep overshoots here (learned): in a VM whose idle vCPU
    // halts, a timer wake-up alone can take longer than the completion it waits for, and then
    // hybrid polls at once instead of sleeping past the answer.
    const TimePoint wake = std::min(hybrid_poll_from(), deadline) - oversleep_;
    if (wake - now >= kMinSleep) {
      auto p = reactor_->poll(wake - now);
      const TimePoint after = clock_.now();
      last_yield_ = after;
      if (!p || *p > 0) return p;  // something came during the sleep
      const Nanos late = std::max(Nanos(0), after - wake);
      oversleep_ += (late - oversleep_) / 8;
    }
  }
  return spin_ring(deadline);
}

Result<unsigned> IoEngine::poll(std::chrono::nanoseconds timeout) {
  callbacks_ = 0;
  ++turn_;  // what is submitted from here on goes out in the next send batch
  refresh_topology();
  run_waiting();
  run_deferred();
  Nanos wait = timeout;
  if (!waiting_.empty() || outstanding_ > 0) wait = std::min<Nanos>(wait, 5ms);
  if (!deferred_.empty()) wait = Nanos(0);
  if (callbacks_ > 0) wait = Nanos(0);
  auto p = wait_ring(wait);
  if (!p) return tl::unexpected(p.error());
  if (mode_ == PollMode::Hybrid) {
    for (const auto& tp : paths_) {
      if (tp->q != nullptr) tp->q->hybrid.observe(tp->q->q->last_progress(), tp->q->busy_since);
    }
  }
  const TimePoint now = clock_.now();
  if (now >= next_scan_) {
    next_scan_ = now + 20ms;
    scan_paths();
  }
  run_waiting();
  run_deferred();
  return callbacks_;
}

}  // namespace nvmemp::multipath

namespace nvmemp {

const char* poll_mode_name(PollMode m) noexcept {
  switch (m) {
    case PollMode::Interrupt: return "interrupt";
    case PollMode::Hybrid: return "hybrid";
    case PollMode::Busy: return "busy";
  }
  return "?";
}

Result<PollMode> parse_poll_mode(std::string_view name) {
  for (PollMode m : {PollMode::Interrupt, PollMode::Hybrid, PollMode::Busy}) {
    if (name == poll_mode_name(m)) return m;
  }
  return make_error(Errc::InvalidArgument,
                    fmt::format("unknown poll mode '{}': interrupt, hybrid or busy", name));
}

}  // namespace nvmemp
