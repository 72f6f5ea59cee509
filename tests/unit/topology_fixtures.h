// Shared by the topology model's tests (topology_test.cc, topology_events_test.cc): synthetic
// controllers and namespaces shaped like nvmet's, ANA logs, and a Fixture holding a Topology
// with connections to 10.0.0.<n>:4420.
#pragma once

#include "topology/topology.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace nvmemp::topology::fixtures {

using controller::ControllerInfo;
using controller::NamespaceInfo;
using wire::AnaState;

inline constexpr const char* kNqn = "nqn.2026-01.io.example:mpath-test";
inline constexpr const char* kOtherNqn = "nqn.2026-01.io.example:other";
inline constexpr const char* kHost = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0";

// nvmet's UUIDs: 9c0b5e2a-6f1d-4c3b-8a7e-0000000000NN for nsid NN; `salt` makes another one.
inline std::array<std::uint8_t, 16> uuid_of(std::uint32_t nsid, std::uint8_t salt = 0) {
  std::array<std::uint8_t, 16> u{0x9c, 0x0b, 0x5e, 0x2a, 0x6f, 0x1d, 0x4c, 0x3b,
                                 0x8a, 0x7e, 0x00, 0x00, 0x00, 0x00, salt, 0x00};
  u[15] = static_cast<std::uint8_t>(nsid);
  return u;
}

inline std::string wwid_of(std::uint32_t nsid) {
  return "uuid.9c0b5e2a-6f1d-4c3b-8a7e-0000000000" + fmt::format("{:02x}", nsid);
}

// A shared namespace of 512-byte blocks in ANA group `anagrpid`.
inline NamespaceInfo ns_info(std::uint32_t nsid, std::uint64_t nsze = 131072, std::uint32_t anagrpid = 1) {
  NamespaceInfo ns;
  ns.nsid = nsid;
  ns.id.nsze = nsze;
  ns.id.ncap = nsze;
  ns.id.nmic = 1;
  ns.id.lbads = 9;
  ns.id.anagrpid = anagrpid;
  ns.ids.uuid = uuid_of(nsid);
  ns.ids.csi = 0;
  return ns;
}

inline wire::AnaGroup group(std::uint32_t anagrpid, AnaState state, std::vector<std::uint32_t> nsids = {}) {
  wire::AnaGroup g;
  g.anagrpid = anagrpid;
  g.state = state;
  g.nnsids = static_cast<std::uint32_t>(nsids.size());
  g.nsids = std::move(nsids);
  return g;
}

inline wire::AnaLog ana_log(std::vector<wire::AnaGroup> groups) {
  wire::AnaLog log;
  log.ngrps = static_cast<std::uint16_t>(groups.size());
  log.groups = std::move(groups);
  return log;
}

// A controller of kNqn with `namespaces`, all in ANA group 1 in `state`.
inline ControllerInfo ctrl_info(std::uint16_t cntlid, std::vector<NamespaceInfo> namespaces,
                         AnaState state = AnaState::Optimized) {
  ControllerInfo info;
  info.cntlid = cntlid;
  info.id.cntlid = cntlid;
  info.id.subnqn = kNqn;
  info.id.sn = "rt-mpath-0001";
  info.id.mn = "Linux";
  info.id.cmic = 0x0b;
  info.id.crdt = {1, 2, 3};
  info.ana = ana_log({group(1, state)});
  info.namespaces = std::move(namespaces);
  info.io_queues = 4;
  info.max_icd = 8192;
  info.max_data_len = 1u << 20;
  return info;
}

inline ConnectionKey key(int host, const std::string& subnqn = kNqn) {
  return ConnectionKey{"10.0.0." + std::to_string(host), 4420, subnqn, kHost};
}

inline PathInput input(const ConnectionKey& k, const ControllerInfo* info, bool live = true) {
  PathInput in;
  in.name = describe(k) + (info ? " cntlid " + std::to_string(info->cntlid) : "");
  in.endpoint.traddr = k.traddr;
  in.endpoint.trsvcid = k.trsvcid;
  in.live = live;
  in.generation = 1;
  in.info = info;
  in.queue_size = 128;
  in.facts.kato = std::chrono::seconds(5);
  if (info) {
    in.facts.crdt_100ms = info->id.crdt;
  }
  return in;
}

// A topology with connections to 10.0.0.<n>:4420 of kNqn.
struct Fixture {
  Topology topo;
  std::vector<ConnectionKey> keys{ConnectionKey{}};  // index = path id (ids start at 1)

  PathId add(int host, const std::string& subnqn = kNqn) {
    auto id = topo.add_path(key(host, subnqn));
    REQUIRE(id);
    keys.resize(std::max<std::size_t>(keys.size(), *id + 1u));
    keys[*id] = key(host, subnqn);
    return *id;
  }
  // update_path() with the controller up and reporting `info`; no refusal expected.
  void up(PathId id, const ControllerInfo& info, bool live = true) {
    const auto errors = topo.update_path(id, input(keys[id], &info, live));
    for (const auto& e : errors) {
      FAIL_CHECK(e.message);
    }
  }
  std::vector<Error> update(PathId id, const ControllerInfo& info, bool live = true) {
    return topo.update_path(id, input(keys[id], &info, live));
  }
  std::shared_ptr<const TopologySnapshot> snap() const { return topo.build(); }
};

// Path ids of a head's members in the snapshot.
inline std::vector<PathId> members(const TopologySnapshot& s, const HeadView& h) {
  std::vector<PathId> out;
  for (const auto& hp : h.paths) {
    out.push_back(s.paths.at(hp.path_index).id);
  }
  return out;
}

// Path ids of the snapshot members of the head of (kNqn, nsid), which must exist.
inline std::vector<PathId> members_of(const Topology& t, std::uint32_t nsid) {
  const auto s = t.build();
  const auto id = t.find(kNqn, nsid);
  REQUIRE(id);
  const HeadView* h = s->head(*id);
  REQUIRE(h);
  return members(*s, *h);
}

inline const HeadView& only_head(const TopologySnapshot& s) {
  REQUIRE(s.heads.size() == 1);
  return s.heads.front();
}

}  // namespace nvmemp::topology::fixtures
