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

#include <chrono>
#include <cstdint>

#include "common/clock.h"
#include "nvmemp/status.h"
#include "topology/io_rules.h"

namespace nvmemp::multipath {

enum class Action : std::uint8_t { Complete, RetrySamePath, Failover, Fail };
const char* action_name(Action a) noexcept;

struct RequestFacts {
  bool is_write = false;            // data goes to the medium (Write, Write Zeroes, DSM, ...)
  bool reached_controller = false;  // any byte of it left this host (Completion::reached_controller)
  unsigned attempts = 0;            // how often it was already retried or failed over
};

// What decide_disposition() knows of the path and of the head's rules: carried by the topology
// snapshot, so defined with it (topology/io_rules.h).
using topology::FailoverPolicy;
using topology::PathFacts;

struct Decision {
  Action action = Action::Complete;
  Nanos delay{0};            // before the retry / failover is issued
  bool reread_ana = false;   // SCT 3 SC 1..3: the ANA state changed under us
  bool path_failed = false;  // the path is not to be used for this namespace until it recovers
};

Decision decide_disposition(const Status& st, const RequestFacts& req, const PathFacts& path,
                            const FailoverPolicy& policy, TimePoint now);

}  // namespace nvmemp::multipath
