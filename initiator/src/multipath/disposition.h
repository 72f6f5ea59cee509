// What to do with a finished command: the one decision of the failover path, pure and
// table-tested (the kernel's nvme_decide_disposition() and SPDK's bdev_nvme_check_retry_io()
// are the models; nvme-facts.md section 4 has the order).
//
//   ok                                   → Complete
//   DNR (any status, even SCT 3)         → Complete, with the error
//   retries spent                        → Fail
//   lost with the connection (0x370/0x371, made by the host):
//     never reached the controller       → Failover at once
//     a read (or any non-write)          → Failover at once
//     a write that may have reached it   → Failover after the old controller can no longer
//                                          execute it: KATO (+ CQT) after its last sign of
//                                          life, or write_failover_delay when set
//   other path status (SCT 3)            → Failover at once (the controller did not execute
//                                          it); re-read the ANA log on SCT 3 SC 1..3
//   anything else                        → Retry on the same path after the CRD delay
//                                          (at most max_crd_delay)
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "common/clock.h"
#include "nvmemp/status.h"

namespace nvmemp::multipath {

enum class Action : std::uint8_t { Complete, RetrySamePath, Failover, Fail };
const char* action_name(Action a) noexcept;

struct RequestFacts {
  bool is_write = false;            // data goes to the medium (Write, Write Zeroes, DSM, ...)
  bool reached_controller = false;  // any byte of it left this host (Completion::reached_controller)
  unsigned attempts = 0;            // how often it was already retried or failed over
};

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

struct Decision {
  Action action = Action::Complete;
  Nanos delay{0};            // before the retry / failover is issued
  bool reread_ana = false;   // SCT 3 SC 1..3: the ANA state changed under us
  bool path_failed = false;  // the path is not to be used for this namespace until it recovers
};

Decision decide_disposition(const Status& st, const RequestFacts& req, const PathFacts& path,
                            const FailoverPolicy& policy, TimePoint now);

}  // namespace nvmemp::multipath
