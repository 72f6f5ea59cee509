// Hybrid polling (PollMode::Hybrid): how long an I/O context may sleep before it polls. Each
// queue learns the gap between arrivals while it has commands outstanding (EWMA, 1/8); the
// context sleeps until the earliest queue's last arrival (or the submission that made it busy)
// plus half its gap, then polls. Half, as the kernel's hybrid polling: an arrival early in the
// sleep costs one wake-up (as interrupt mode would), and one that comes later is met by the
// poll; a sample taken after a wake-up includes the wake-up's latency, which half the gap
// keeps from feeding on itself (the next sleep is still shorter than the gap it measured).
//
// Pure arithmetic over time points; one per queue, on its I/O thread.
#pragma once

#include <algorithm>

#include "common/clock.h"

namespace nvmemp::multipath {

class HybridGap {
 public:
  // After each turn of the ring: `last_arrival` is the queue's last_progress(), `busy_since`
  // when its outstanding count last went from 0 to 1.
  void observe(TimePoint last_arrival, TimePoint busy_since) noexcept {
    if (last_arrival <= seen_) return;
    const TimePoint anchor = std::max(seen_, busy_since);
    if (anchor != TimePoint{} && last_arrival > anchor) {
      const Nanos sample = last_arrival - anchor;
      gap_ = gap_.count() == 0 ? sample : gap_ + (sample - gap_) / 8;
    }
    seen_ = last_arrival;
  }
  // When the queue's next arrival is worth polling for; TimePoint{} before anything was learned
  // (poll at once).
  TimePoint poll_from(TimePoint busy_since) const noexcept {
    if (gap_.count() == 0) return TimePoint{};
    return std::max(seen_, busy_since) + gap_ / 2;
  }
  Nanos gap() const noexcept { return gap_; }

 private:
  TimePoint seen_{};
  Nanos gap_{0};
};

}  // namespace nvmemp::multipath
