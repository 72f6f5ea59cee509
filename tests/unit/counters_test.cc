// Counter sets (topology/counters.h): one cache-line slot per I/O context the Fabric may have,
// summed on demand; the owner-only bumps of the I/O path.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>

#include "topology/counters.h"

namespace nvmemp::topology {

TEST_CASE("counter sets: memory scales with the number of I/O contexts, not with kMaxIoContexts", "[counters]") {
  for (std::size_t contexts : {std::size_t{1}, std::size_t{2}, kMaxIoContexts}) {
    INFO(contexts << " context(s)");
    const PathCounterSet p(contexts);
    const HeadPathCounterSet hp(contexts);
    const HeadCounterSet h(contexts);
    CHECK(p.slots() == contexts);
    CHECK(hp.slots() == contexts);
    CHECK(h.slots() == contexts);
    // One cache line per context and a small header; the sets used to be 64 x 64 bytes each.
    CHECK(p.bytes() == sizeof(PathCounterSet) + 64 * contexts);
    CHECK(hp.bytes() == sizeof(HeadPathCounterSet) + 64 * contexts);
    CHECK(h.bytes() == sizeof(HeadCounterSet) + 64 * contexts);
    std::printf("counter set, %zu context(s): %zu bytes\n", contexts, p.bytes());
  }
  CHECK(sizeof(PathCounterSet) <= 16);
  // Slots never share a cache line: each context writes its own.
  static_assert(sizeof(PathSlot) == 64 && alignof(PathSlot) == 64);
  static_assert(sizeof(HeadPathSlot) == 64 && alignof(HeadPathSlot) == 64);
  static_assert(sizeof(HeadSlot) == 64 && alignof(HeadSlot) == 64);
  PathCounterSet two(2);
  CHECK(reinterpret_cast<std::uintptr_t>(&two.slot(0)) % 64 == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(&two.slot(1)) - reinterpret_cast<std::uintptr_t>(&two.slot(0)) == 64);
}

TEST_CASE("counter sets: each context counts in its slot, sums add them up", "[counters]") {
  PathCounterSet path(2);
  HeadPathCounterSet ns(2);
  HeadCounterSet head(2);
  // Context 0: a 4 KiB read done, then an error that fails over; context 1: a flush (no data)
  // and a retry.
  count_done({&path.slot(0), &ns.slot(0)}, true, 4096);
  count_done({&path.slot(0), &ns.slot(0)}, false, 4096);
  bump_all(&IoTally::failovers, {&path.slot(0), &ns.slot(0), &head.slot(0)});
  count_done({&path.slot(1), nullptr}, true, 0);
  bump_all(&IoTally::retries, {&path.slot(1), nullptr, &head.slot(1)});
  bump(path.slot(1).stalls);
  bump(path.slot(1).outstanding);
  bump(path.slot(1).outstanding, static_cast<std::uint64_t>(-1));
  bump(head.slot(0).held);

  // ios, bytes, errors, failovers, retries
  const auto io = [](const auto& c) { return std::array{c.ios, c.bytes, c.errors, c.failovers, c.retries}; };
  using Io = std::array<std::uint64_t, 5>;
  const PathCounters p = path.sum();
  CHECK(io(p) == Io{2, 4096, 1, 1, 1});
  CHECK(p.stalls == 1);
  CHECK(p.outstanding == 0);
  CHECK(io(ns.sum()) == Io{1, 4096, 1, 1, 0});
  const HeadCounters h = head.sum();
  CHECK(io(h) == Io{0, 0, 0, 1, 1});
  CHECK(h.held == 1);
}

}  // namespace nvmemp::topology
