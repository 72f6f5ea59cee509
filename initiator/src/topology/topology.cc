#include "topology/topology.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

namespace nvmemp::topology {

NsAna ana_of(const std::optional<wire::AnaLog>& ana, std::uint32_t nsid, std::uint32_t anagrpid) {
  if (!ana) {
    // No ANA reporting (CMIC bit 3 clear): every namespace is reachable at full speed, as the
    // kernel treats a controller without ANA.
    return {wire::AnaState::Optimized, 0};
  }
  // The log's NSID lists first: they are read on every ANA change, while Identify Namespace
  // ANAGRPID is read once at bring-up and goes stale when the target moves the namespace to
  // another group (the kernel likewise takes ns->ana_grpid from the log's descriptors,
  // nvme_update_ana_state()). ANAGRPID is the fallback for the RGO form (no NSID lists).
  for (const wire::AnaGroup& g : ana->groups) {
    if (std::find(g.nsids.begin(), g.nsids.end(), nsid) != g.nsids.end()) {
      return {g.state, g.anagrpid};
    }
  }
  if (anagrpid != 0) {
    for (const wire::AnaGroup& g : ana->groups) {
      if (g.anagrpid == anagrpid) {
        return {g.state, g.anagrpid};
      }
    }
  }
  // ANA is reported but says nothing about this namespace: do not send I/O there (the kernel
  // leaves such a path unused until the log names its group).
  return {wire::AnaState::Inaccessible, anagrpid};
}

Result<PathId> Topology::add_path(const ConnectionKey& key) {
  for (const auto& [id, p] : paths_) {
    if (p.key == key) {
      return make_error(
          Errc::InvalidArgument,
          fmt::format("{} is already connected (path {}): a second connection with the same "
                      "address, port, subsystem NQN and host NQN is refused, as the kernel does; "
                      "disconnect path {} first, or connect through another address or port or "
                      "with another host NQN",
                      describe(key), id, id));
    }
  }
  if (next_path_id_ > std::numeric_limits<PathId>::max()) {
    // Ids are never reused, so that a stale id held by an I/O thread cannot name a new path.
    return make_error(Errc::Unsupported,
                      fmt::format("cannot add {}: all {} path ids were used since start; restart "
                                  "the initiator",
                                  describe(key), std::numeric_limits<PathId>::max()));
  }
  const auto id = static_cast<PathId>(next_path_id_++);
  Path& p = paths_[id];
  p.key = key;
  p.view.id = id;
  p.view.name = describe(key);  // until the controller's own name is known
  p.view.subnqn = key.subnqn;
  p.view.endpoint.traddr = key.traddr;
  p.view.endpoint.trsvcid = key.trsvcid;
  policies_.try_emplace(key.subnqn, default_policy_);
  return id;
}

void Topology::remove_path(PathId id) {
  const auto it = paths_.find(id);
  if (it == paths_.end()) {
    return;
  }
  const std::string subnqn = it->second.key.subnqn;
  paths_.erase(it);
  // Its heads lose a member; one left empty goes, or is re-created from a path that was
  // refused against it (that path reports the namespace, with other identifiers).
  reconcile(subnqn);
  if (paths_of(subnqn).empty()) {
    policies_.erase(subnqn);
  }
}

std::vector<Error> Topology::update_path(PathId id, const PathInput& in) {
  const auto it = paths_.find(id);
  if (it == paths_.end()) {
    return {Error{Errc::NotFound,
                  fmt::format("path {} ({}) is not registered: it was removed or never added",
                              id, in.name)}};
  }
  Path& p = it->second;
  PathView& v = p.view;
  if (!in.name.empty()) {
    v.name = in.name;
  }
  v.endpoint = in.endpoint;
  v.live = in.live;
  p.dead = in.dead;
  v.generation = in.generation;
  v.queue_size = in.queue_size;
  v.hdgst = in.hdgst;
  v.ddgst = in.ddgst;
  v.dhchap = in.dhchap;
  v.facts = in.facts;
  v.io_timeout = in.io_timeout;
  v.stall_timeout = in.stall_timeout;

  std::map<std::uint32_t, NsReport> reports;
  if (in.info != nullptr) {
    const controller::ControllerInfo& info = *in.info;
    v.cntlid = info.cntlid;
    v.io_queues = info.io_queues;
    v.max_icd = info.max_icd;
    v.max_data_len = info.max_data_len;
    v.oncs = info.id.oncs;
    v.vwc = (info.id.vwc & 1) != 0;
    for (const controller::NamespaceInfo& ns : info.namespaces) {
      if (!ns.id.active()) {
        continue;  // size 0: nothing to read or write, and no geometry to check a head against
      }
      reports[ns.nsid] = NsReport{make_identity(p.key.subnqn, info.id, ns), geometry_of(ns.id),
                                  ana_of(info.ana, ns.nsid, ns.id.anagrpid)};
    }
  } else if (in.block) {
    const BlockUnit& b = *in.block;
    v.kind = PathKind::Block;
    v.dev_node = b.dev_node;
    v.block_size = b.geometry.lba_size;
    v.cntlid = 0;
    v.io_queues = 0xFFFF;  // every I/O context opens the device itself
    v.max_icd = 0;
    v.max_data_len = b.limits.max_data_len;
    v.oncs = b.limits.oncs;
    v.vwc = b.limits.vwc;
    NsIdentity ident;
    ident.subnqn = p.key.subnqn;
    ident.nsid = 1;
    ident.shared = true;
    ident.scsi_wwid = b.wwid;
    reports[1] = NsReport{std::move(ident), b.geometry, b.ana, b.preferred};
  } else {
    // Never came up: no limits, no namespaces.
    v.cntlid = 0;
    v.io_queues = 0;
    v.max_icd = 0;
    v.max_data_len = 0;
    v.oncs = 0;
    v.vwc = false;
  }

  // A member whose geometry changed since its last report saw the namespace resized (or
  // reformatted) on the target: that is news about the namespace, so the head follows it.
  // The other members report the old geometry until their own namespace-changed event and
  // are kept out of the snapshot meanwhile. A member that merely still reports an old
  // geometry is not news and does not move the head back.
  for (const auto& [nsid, r] : reports) {
    const auto old = p.reports.find(nsid);
    Head* h = head_of(p.key.subnqn, nsid);
    if (h != nullptr && h->members.count(id) != 0 && old != p.reports.end() &&
        old->second.geometry != r.geometry && check_same_namespace(h->identity, r.identity)) {
      h->geometry = r.geometry;
    }
  }
  p.reports = std::move(reports);
  reconcile(p.key.subnqn);

  // After reconcile every namespace this path reports has a head; the ones it is not a
  // member of were refused.
  std::vector<Error> refused;
  for (const auto& [nsid, r] : p.reports) {
    const Head* h = head_of(p.key.subnqn, nsid);
    if (h == nullptr || h->members.count(id) != 0) {
      continue;
    }
    const auto why = admissible(*h, r);
    if (!why) {
      refused.push_back(Error{
          why.error().code,
          fmt::format("path {} ({}) is not a path of head {} ({}): {}", id, v.name, h->id,
                      h->wwid, why.error().message)});
    }
  }
  return refused;
}

Result<void> Topology::set_policy(const std::string& subnqn, Policy p) {
  const auto it = policies_.find(subnqn);
  if (it == policies_.end()) {
    return make_error(Errc::NotFound,
                      fmt::format("subsystem {} is not connected: connect a path to it before "
                                  "setting its policy ({})",
                                  subnqn, io_policy_name(p)));
  }
  it->second = p;
  return {};
}

std::shared_ptr<const TopologySnapshot> Topology::build() const {
  auto snap = std::make_shared<TopologySnapshot>();
  std::map<PathId, std::uint32_t> index;
  snap->paths.reserve(paths_.size());
  for (const auto& [id, p] : paths_) {
    index[id] = static_cast<std::uint32_t>(snap->paths.size());
    snap->paths.push_back(p.view);
  }
  snap->heads.reserve(heads_.size());
  for (const auto& [hid, h] : heads_) {
    HeadView hv;
    hv.id = h.id;
    hv.subnqn = h.subnqn;
    hv.nsid = h.nsid;
    hv.wwid = h.wwid;
    hv.geometry = h.geometry;
    const auto pol = policies_.find(h.subnqn);
    hv.policy = pol != policies_.end() ? pol->second : default_policy_;
    const auto rules = rules_.find(h.subnqn);
    hv.rules = rules != rules_.end() ? rules->second : default_rules_;

    // Limits from the paths that carry I/O now; when none is live, from those that will once
    // they reconnect, and failing that from every member, so that a head never shows a zero
    // transfer limit while it has members.
    std::vector<PathLimits> live, current, all;
    for (const PathId pid : h.members) {
      const auto p = paths_.find(pid);
      if (p == paths_.end()) {
        continue;  // cannot happen: reconcile() drops members of removed paths
      }
      const auto r = p->second.reports.find(h.nsid);
      if (r == p->second.reports.end()) {
        continue;  // cannot happen either: a member reports the namespace
      }
      const PathLimits l{p->second.view.max_data_len, p->second.view.max_icd, p->second.view.oncs, p->second.view.vwc};
      all.push_back(l);
      if (r->second.geometry != h.geometry) {
        continue;  // still on the old size or format: waits for its own re-identify
      }
      hv.paths.push_back(HeadPath{index[pid], r->second.ana.state, r->second.ana.anagrpid, r->second.preferred,
                                  /*counters: the Fabric's*/ nullptr});
      current.push_back(l);
      if (p->second.view.live) {
        live.push_back(l);
      }
    }
    hv.limits = head_limits(!live.empty() ? live : !current.empty() ? current : all);
    // (a named reference: clang 14 cannot capture a structured binding in a lambda)
    const std::string& subnqn = h.subnqn;
    hv.may_return = std::any_of(paths_.begin(), paths_.end(), [&](const auto& e) {
      return e.second.key.subnqn == subnqn && !e.second.dead;
    });
    snap->heads.push_back(std::move(hv));
  }
  return snap;
}

std::optional<HeadId> Topology::find(const std::string& subnqn, std::uint32_t nsid) const {
  const auto it = head_by_ns_.find(NsKey{subnqn, nsid});
  if (it == head_by_ns_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<HeadId> Topology::find_wwid(const std::string& wwid) const {
  for (const auto& [id, h] : heads_) {
    if (h.wwid == wwid) {
      return id;
    }
  }
  return std::nullopt;
}

std::vector<PathId> Topology::paths_of(const std::string& subnqn) const {
  std::vector<PathId> out;
  for (const auto& [id, p] : paths_) {
    if (p.key.subnqn == subnqn) {
      out.push_back(id);
    }
  }
  return out;
}

void Topology::reconcile(const std::string& subnqn) {
  // Members leave that are removed, no longer report the namespace, or now report other
  // identifiers (the nsid was deleted and re-created on the target: another namespace).
  for (auto it = heads_.begin(); it != heads_.end();) {
    Head& h = it->second;
    if (h.subnqn != subnqn) {
      ++it;
      continue;
    }
    const bool was_orphan = h.members.empty();
    bool vanished = false;  // a member that is still connected no longer reports the nsid
    std::erase_if(h.members, [&](PathId pid) {
      const auto p = paths_.find(pid);
      if (p == paths_.end()) {
        return true;
      }
      const auto r = p->second.reports.find(h.nsid);
      if (r == p->second.reports.end()) {
        vanished = true;
        return true;
      }
      return !check_same_namespace(h.identity, r->second.identity);
    });
    // A namespace that disappeared from every path of a connected subsystem (disabled on the
    // target, ns-down) keeps its head, without paths, so that I/O held under no_path_retry
    // can resume when it comes back. It goes when a namespace with other identifiers takes
    // the nsid, or with the subsystem's last path.
    bool keep = false;
    if (h.members.empty() && (vanished || was_orphan)) {
      keep = true;
      for (const auto& [pid, p] : paths_) {
        if (p.key.subnqn != subnqn) continue;
        const auto r = p.reports.find(h.nsid);
        if (r != p.reports.end() && !check_same_namespace(h.identity, r->second.identity)) keep = false;
      }
      keep = keep && !paths_of(subnqn).empty();
    }
    it = (h.members.empty() && !keep) ? erase_head(it) : std::next(it);
  }
  // A namespace without a head gets one from its lowest path id; every other path that
  // reports it and passes the checks joins. A refusal is never final: this runs on every
  // change of the subsystem.
  for (const auto& [pid, p] : paths_) {
    if (p.key.subnqn != subnqn) {
      continue;
    }
    for (const auto& [nsid, r] : p.reports) {
      Head* h = head_of(subnqn, nsid);
      if (h == nullptr) {
        create_head(subnqn, nsid, pid, r);
      } else if (h->members.count(pid) == 0 && admissible(*h, r)) {
        h->members.insert(pid);
      }
    }
  }
}

std::map<HeadId, Topology::Head>::iterator Topology::erase_head(std::map<HeadId, Head>::iterator it) {
  head_by_ns_.erase(NsKey{it->second.subnqn, it->second.nsid});
  return heads_.erase(it);
}

Topology::Head& Topology::create_head(const std::string& subnqn, std::uint32_t nsid, PathId creator,
                                      const NsReport& r) {
  // A HeadId is 32 bits: 4 billion namespace appearances before a wrap, not a practical limit.
  const HeadId id = next_head_id_++;
  Head& h = heads_[id];
  h.id = id;
  h.subnqn = subnqn;
  h.nsid = nsid;
  h.identity = r.identity;
  h.wwid = wwid(r.identity);
  h.geometry = r.geometry;
  h.members.insert(creator);
  head_by_ns_[NsKey{subnqn, nsid}] = id;
  return h;
}

Result<void> Topology::admissible(const Head& head, const NsReport& r) const {
  if (auto same = check_same_namespace(head.identity, r.identity); !same) {
    return same;
  }
  return check_same_geometry(head.geometry, r.geometry,
                             fmt::format("subsystem {} nsid {}", head.subnqn, head.nsid));
}

Topology::Head* Topology::head_of(const std::string& subnqn, std::uint32_t nsid) {
  const auto it = head_by_ns_.find(NsKey{subnqn, nsid});
  return it == head_by_ns_.end() ? nullptr : &heads_.find(it->second)->second;
}

}  // namespace nvmemp::topology
