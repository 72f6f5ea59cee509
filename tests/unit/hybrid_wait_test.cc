// HybridGap (multipath/hybrid_wait.h): the gap between arrivals a queue learns while busy, and
// when a hybrid-polling context starts to poll for it.
#include <catch2/catch.hpp>

#include <chrono>

#include "multipath/hybrid_wait.h"

namespace nvmemp::multipath {
namespace {

using namespace std::chrono_literals;
TimePoint at(Nanos t) { return TimePoint{} + t; }

}  // namespace

TEST_CASE("hybrid wait: nothing learned means poll at once", "[poll]") {
  HybridGap g;
  CHECK(g.poll_from(at(1ms)) == TimePoint{});
  CHECK(g.gap() == 0ns);
}

TEST_CASE("hybrid wait: the gap runs from the submission that made the queue busy", "[poll]") {
  HybridGap g;
  // Idle until 1 ms, a command at 1 ms answered at 1.040 ms: a 40 us gap.
  g.observe(at(1040us), at(1ms));
  CHECK(g.gap() == 40us);
  // The next command at 2 ms: poll from 2 ms + 20 us (half the gap).
  CHECK(g.poll_from(at(2ms)) == at(2ms + 20us));
}

TEST_CASE("hybrid wait: while busy the gap runs from the last arrival, the average moves by 1/8",
          "[poll]") {
  HybridGap g;
  g.observe(at(1040us), at(1ms));         // 40 us
  g.observe(at(1120us), at(1ms));         // still busy since 1 ms: 80 us after the last arrival
  CHECK(g.gap() == 45us);                 // 40 + (80 - 40) / 8
  CHECK(g.poll_from(at(1ms)) == at(1120us + 22500ns));
  g.observe(at(1120us), at(1ms));         // nothing new: no sample
  CHECK(g.gap() == 45us);
  // A stale busy_since older than the last arrival does not stretch the sample.
  g.observe(at(1165us), at(1ms));
  CHECK(g.gap() == 45us);
}

}  // namespace nvmemp::multipath
