// The topology model (topology/topology.h) as namespaces and ANA states change: the ANA state
// of each path, namespaces removed and re-created, resizes, and one run on the Identify and ANA
// data nvmet really sent. Fixtures: topology_fixtures.h.
#include "topology/topology.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support/capture.h"
#include "topology_fixtures.h"

namespace nvmemp::topology {

using namespace fixtures;

TEST_CASE("ana_of: the namespace's group state", "[topology]") {
  // No ANA log (CMIC bit 3 clear): optimized, group 0.
  NsAna a = ana_of(std::nullopt, 1, 0);
  CHECK(a.state == AnaState::Optimized);
  CHECK(a.anagrpid == 0);
  a = ana_of(std::nullopt, 1, 5);
  CHECK(a.state == AnaState::Optimized);
  CHECK(a.anagrpid == 0);

  const auto log = ana_log({group(1, AnaState::Optimized, {1}), group(2, AnaState::NonOptimized, {2}),
                            group(3, AnaState::Change, {3})});
  // By the log's NSID lists, even when Identify Namespace ANAGRPID says otherwise: the
  // namespace was moved to another group after it was identified (ns-grp).
  a = ana_of(log, 1, 2);
  CHECK(a.state == AnaState::Optimized);
  CHECK(a.anagrpid == 1);
  a = ana_of(log, 3, 3);
  CHECK(a.state == AnaState::Change);
  // ANAGRPID 0 or unknown: the NSID lists decide too.
  a = ana_of(log, 2, 0);
  CHECK(a.state == AnaState::NonOptimized);
  CHECK(a.anagrpid == 2);
  a = ana_of(log, 1, 9);
  CHECK(a.state == AnaState::Optimized);
  CHECK(a.anagrpid == 1);
  // Neither the group nor the nsid in the log: inaccessible.
  a = ana_of(log, 4, 9);
  CHECK(a.state == AnaState::Inaccessible);
  CHECK(a.anagrpid == 9);
  a = ana_of(ana_log({}), 1, 1);
  CHECK(a.state == AnaState::Inaccessible);
  // The RGO form has no NSID lists: ANAGRPID alone decides.
  const auto rgo = ana_log({group(1, AnaState::PersistentLoss)});
  CHECK(ana_of(rgo, 1, 1).state == AnaState::PersistentLoss);
  CHECK(ana_of(rgo, 1, 0).state == AnaState::Inaccessible);
}

TEST_CASE("head paths carry each controller's ANA state, updated on change", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  const PathId p3 = f.add(3);
  ControllerInfo c1 = ctrl_info(1, {ns_info(1, 131072, 2)});
  c1.ana = ana_log({group(1, AnaState::Optimized), group(2, AnaState::NonOptimized)});
  ControllerInfo c2 = ctrl_info(2, {ns_info(1, 131072, 2)});
  c2.ana.reset();  // no ANA reporting
  ControllerInfo c3 = ctrl_info(3, {ns_info(1, 131072, 2)});
  c3.ana = ana_log({group(1, AnaState::Optimized)});  // group 2 missing
  f.up(p1, c1);
  f.up(p2, c2);
  f.up(p3, c3);

  auto s = f.snap();
  const auto& hp = only_head(*s).paths;
  REQUIRE(hp.size() == 3);
  CHECK(hp[0].ana == AnaState::NonOptimized);
  CHECK(hp[0].anagrpid == 2);
  CHECK(hp[1].ana == AnaState::Optimized);
  CHECK(hp[1].anagrpid == 0);
  CHECK(hp[2].ana == AnaState::Inaccessible);
  CHECK(hp[2].anagrpid == 2);

  // An ANA change event: the controller re-read its log, the topology is told again.
  c1.ana->groups[1].state = AnaState::Inaccessible;
  f.up(p1, c1);
  s = f.snap();
  CHECK(only_head(*s).paths[0].ana == AnaState::Inaccessible);
}

TEST_CASE("a namespace removed from every path loses its head, it returns with a new id",
          "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  f.up(p1, ctrl_info(1, {ns_info(1), ns_info(2)}));
  f.up(p2, ctrl_info(2, {ns_info(1), ns_info(2)}));
  const HeadId h2 = *f.topo.find(kNqn, 2);

  // Removed on path 1 only (its namespace-changed event came first).
  f.up(p1, ctrl_info(1, {ns_info(1)}));
  auto s = f.snap();
  REQUIRE(s->heads.size() == 2);
  CHECK(members(*s, *s->head(h2)) == std::vector<PathId>{p2});
  CHECK(members(*s, *s->head(*f.topo.find(kNqn, 1))) == std::vector<PathId>{p1, p2});

  // Removed on every path (disabled on the target): the head stays without paths, so that
  // I/O held under no_path_retry can resume; the snapshot shows it with no member.
  f.up(p2, ctrl_info(2, {ns_info(1)}));
  s = f.snap();
  REQUIRE(s->heads.size() == 2);
  REQUIRE(s->head(h2) != nullptr);
  CHECK(s->head(h2)->paths.empty());
  CHECK(f.topo.find(kNqn, 2) == h2);

  // Back again with the same identifiers: the same head, both paths.
  f.up(p2, ctrl_info(2, {ns_info(1), ns_info(2)}));
  f.up(p1, ctrl_info(1, {ns_info(1), ns_info(2)}));
  CHECK(f.topo.find(kNqn, 2) == h2);
  s = f.snap();
  CHECK(members(*s, *s->head(h2)) == std::vector<PathId>{p1, p2});
  CHECK(s->heads[0].id < s->heads[1].id);  // heads by id

  // Gone from every path, then back with other identifiers (deleted and re-created on the
  // target): another namespace, a new head id.
  f.up(p1, ctrl_info(1, {ns_info(1)}));
  f.up(p2, ctrl_info(2, {ns_info(1)}));
  auto recreated = ns_info(2);
  recreated.ids.uuid = uuid_of(2, 0x77);
  f.up(p1, ctrl_info(1, {ns_info(1), recreated}));
  const auto other = f.topo.find(kNqn, 2);
  REQUIRE(other);
  CHECK(*other > h2);
  CHECK(f.snap()->head(h2) == nullptr);
}

TEST_CASE("resize: the head follows the member that reports it, the others catch up",
          "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  f.up(p1, ctrl_info(1, {ns_info(1)}));
  f.up(p2, ctrl_info(2, {ns_info(1)}));
  const HeadId id = *f.topo.find(kNqn, 1);

  // Path 2's namespace-changed event: the namespace grew.
  f.up(p2, ctrl_info(2, {ns_info(1, 262144)}));
  auto s = f.snap();
  CHECK(only_head(*s).id == id);  // the same namespace, the same head
  CHECK(only_head(*s).geometry.nsze == 262144);
  CHECK(members(*s, only_head(*s)) == std::vector<PathId>{p2});

  // Path 1 changes state before its own event: still on the old size, still left out, and
  // it does not move the head back; no refusal either (it is a member, just behind).
  f.up(p1, ctrl_info(1, {ns_info(1)}), /*live=*/false);
  f.up(p1, ctrl_info(1, {ns_info(1)}));
  s = f.snap();
  CHECK(only_head(*s).geometry.nsze == 262144);
  CHECK(members(*s, only_head(*s)) == std::vector<PathId>{p2});

  // A new connection on the old size is refused, against the new size.
  const PathId p3 = f.add(3);
  const auto e = f.update(p3, ctrl_info(3, {ns_info(1)}));
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0].message, Catch::Contains("262144"));

  // Path 1's event arrives: back in the head.
  f.up(p1, ctrl_info(1, {ns_info(1, 262144)}));
  s = f.snap();
  CHECK(members(*s, only_head(*s)) == std::vector<PathId>{p1, p2});
  // And path 3 joins on its own next report of the new size.
  f.up(p3, ctrl_info(3, {ns_info(1, 262144)}));
  CHECK(members_of(f.topo, 1) == std::vector<PathId>{p1, p2, p3});
}

TEST_CASE("nvmet's two ports: one head per namespace, ANA per port", "[topology]") {
  // Identify Controller, ANA log, Identify Namespace and descriptors of both controllers, as
  // nvmet sent them (captures README: port 14420 optimized, the other non-optimized).
  const std::string file = "nvmet-6.1-plain.jsonl";
  const auto ctrls = test::c2h_payloads(file, "(Identify CNS 1)");
  const auto logs = test::c2h_payloads(file, "(Get Log Page 0xc)");
  REQUIRE(ctrls.size() == 2);
  REQUIRE(logs.size() >= 2);
  auto bytes = [](const std::vector<std::uint8_t>& b) { return Bytes(b.data(), b.size()); };

  Topology topo;
  std::vector<ControllerInfo> infos(2);
  for (std::size_t i = 0; i < 2; ++i) {
    INFO(ctrls[i].conn);
    REQUIRE(logs[i].conn == ctrls[i].conn);  // the bring-up reads, one per path, in order
    auto id = wire::parse_identify_controller(bytes(ctrls[i].data));
    auto ana = wire::parse_ana_log(bytes(logs[i].data));
    REQUIRE(id);
    REQUIRE(ana);
    ControllerInfo& info = infos[i];
    info.cntlid = id->cntlid;
    info.id = *id;
    info.ana = *ana;
    info.max_data_len = 1u << 20;
    info.max_icd = 8192;
    for (std::uint32_t nsid = 1; nsid <= 2; ++nsid) {
      const std::string tag = " nsid " + std::to_string(nsid) + ")";
      const auto ns = test::c2h_payloads(file, "(Identify CNS 0" + tag);
      const auto descs = test::c2h_payloads(file, "(Identify CNS 3" + tag);
      REQUIRE(ns.size() == 2);
      REQUIRE(descs.size() == 2);
      auto n = wire::parse_identify_namespace(bytes(ns[i].data));
      auto d = wire::parse_ns_id_descriptors(bytes(descs[i].data));
      REQUIRE(n);
      REQUIRE(d);
      info.namespaces.push_back(NamespaceInfo{nsid, *n, *d});
    }
    // "127.0.0.1:14420 qid 0"
    const std::string addr = ctrls[i].conn.substr(0, ctrls[i].conn.find(' '));
    const std::string port = addr.substr(addr.find(':') + 1);
    const ConnectionKey k{"127.0.0.1", static_cast<std::uint16_t>(std::stoi(port)), id->subnqn,
                          kHost};
    const auto pid = topo.add_path(k);
    REQUIRE(pid);
    PathInput in = input(k, &info);
    const auto errors = topo.update_path(*pid, in);
    for (const auto& e : errors) {
      FAIL_CHECK(e.message);
    }
  }

  const auto s = topo.build();
  REQUIRE(s->paths.size() == 2);
  REQUIRE(s->heads.size() == 2);
  for (std::uint32_t nsid = 1; nsid <= 2; ++nsid) {
    const HeadView& h = s->heads[nsid - 1];
    INFO("nsid " << nsid);
    CHECK(h.nsid == nsid);
    CHECK(h.subnqn == kNqn);
    CHECK(h.wwid == wwid_of(nsid));
    CHECK(h.geometry == NsGeometry{131072, 512, 0, false});
    REQUIRE(h.paths.size() == 2);
    for (const HeadPath& hp : h.paths) {
      const PathView& v = s->paths[hp.path_index];
      CHECK(hp.anagrpid == nsid);  // nvmet: one group per namespace
      CHECK(hp.ana == (v.endpoint.trsvcid == 14420 ? AnaState::Optimized : AnaState::NonOptimized));
    }
  }
}

}  // namespace nvmemp::topology
