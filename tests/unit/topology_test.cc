// The topology model (topology/topology.h): paths joining heads under the identity and
// geometry rules, heads coming and going with their namespaces, ANA state per path, limits,
// policies, and the snapshot built from it all. Fixtures are synthetic controllers shaped like
// nvmet's, plus one run on the Identify and ANA data nvmet really sent.
#include "topology/topology.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/capture.h"

namespace nvmemp::topology {
namespace {

using controller::ControllerInfo;
using controller::NamespaceInfo;
using wire::AnaState;

constexpr const char* kNqn = "nqn.2026-01.io.example:mpath-test";
constexpr const char* kOtherNqn = "nqn.2026-01.io.example:other";
constexpr const char* kHost = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0";

// nvmet's UUIDs: 9c0b5e2a-6f1d-4c3b-8a7e-0000000000NN for nsid NN; `salt` makes another one.
std::array<std::uint8_t, 16> uuid_of(std::uint32_t nsid, std::uint8_t salt = 0) {
  std::array<std::uint8_t, 16> u{0x9c, 0x0b, 0x5e, 0x2a, 0x6f, 0x1d, 0x4c, 0x3b,
                                 0x8a, 0x7e, 0x00, 0x00, 0x00, 0x00, salt, 0x00};
  u[15] = static_cast<std::uint8_t>(nsid);
  return u;
}

std::string wwid_of(std::uint32_t nsid) {
  return "uuid.9c0b5e2a-6f1d-4c3b-8a7e-0000000000" + fmt::format("{:02x}", nsid);
}

// A shared namespace of 512-byte blocks in ANA group `anagrpid`.
NamespaceInfo ns_info(std::uint32_t nsid, std::uint64_t nsze = 131072, std::uint32_t anagrpid = 1) {
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

wire::AnaGroup group(std::uint32_t anagrpid, AnaState state, std::vector<std::uint32_t> nsids = {}) {
  wire::AnaGroup g;
  g.anagrpid = anagrpid;
  g.state = state;
  g.nnsids = static_cast<std::uint32_t>(nsids.size());
  g.nsids = std::move(nsids);
  return g;
}

wire::AnaLog ana_log(std::vector<wire::AnaGroup> groups) {
  wire::AnaLog log;
  log.ngrps = static_cast<std::uint16_t>(groups.size());
  log.groups = std::move(groups);
  return log;
}

// A controller of kNqn with `namespaces`, all in ANA group 1 in `state`.
ControllerInfo ctrl_info(std::uint16_t cntlid, std::vector<NamespaceInfo> namespaces,
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

ConnectionKey key(int host, const std::string& subnqn = kNqn) {
  return ConnectionKey{"10.0.0." + std::to_string(host), 4420, subnqn, kHost};
}

PathInput input(const ConnectionKey& k, const ControllerInfo* info, bool live = true) {
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
std::vector<PathId> members(const TopologySnapshot& s, const HeadView& h) {
  std::vector<PathId> out;
  for (const auto& hp : h.paths) {
    out.push_back(s.paths.at(hp.path_index).id);
  }
  return out;
}

// Path ids of the snapshot members of the head of (kNqn, nsid), which must exist.
std::vector<PathId> members_of(const Topology& t, std::uint32_t nsid) {
  const auto s = t.build();
  const auto id = t.find(kNqn, nsid);
  REQUIRE(id);
  const HeadView* h = s->head(*id);
  REQUIRE(h);
  return members(*s, *h);
}

const HeadView& only_head(const TopologySnapshot& s) {
  REQUIRE(s.heads.size() == 1);
  return s.heads.front();
}

}  // namespace

TEST_CASE("two paths to one namespace make one head", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  CHECK(p1 == 1);
  CHECK(p2 == 2);
  const ControllerInfo c1 = ctrl_info(1, {ns_info(1)});
  ControllerInfo c2 = ctrl_info(2, {ns_info(1)}, AnaState::NonOptimized);
  c2.max_data_len = 131072;
  // The second path comes up first: it creates the head, the first joins it; the head still
  // lists its paths by id.
  f.up(p2, c2);
  f.up(p1, c1);

  const auto s = f.snap();
  REQUIRE(s->paths.size() == 2);
  CHECK(s->paths[0].id == p1);
  CHECK(s->paths[1].id == p2);
  const HeadView& h = only_head(*s);
  CHECK(h.id == 1);
  CHECK(h.subnqn == kNqn);
  CHECK(h.nsid == 1);
  CHECK(h.wwid == wwid_of(1));
  CHECK(h.geometry == NsGeometry{131072, 512, 0, false});
  CHECK(h.policy == multipath::kDefaultPolicy);
  CHECK(h.may_return);
  CHECK(members(*s, h) == std::vector<PathId>{p1, p2});
  CHECK(h.paths[0].ana == AnaState::Optimized);
  CHECK(h.paths[0].anagrpid == 1);
  CHECK(h.paths[1].ana == AnaState::NonOptimized);
  CHECK(h.limits == PathLimits{131072, 8192});

  const PathView& v = s->paths[1];
  CHECK(v.name == describe(key(2)) + " cntlid 2");
  CHECK(v.subnqn == kNqn);
  CHECK(v.endpoint.traddr == "10.0.0.2");
  CHECK(v.endpoint.trsvcid == 4420);
  CHECK(v.cntlid == 2);
  CHECK(v.live);
  CHECK(v.generation == 1);
  CHECK(v.io_queues == 4);
  CHECK(v.queue_size == 128);
  CHECK(v.max_icd == 8192);
  CHECK(v.max_data_len == 131072);
  CHECK(v.facts.crdt_100ms == std::array<std::uint16_t, 3>{1, 2, 3});
  CHECK(v.facts.kato == std::chrono::seconds(5));
  CHECK(s->path(p2) == &s->paths[1]);
  CHECK(s->head(h.id) == &h);

  CHECK(f.topo.find(kNqn, 1) == h.id);
  CHECK_FALSE(f.topo.find(kNqn, 2));
  CHECK_FALSE(f.topo.find(kOtherNqn, 1));
  CHECK(f.topo.find_wwid(wwid_of(1)) == h.id);
  CHECK_FALSE(f.topo.find_wwid(wwid_of(2)));
  CHECK(f.topo.paths_of(kNqn) == std::vector<PathId>{p1, p2});
  CHECK(f.topo.paths_of(kOtherNqn).empty());

  // A snapshot never changes after it was built.
  f.topo.remove_path(p1);
  CHECK(s->paths.size() == 2);
  CHECK(h.paths.size() == 2);
  CHECK(f.snap()->paths.size() == 1);
}

TEST_CASE("head wwid follows the kernel's choice of identifier", "[topology]") {
  Fixture f;
  const PathId p = f.add(1);
  NamespaceInfo ns = ns_info(7);
  ns.ids.uuid.reset();
  ns.id.nguid = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 0, 0, 0, 0, 0, 0, 0x07};
  NamespaceInfo bare = ns_info(8);
  bare.ids.uuid.reset();
  f.up(p, ctrl_info(1, {ns, bare}));
  const auto s = f.snap();
  REQUIRE(s->heads.size() == 2);
  CHECK(s->heads[0].wwid == "eui.0123456789abcdef0000000000000007");
  // No identifier at all: vid-serial-model-nsid.
  CHECK(s->heads[1].wwid == "nvme.0000-72742d6d706174682d30303031-4c696e7578-00000008");
  CHECK(f.topo.find_wwid("eui.0123456789abcdef0000000000000007") == s->heads[0].id);
}

TEST_CASE("a second connection with the same key is refused", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const auto dup = f.topo.add_path(key(1));
  REQUIRE_FALSE(dup);
  CHECK(dup.error().code == Errc::InvalidArgument);
  const std::string& m = dup.error().message;
  INFO(m);
  CHECK_THAT(m, Catch::Contains(describe(key(1))));
  CHECK_THAT(m, Catch::Contains("already connected (path 1)"));
  CHECK_THAT(m, Catch::Contains("disconnect path 1 first"));
  CHECK(f.topo.paths_of(kNqn) == std::vector<PathId>{p1});

  // Another port, host NQN or subsystem is another connection.
  ConnectionKey k = key(1);
  k.trsvcid = 4421;
  CHECK(f.topo.add_path(k) == PathId{2});
  k = key(1);
  k.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:other";
  CHECK(f.topo.add_path(k) == PathId{3});
  CHECK(f.topo.add_path(key(1, kOtherNqn)) == PathId{4});

  // Once removed, the same connection may come again, under a new id: ids are not reused.
  f.topo.remove_path(p1);
  CHECK(f.topo.add_path(key(1)) == PathId{5});
}

TEST_CASE("a path whose identifiers differ is refused and never merged", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  f.up(p1, ctrl_info(1, {ns_info(1), ns_info(2)}));
  ControllerInfo bad = ctrl_info(2, {ns_info(1), ns_info(2)});
  bad.namespaces[0].ids.uuid = uuid_of(1, 0xee);  // nsid 1 is another namespace behind port 2

  const auto errors = f.update(p2, bad);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].code == Errc::Malformed);
  const std::string& m = errors[0].message;
  INFO(m);
  CHECK_THAT(m, Catch::Contains("path 2 (" + describe(key(2)) + " cntlid 2)"));
  CHECK_THAT(m, Catch::Contains(kNqn));
  CHECK_THAT(m, Catch::Contains("nsid 1"));
  CHECK_THAT(m, Catch::Contains("UUID differs"));
  CHECK_THAT(m, Catch::Contains("9c0b5e2a-6f1d-4c3b-8a7e-00000000ee01"));
  CHECK_THAT(m, Catch::Contains(wwid_of(1)));

  auto s = f.snap();
  REQUIRE(s->heads.size() == 2);
  CHECK(members(*s, s->heads[0]) == std::vector<PathId>{p1});
  CHECK(members(*s, s->heads[1]) == std::vector<PathId>{p1, p2});  // nsid 2 matches
  CHECK(s->paths.size() == 2);  // the path itself stays

  SECTION("the refusal holds on every update until the identity matches") {
    CHECK(f.update(p2, bad).size() == 1);
    f.up(p2, ctrl_info(2, {ns_info(1), ns_info(2)}));
    s = f.snap();
    CHECK(members(*s, s->heads[0]) == std::vector<PathId>{p1, p2});
  }
  SECTION("when the head's last member leaves, the refused namespace gets its own head") {
    const HeadId old = s->heads[0].id;
    f.topo.remove_path(p1);
    s = f.snap();
    REQUIRE(s->heads.size() == 2);
    const HeadView* h = s->head(*f.topo.find(kNqn, 1));
    REQUIRE(h);
    CHECK(h->id != old);
    CHECK(h->wwid == "uuid.9c0b5e2a-6f1d-4c3b-8a7e-00000000ee01");
    CHECK(members(*s, *h) == std::vector<PathId>{p2});
    CHECK_FALSE(f.topo.find_wwid(wwid_of(1)));
  }
  SECTION("a private namespace takes no second path") {
    Fixture g;
    const PathId a = g.add(1);
    const PathId b = g.add(2);
    NamespaceInfo priv = ns_info(1);
    priv.id.nmic = 0;
    g.up(a, ctrl_info(1, {priv}));
    const auto e = g.update(b, ctrl_info(2, {priv}));
    REQUIRE(e.size() == 1);
    CHECK_THAT(e[0].message, Catch::Contains("not shared"));
    CHECK(members_of(g.topo, 1) == std::vector<PathId>{a});
  }
}

TEST_CASE("a member whose namespace was re-created with other identifiers leaves", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  f.up(p1, ctrl_info(1, {ns_info(1)}));
  f.up(p2, ctrl_info(2, {ns_info(1)}));
  const HeadId old = *f.topo.find(kNqn, 1);
  ControllerInfo recreated = ctrl_info(1, {ns_info(1)});
  recreated.namespaces[0].ids.uuid = uuid_of(1, 0x55);

  // Path 1 sees the new namespace first: refused while path 2 still holds the old one.
  CHECK(f.update(p1, recreated).size() == 1);
  CHECK(members_of(f.topo, 1) == std::vector<PathId>{p2});
  // Path 2 sees it too: the old head is gone, the new namespace has a new head with both.
  recreated.cntlid = 2;
  f.up(p2, recreated);
  const auto s = f.snap();
  const HeadView& h = only_head(*s);
  CHECK(h.id != old);
  CHECK(h.wwid == "uuid.9c0b5e2a-6f1d-4c3b-8a7e-00000000" "5501");
  CHECK(members(*s, h) == std::vector<PathId>{p1, p2});
}

TEST_CASE("a path whose geometry differs is refused", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  const PathId p3 = f.add(3);
  f.up(p1, ctrl_info(1, {ns_info(1)}));

  auto e = f.update(p2, ctrl_info(2, {ns_info(1, 262144)}));
  REQUIRE(e.size() == 1);
  CHECK(e[0].code == Errc::Malformed);
  INFO(e[0].message);
  CHECK_THAT(e[0].message, Catch::Contains("path 2"));
  CHECK_THAT(e[0].message, Catch::Contains(std::string("subsystem ") + kNqn + " nsid 1"));
  CHECK_THAT(e[0].message, Catch::Contains("262144"));
  CHECK_THAT(e[0].message, Catch::Contains("131072"));

  ControllerInfo other_format = ctrl_info(3, {ns_info(1)});
  other_format.namespaces[0].id.lbads = 12;
  e = f.update(p3, other_format);
  REQUIRE(e.size() == 1);
  CHECK_THAT(e[0].message, Catch::Contains("LBA format 4096"));

  const auto s = f.snap();
  CHECK(members(*s, only_head(*s)) == std::vector<PathId>{p1});
  CHECK(only_head(*s).geometry == NsGeometry{131072, 512, 0, false});
}

TEST_CASE("head limits are the minimum over the live member paths", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  const PathId p3 = f.add(3);
  ControllerInfo c1 = ctrl_info(1, {ns_info(1)});
  ControllerInfo c2 = ctrl_info(2, {ns_info(1)});
  ControllerInfo c3 = ctrl_info(3, {ns_info(1)});
  c1.max_data_len = 1u << 20;
  c1.max_icd = 8192;
  c2.max_data_len = 131072;
  c2.max_icd = 16384;
  c3.max_data_len = 65536;
  c3.max_icd = 4096;
  f.up(p1, c1);
  f.up(p2, c2);
  f.up(p3, c3, /*live=*/false);  // reconnecting: its limits do not hold the others back

  CHECK(only_head(*f.snap()).limits == PathLimits{131072, 8192});
  // None live: the minimum over every member, never {0, 0} while there are members.
  f.up(p1, c1, false);
  f.up(p2, c2, false);
  CHECK(only_head(*f.snap()).limits == PathLimits{65536, 4096});
  CHECK(only_head(*f.snap()).paths.size() == 3);  // not live, still members
  CHECK_FALSE(f.snap()->paths[0].live);
}

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

TEST_CASE("a namespace removed from every path loses its head; it returns with a new id",
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

TEST_CASE("remove_path: the path leaves every head; empty heads vanish", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  f.up(p1, ctrl_info(1, {ns_info(1), ns_info(2)}));
  f.up(p2, ctrl_info(2, {ns_info(1)}));
  const HeadId h1 = *f.topo.find(kNqn, 1);

  f.topo.remove_path(p1);
  auto s = f.snap();
  REQUIRE(s->paths.size() == 1);
  CHECK(s->paths[0].id == p2);
  const HeadView& h = only_head(*s);
  CHECK(h.id == h1);
  CHECK(members(*s, h) == std::vector<PathId>{p2});
  CHECK(h.paths[0].path_index == 0);
  CHECK_FALSE(f.topo.find(kNqn, 2));
  CHECK(f.topo.paths_of(kNqn) == std::vector<PathId>{p2});

  f.topo.remove_path(p1);  // unknown now: nothing happens
  f.topo.remove_path(99);
  CHECK(f.snap()->paths.size() == 1);

  const auto e = f.update(p1, ctrl_info(1, {ns_info(1)}));
  REQUIRE(e.size() == 1);
  CHECK(e[0].code == Errc::NotFound);
  CHECK_THAT(e[0].message, Catch::Contains("path 1"));

  f.topo.remove_path(p2);
  s = f.snap();
  CHECK(s->paths.empty());
  CHECK(s->heads.empty());
}

TEST_CASE("policy per subsystem; default for subsystems seen later", "[topology]") {
  Fixture f;
  const auto unknown = f.topo.set_policy(kNqn, multipath::Policy::RoundRobin);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Errc::NotFound);
  CHECK_THAT(unknown.error().message, Catch::Contains(kNqn));

  const PathId a = f.add(1);
  const PathId b = f.add(1, kOtherNqn);
  f.up(a, ctrl_info(1, {ns_info(1)}));
  ControllerInfo other = ctrl_info(1, {ns_info(1)});
  other.id.subnqn = kOtherNqn;
  f.up(b, other);
  REQUIRE(f.topo.set_policy(kNqn, multipath::Policy::RoundRobin));
  auto s = f.snap();
  REQUIRE(s->heads.size() == 2);
  CHECK(s->heads[0].subnqn == kNqn);
  CHECK(s->heads[0].policy == multipath::Policy::RoundRobin);
  CHECK(s->heads[1].policy == multipath::kDefaultPolicy);

  // The default applies to subsystems registered from now on, not to those already known.
  f.topo.set_default_policy(multipath::Policy::Numa);
  const PathId c = f.add(1, "nqn.2026-01.io.example:third");
  ControllerInfo third = ctrl_info(1, {ns_info(1)});
  third.id.subnqn = "nqn.2026-01.io.example:third";
  f.up(c, third);
  s = f.snap();
  REQUIRE(s->heads.size() == 3);
  CHECK(s->heads[1].policy == multipath::kDefaultPolicy);
  CHECK(s->heads[2].policy == multipath::Policy::Numa);

  // The last path gone, the subsystem is forgotten with its policy.
  f.topo.remove_path(a);
  const auto forgotten = f.topo.set_policy(kNqn, multipath::Policy::QueueDepth);
  REQUIRE_FALSE(forgotten);
  CHECK(forgotten.error().code == Errc::NotFound);
}

TEST_CASE("may_return: while some controller of the subsystem is not dead", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  const ControllerInfo c1 = ctrl_info(1, {ns_info(1)});
  const ControllerInfo c2 = ctrl_info(2, {ns_info(1)});
  f.up(p1, c1);
  f.up(p2, c2);

  PathInput gone = input(f.keys[p1], &c1, false);
  gone.dead = true;
  CHECK(f.topo.update_path(p1, gone).empty());
  CHECK(only_head(*f.snap()).may_return);

  gone = input(f.keys[p2], &c2, false);
  gone.dead = true;
  CHECK(f.topo.update_path(p2, gone).empty());
  CHECK_FALSE(only_head(*f.snap()).may_return);
  CHECK(only_head(*f.snap()).paths.size() == 2);  // dead paths stay until removed

  // A new connection that has not come up yet may still bring the namespace back.
  f.add(3);
  CHECK(only_head(*f.snap()).may_return);
}

TEST_CASE("a path that never came up is listed and contributes nothing", "[topology]") {
  Fixture f;
  const PathId p1 = f.add(1);
  const PathId p2 = f.add(2);
  f.up(p1, ctrl_info(1, {ns_info(1)}));
  // Before any update_path: named after its key.
  auto s = f.snap();
  REQUIRE(s->paths.size() == 2);
  CHECK(s->paths[1].name == describe(key(2)));
  CHECK(s->paths[1].subnqn == kNqn);
  CHECK(s->paths[1].endpoint.traddr == "10.0.0.2");
  CHECK_FALSE(s->paths[1].live);

  CHECK(f.topo.update_path(p2, input(f.keys[p2], nullptr, false)).empty());
  s = f.snap();
  CHECK(s->paths[1].cntlid == 0);
  CHECK(s->paths[1].max_data_len == 0);
  CHECK(members(*s, only_head(*s)) == std::vector<PathId>{p1});
  CHECK(only_head(*s).limits == PathLimits{1u << 20, 8192});
}

TEST_CASE("a reconnecting path keeps its memberships", "[topology]") {
  Fixture f;
  const PathId p = f.add(1);
  const ControllerInfo c = ctrl_info(1, {ns_info(1)});
  f.up(p, c);
  const HeadId id = *f.topo.find(kNqn, 1);
  PathInput resetting = input(f.keys[p], &c, false);
  resetting.generation = 1;
  CHECK(f.topo.update_path(p, resetting).empty());
  auto s = f.snap();
  CHECK(only_head(*s).id == id);
  CHECK(members(*s, only_head(*s)) == std::vector<PathId>{p});
  CHECK_FALSE(s->paths[0].live);
  CHECK(only_head(*s).may_return);

  PathInput back = input(f.keys[p], &c, true);
  back.generation = 2;
  CHECK(f.topo.update_path(p, back).empty());
  s = f.snap();
  CHECK(only_head(*s).id == id);
  CHECK(s->paths[0].live);
  CHECK(s->paths[0].generation == 2);
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
