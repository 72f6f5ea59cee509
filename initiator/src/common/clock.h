// Time for timers: deadlines are checked by the owning loop against a Clock that tests can
// replace (no sleeping in tests, no timer threads).
#pragma once

#include <chrono>
#include <cstdint>

namespace nvmemp {

using Nanos = std::chrono::nanoseconds;
using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Nanos>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to: for unit tests of timeouts.
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return now_; }
  void advance(Nanos d) { now_ += d; }

 private:
  TimePoint now_{};
};

}  // namespace nvmemp
