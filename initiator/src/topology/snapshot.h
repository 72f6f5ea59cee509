// The topology as I/O threads see it: an immutable snapshot built by the control thread
// (topology.h) and published through snapshot_mailbox.h. Nothing in here changes after
// publication; per-I/O code reads it without a lock.
//
// Paths are controller connections (one per address/port/subsystem/host NQN); heads are
// namespaces (subsystem NQN + nsid, checked by NGUID/EUI-64/UUID). A head lists its member
// paths with the namespace's ANA state on each.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "topology/counters.h"
#include "topology/io_rules.h"
#include "topology/ns_identity.h"
#include "transport/tcp_connect.h"
#include "wire/log_pages.h"

namespace nvmemp::auth {
struct DhchapKeys;
}

namespace nvmemp::topology {

using PathId = std::uint16_t;  // stable for the life of the connection entry, never reused
using HeadId = std::uint32_t;  // stable while the namespace exists, never reused

// How a path carries I/O: an NVMe/TCP controller's I/O queues, or a block device (a SCSI
// path from scsi_compat/, opened O_DIRECT; multipath/block_path.h).
enum class PathKind : std::uint8_t { NvmeTcp, Block };

struct PathView {
  PathId id = 0;
  PathKind kind = PathKind::NvmeTcp;
  std::string dev_node;             // Block: "/dev/sdb"
  std::uint32_t block_size = 0;     // Block: logical block size (for byte offsets)
  std::string name;                 // "nqn @ 127.0.0.1:4420 cntlid 1" for messages
  std::string subnqn;
  transport::TcpEndpoint endpoint;
  std::uint16_t cntlid = 0;
  bool live = false;                // controller Live: I/O queues may be (or are) connected
  // Bumps on every bring-up (a new association). An I/O queue opened for an older
  // generation belongs to a dead association and is closed.
  std::uint64_t generation = 0;
  std::uint16_t io_queues = 0;      // granted by the controller (qid 1..io_queues)
  std::uint16_t queue_size = 0;     // I/O queue entries
  bool hdgst = false, ddgst = false;
  // The controller's DH-HMAC-CHAP keys: each I/O queue authenticates with them when the
  // controller asks (null: none configured). Shared, never printed.
  std::shared_ptr<const auth::DhchapKeys> dhchap;
  std::uint32_t max_icd = 0;
  std::uint32_t max_data_len = 0;
  std::uint16_t oncs = 0;           // Identify Controller ONCS: optional NVM commands
  bool vwc = false;                 // a volatile write cache is present (Flush matters)
  Nanos io_timeout{0};              // per command; 0: the engine's
  Nanos stall_timeout{0};           // before a quiet queue is suspected; 0: the engine's
  // CRDT, KATO, CQT and the last sign of life (keep-alive answer or admin completion) of the
  // controller, for decide_disposition() and the write-failover wait.
  PathFacts facts;
  // fast_io_fail_tmo expired: held I/O need not wait for this path.
  bool fail_fast = false;
  // Filled by the Fabric (not the topology model): where I/O contexts count.
  std::shared_ptr<PathCounterSet> counters;
};

struct HeadPath {
  std::uint32_t path_index = 0;     // into TopologySnapshot::paths
  wire::AnaState ana = wire::AnaState::Optimized;  // Optimized when the controller has no ANA
  std::uint32_t anagrpid = 0;       // 0 when the controller has no ANA (SCSI: the ALUA TPG)
  bool preferred = false;           // SCSI preferred_path: wins ties between equal ANA states
  // Filled by the Fabric (not the topology model): where I/O contexts count this namespace's
  // commands on this path.
  std::shared_ptr<HeadPathCounterSet> counters;
};

// What I/O on a head does when paths fail (its subsystem's knobs).
struct HeadRules {
  NoPathRetry no_path_retry;
  FailoverPolicy failover;
};

struct HeadView {
  HeadId id = 0;
  std::string subnqn;
  std::uint32_t nsid = 0;
  std::string wwid;                 // the kernel's format (ns_identity.h wwid())
  NsGeometry geometry;
  PathLimits limits;                // minimum over the member paths
  Policy policy = kDefaultPolicy;
  HeadRules rules;
  std::vector<HeadPath> paths;      // members, by path id
  // True while some controller of the subsystem may still come back (not Dead): with
  // no_path_retry queue, held I/O waits as long as this holds.
  bool may_return = false;
  // Filled by the Fabric (not the topology model).
  std::shared_ptr<HeadCounterSet> counters;
};

struct TopologySnapshot {
  std::vector<PathView> paths;      // by id
  std::vector<HeadView> heads;      // by id

  const PathView* path(PathId id) const noexcept {
    for (const auto& p : paths) {
      if (p.id == id) return &p;
    }
    return nullptr;
  }
  const HeadView* head(HeadId id) const noexcept {
    for (const auto& h : heads) {
      if (h.id == id) return &h;
    }
    return nullptr;
  }
};

}  // namespace nvmemp::topology
