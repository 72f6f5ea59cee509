// The plain values a topology snapshot hands to the I/O path's decisions: what is known about
// a path's controller (PathFacts, for decide_disposition() and the write-failover wait), a
// subsystem's failover rules (FailoverPolicy) and its path selection policy (Policy).
//
// They live here, with the model that fills them, so that topology/ needs nothing from
// multipath/: multipath/disposition.h and path_selector.h take them from this header (and
// re-declare them in nvmemp::multipath, where the decisions are made).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/clock.h"
#include "nvmemp/mpath.h"

namespace nvmemp::topology {

struct PathFacts {
  std::array<std::uint16_t, 3> crdt_100ms{};  // Identify Controller CRDT1..3, 100 ms units
  Nanos kato{};                                // keep-alive timeout of the controller
  Nanos cqt{};                                 // command quiesce time, when reported (else 0)
  TimePoint last_alive{};                      // last completion or keep-alive answer seen
};

struct FailoverPolicy {
  unsigned max_attempts = 5;  // the kernel's nvme_max_retries
  // How long a write lost with its connection waits before it is resubmitted elsewhere.
  // Unset (the default): KATO + CQT after the old controller's last sign of life, the
  // earliest moment it can no longer execute the write. 0 resubmits at once, as the kernel
  // and SPDK do, which can let a late write overwrite newer data (spdk#3593).
  std::optional<Nanos> write_failover_delay;
  // Upper bound of a CRD retry delay. CRDT is in 100 ms units up to 6553.5 s: a controller
  // that asks for hours would hold the I/O (and its caller) that long; the kernel waits it
  // out, we retry after at most this.
  Nanos max_crd_delay = std::chrono::seconds(5);
};

// The public enum (nvmemp/mpath.h IoPolicy): Numa, RoundRobin, QueueDepth.
using Policy = ::nvmemp::IoPolicy;

// queue-depth, not the kernel's numa: on fabrics every controller is "local", so numa sends all
// I/O of a head down one path; vendors and users now ask for queue-depth (issue 5, item 3).
inline constexpr Policy kDefaultPolicy = Policy::QueueDepth;

}  // namespace nvmemp::topology
