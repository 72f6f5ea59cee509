// Steady time that a test can move forward at once: timers of seconds or minutes (ANATT,
// fast_io_fail_tmo, reconnect attempts) are checked without waiting for them.
#pragma once

#include <chrono>

#include "common/clock.h"

namespace nvmemp::test {

class JumpClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now() + offset_; }
  void jump(Nanos d) { offset_ += d; }

 private:
  Nanos offset_{0};
};

}  // namespace nvmemp::test
