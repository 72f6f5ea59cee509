// The topology model (topology/topology.h): paths joining heads under the identity and
// geometry rules, limits, policies, paths removed, dead, never up or reconnecting, and the
// snapshot built from it all. Heads following their namespaces' changes and ANA state per path
// are in topology_events_test.cc; the fixtures (synthetic controllers shaped like nvmet's) in
// topology_fixtures.h.
#include "topology/topology.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "topology_fixtures.h"

namespace nvmemp::topology {

using namespace fixtures;

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
  CHECK(h.policy == kDefaultPolicy);
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

TEST_CASE("remove_path: the path leaves every head, empty heads vanish", "[topology]") {
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

TEST_CASE("policy per subsystem, default for subsystems seen later", "[topology]") {
  Fixture f;
  const auto unknown = f.topo.set_policy(kNqn, Policy::RoundRobin);
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == Errc::NotFound);
  CHECK_THAT(unknown.error().message, Catch::Contains(kNqn));

  const PathId a = f.add(1);
  const PathId b = f.add(1, kOtherNqn);
  f.up(a, ctrl_info(1, {ns_info(1)}));
  ControllerInfo other = ctrl_info(1, {ns_info(1)});
  other.id.subnqn = kOtherNqn;
  f.up(b, other);
  REQUIRE(f.topo.set_policy(kNqn, Policy::RoundRobin));
  auto s = f.snap();
  REQUIRE(s->heads.size() == 2);
  CHECK(s->heads[0].subnqn == kNqn);
  CHECK(s->heads[0].policy == Policy::RoundRobin);
  CHECK(s->heads[1].policy == kDefaultPolicy);

  // The default applies to subsystems registered from now on, not to those already known.
  f.topo.set_default_policy(Policy::Numa);
  const PathId c = f.add(1, "nqn.2026-01.io.example:third");
  ControllerInfo third = ctrl_info(1, {ns_info(1)});
  third.id.subnqn = "nqn.2026-01.io.example:third";
  f.up(c, third);
  s = f.snap();
  REQUIRE(s->heads.size() == 3);
  CHECK(s->heads[1].policy == kDefaultPolicy);
  CHECK(s->heads[2].policy == Policy::Numa);

  // The last path gone, the subsystem is forgotten with its policy.
  f.topo.remove_path(a);
  const auto forgotten = f.topo.set_policy(kNqn, Policy::QueueDepth);
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

}  // namespace nvmemp::topology
