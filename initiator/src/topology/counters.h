// Per-path and per-head I/O counters, readable while I/O runs.
//
// Each I/O context writes only its own cache line of a counter set (one slot per context), with
// relaxed load+store (no read-modify-write, no lock prefix): the owner is the only writer. Any
// thread may sum the slots at any time; a sum is a consistent-enough view for monitoring (each
// value is exact, the values are not taken at one instant).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "nvmemp/mpath.h"

namespace nvmemp::topology {

inline constexpr std::size_t kMaxIoContexts = 64;

using Counter = std::atomic<std::uint64_t>;

// Owner thread only.
inline void bump(Counter& c, std::uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline std::uint64_t read(const Counter& c) noexcept { return c.load(std::memory_order_relaxed); }

struct alignas(64) PathSlot {
  Counter ios{0}, bytes{0}, errors{0}, failovers{0}, retries{0}, stalls{0}, outstanding{0};
};

struct alignas(64) HeadSlot {
  Counter ios{0}, bytes{0}, errors{0}, failovers{0}, retries{0}, held{0};
};

struct PathCounterSet {
  std::array<PathSlot, kMaxIoContexts> slot;

  PathCounters sum() const noexcept {
    PathCounters s;
    for (const auto& x : slot) {
      s.ios += read(x.ios);
      s.bytes += read(x.bytes);
      s.errors += read(x.errors);
      s.failovers += read(x.failovers);
      s.retries += read(x.retries);
      s.stalls += read(x.stalls);
      s.outstanding += read(x.outstanding);
    }
    return s;
  }
};

struct HeadCounterSet {
  std::array<HeadSlot, kMaxIoContexts> slot;

  HeadCounters sum() const noexcept {
    HeadCounters s;
    for (const auto& x : slot) {
      s.ios += read(x.ios);
      s.bytes += read(x.bytes);
      s.errors += read(x.errors);
      s.failovers += read(x.failovers);
      s.retries += read(x.retries);
      s.held += read(x.held);
    }
    return s;
  }
};

}  // namespace nvmemp::topology
