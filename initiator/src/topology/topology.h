// The topology model of the control thread: subsystems (by NQN), paths (controller
// connections) and namespace heads (subsystem NQN + nsid), and the rules by which a path's
// namespace joins a head. Pure: no I/O, no clock, no threads. The control thread alone owns a
// Topology; it feeds it what its controllers report (update_path) and publishes build() to the
// I/O threads (snapshot_mailbox.h).
//
// Membership rules (the kernel's nvme_init_ns_head() order, ns_identity.h):
//  - the first path that reports (subnqn, nsid) creates its head; identity and geometry are
//    taken from it, and the head gets a new id (never reused);
//  - another path joins only when check_same_namespace() and check_same_geometry() against
//    the head pass; a refused namespace is never merged, and is checked again on every change
//    of the subsystem, so it joins as soon as it matches;
//  - a path leaves a head when it is removed, no longer reports the nsid, or now reports
//    other identifiers; a head without members is removed, and a namespace that shows up
//    again gets a new head id;
//  - a member that reports a new geometry (the namespace was resized or reformatted) moves
//    the head to it; members still reporting the old one stay members but are left out of
//    the snapshot until their own re-identify reports the new geometry;
//  - a path that is not live keeps its memberships, so a head survives a reconnect.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "controller/controller.h"
#include "nvmemp/result.h"
#include "topology/io_rules.h"
#include "topology/ns_identity.h"
#include "topology/snapshot.h"
#include "transport/tcp_connect.h"
#include "wire/log_pages.h"

namespace nvmemp::topology {

// The ANA state and group of namespace `nsid` on a controller whose Identify Namespace names
// group `anagrpid` (0: none): the group by ANAGRPID, else the group whose NSID list holds
// `nsid`; {Optimized, 0} without an ANA log; {Inaccessible, anagrpid} when the log has
// neither (the controller does not say the namespace is reachable).
struct NsAna {
  wire::AnaState state = wire::AnaState::Optimized;
  std::uint32_t anagrpid = 0;
};
// A block-device path's one logical unit (a SCSI path from scsi_compat/): it reports one
// namespace, nsid 1 of the "subsystem" named by its wwid (the ConnectionKey's subnqn).
struct BlockUnit {
  std::string dev_node;             // "/dev/sdb"
  std::string wwid;
  NsGeometry geometry;
  NsAna ana;                        // ALUA state mapped to ANA; anagrpid = target port group
  bool preferred = false;
  PathLimits limits;
};

// What the control thread knows about one controller connection now.
struct PathInput {
  std::string name;                 // Controller::name()
  transport::TcpEndpoint endpoint;
  bool live = false;                // controller state Live
  bool dead = false;                // will never come back (ctrl_loss_tmo passed, deleted)
  std::uint64_t generation = 0;     // bring-up count of this connection
  // Null before the first bring-up finished. Read only during update_path(): the topology
  // copies what it needs, so the controller may change it afterwards.
  const controller::ControllerInfo* info = nullptr;
  std::uint16_t queue_size = 0;
  bool hdgst = false, ddgst = false;
  std::shared_ptr<const auth::DhchapKeys> dhchap;  // the I/O queues authenticate with these
  PathFacts facts;       // crdt from info->id.crdt, kato, cqt, last_alive
  // This path's own command and stall timeouts (its subsystem's knobs); 0: the engine's.
  Nanos io_timeout{0};
  Nanos stall_timeout{0};
  // Set for a block-device path instead of `info` (which stays null).
  std::optional<BlockUnit> block;
};

NsAna ana_of(const std::optional<wire::AnaLog>& ana, std::uint32_t nsid, std::uint32_t anagrpid);

class Topology {
 public:
  // Registers a connection. A second connection with the same ConnectionKey is refused
  // (InvalidArgument, naming the key and the path that has it). Ids start at 1 and are never
  // reused; Unsupported once all 65535 were handed out.
  Result<PathId> add_path(const ConnectionKey& key);

  // The path leaves every head (heads left empty are removed) and the snapshot. When it was
  // the last path of its subsystem, the subsystem and its policy are forgotten, as the kernel
  // frees a subsystem with its last controller. Unknown ids are ignored.
  void remove_path(PathId id);

  // Recomputes what path `id` contributes from `in` (after a bring-up, an ANA change, a
  // namespace change, a state change) and re-applies the membership rules to its subsystem.
  // Returns one Error per namespace of this path that is refused now (identity or geometry
  // differs from the head's), naming the path, subsystem NQN, nsid and reason; the same
  // refusal is returned by every call until it is resolved. An unknown id is one NotFound.
  std::vector<Error> update_path(PathId id, const PathInput& in);

  // Per-subsystem I/O policy; NotFound when no path of `subnqn` is registered.
  Result<void> set_policy(const std::string& subnqn, Policy p);
  // The policy of subsystems registered from now on (kDefaultPolicy until set).
  void set_default_policy(Policy p) { default_policy_ = p; }
  // The I/O rules of a subsystem's heads (no_path_retry, write failover); may be set before
  // the subsystem has a path. The default applies to every other subsystem.
  void set_rules(const std::string& subnqn, const HeadRules& r) { rules_[subnqn] = r; }
  void set_default_rules(const HeadRules& r) { default_rules_ = r; }

  // An immutable snapshot of now: paths by id, heads by id, each head's paths by path id.
  std::shared_ptr<const TopologySnapshot> build() const;

  std::optional<HeadId> find(const std::string& subnqn, std::uint32_t nsid) const;
  // The lowest head id with this wwid (two heads share one only on a misconfigured target).
  std::optional<HeadId> find_wwid(const std::string& wwid) const;
  // Registered paths of `subnqn`, by id.
  std::vector<PathId> paths_of(const std::string& subnqn) const;

 private:
  // What one path reports about one of its namespaces.
  struct NsReport {
    NsIdentity identity;
    NsGeometry geometry;
    NsAna ana;
    bool preferred = false;
  };
  struct Path {
    ConnectionKey key;
    PathView view;  // everything but what build() derives
    bool dead = false;
    std::map<std::uint32_t, NsReport> reports;  // by nsid; empty until info arrives
  };
  struct Head {
    HeadId id = 0;
    std::string subnqn;
    std::uint32_t nsid = 0;
    NsIdentity identity;  // of the path that created the head
    std::string wwid;
    NsGeometry geometry;  // current: last reported by a member
    std::set<PathId> members;
  };
  using NsKey = std::pair<std::string, std::uint32_t>;  // (subnqn, nsid)

  // Brings the heads of `subnqn` in line with its paths' reports (see the rules above).
  void reconcile(const std::string& subnqn);
  std::map<HeadId, Head>::iterator erase_head(std::map<HeadId, Head>::iterator it);
  Head& create_head(const std::string& subnqn, std::uint32_t nsid, PathId creator,
                    const NsReport& r);
  // Why `r` may not join `head` (the error of the first check that fails), or nothing.
  Result<void> admissible(const Head& head, const NsReport& r) const;
  Head* head_of(const std::string& subnqn, std::uint32_t nsid);

  std::map<PathId, Path> paths_;
  std::map<HeadId, Head> heads_;
  std::map<NsKey, HeadId> head_by_ns_;
  std::map<std::string, Policy> policies_;  // one entry per subsystem with paths
  Policy default_policy_ = kDefaultPolicy;
  std::map<std::string, HeadRules> rules_;
  HeadRules default_rules_;
  std::uint32_t next_path_id_ = 1;  // wider than PathId to see the ids run out
  HeadId next_head_id_ = 1;
};

}  // namespace nvmemp::topology
