// I/O counters, readable while I/O runs: per path (the controller's totals), per (namespace
// head, path) and per head.
//
// A counter set has one cache-line slot per I/O context. Each context writes only its own slot,
// with relaxed load+store (no read-modify-write, no lock prefix): the owner is the only writer.
// Any thread may sum the slots at any time; a sum is a consistent-enough view for monitoring
// (each value is exact, the values are not taken at one instant).
//
// Size: a set has one slot per I/O context the Fabric can have (FabricOptions::max_io_contexts;
// nvme-mpathd and bench set it to their number of I/O threads), fixed when the set is made. A
// context created later gets an index below that number, so it finds its slot in every set that
// already exists: nothing is re-allocated under a running context and the I/O path checks
// nothing. One set costs max_io_contexts x 64 bytes (+ its header); the Fabric makes one per
// path, one per head and one per (head, path).
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>

#include "nvmemp/mpath.h"

namespace nvmemp::topology {

// The most I/O contexts a Fabric may have (the I/O queue ids 1..64 of each controller).
inline constexpr std::size_t kMaxIoContexts = 64;

using Counter = std::atomic<std::uint64_t>;

// Owner thread only.
inline void bump(Counter& c, std::uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline std::uint64_t read(const Counter& c) noexcept { return c.load(std::memory_order_relaxed); }

// What is counted for I/O on a path, on a (head, path) and on a head alike. Commands on a path
// (each completion counts), requests on a head (each request counts once, when it finishes).
struct IoTally {
  Counter ios{0}, bytes{0}, errors{0}, failovers{0}, retries{0};

  template <class Sum>
  void add_to(Sum& s) const noexcept {
    s.ios += read(ios);
    s.bytes += read(bytes);
    s.errors += read(errors);
    s.failovers += read(failovers);
    s.retries += read(retries);
  }
};

// Owner thread only: bumps `field` of every slot given (null slots are skipped), e.g. a failover
// counts on the path, on the (head, path) and on the head.
inline void bump_all(Counter IoTally::*field, std::initializer_list<IoTally*> slots, std::uint64_t n = 1) noexcept {
  for (IoTally* s : slots) {
    if (s != nullptr) bump(s->*field, n);
  }
}

// Owner thread only: a command (on a path) or a request (on a head) finished: ios and its
// data bytes when it succeeded, else errors.
inline void count_done(std::initializer_list<IoTally*> slots, bool ok, std::uint64_t data_bytes) noexcept {
  if (!ok) {
    bump_all(&IoTally::errors, slots);
    return;
  }
  bump_all(&IoTally::ios, slots);
  if (data_bytes != 0) bump_all(&IoTally::bytes, slots, data_bytes);
}

// A path (controller connection) as a whole: every namespace's I/O on it, plus what belongs to
// the connection itself.
struct alignas(64) PathSlot : IoTally {
  Counter stalls{0}, outstanding{0};
  using Sum = PathCounters;
  void add_to(Sum& s) const noexcept {
    IoTally::add_to(s);
    s.stalls += read(stalls);
    s.outstanding += read(outstanding);
  }
};

// I/O of one namespace on one path.
struct alignas(64) HeadPathSlot : IoTally {
  using Sum = HeadPathCounters;
};

// A namespace head: requests, whatever path they took.
struct alignas(64) HeadSlot : IoTally {
  Counter held{0};
  using Sum = HeadCounters;
  void add_to(Sum& s) const noexcept {
    IoTally::add_to(s);
    s.held += read(held);
  }
};

template <class Slot>
class CounterSet {
 public:
  explicit CounterSet(std::size_t contexts) : n_(contexts), slots_(std::make_unique<Slot[]>(contexts)) {}

  // I/O context `context`'s slot: written by that context only.
  Slot& slot(unsigned context) noexcept {
    assert(context < n_);
    return slots_[context];
  }
  std::size_t slots() const noexcept { return n_; }
  // Memory held by the set: the object and its slots.
  std::size_t bytes() const noexcept { return sizeof(*this) + n_ * sizeof(Slot); }

  typename Slot::Sum sum() const noexcept {
    typename Slot::Sum s;
    for (std::size_t i = 0; i < n_; ++i) slots_[i].add_to(s);
    return s;
  }

 private:
  std::size_t n_;
  std::unique_ptr<Slot[]> slots_;
};

using PathCounterSet = CounterSet<PathSlot>;
using HeadPathCounterSet = CounterSet<HeadPathSlot>;
using HeadCounterSet = CounterSet<HeadSlot>;

}  // namespace nvmemp::topology
