// Namespace identity (topology/ns_identity.h): the kernel's wwid in its four forms, identities
// built from the Identify data nvmet and SPDK sent in ../shared/real-target/captures, and the
// rules a path must pass to join a head.
#include "topology/ns_identity.h"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "support/capture.h"

namespace nvmemp::topology {
namespace {

using Arr16 = std::array<std::uint8_t, 16>;
using Arr8 = std::array<std::uint8_t, 8>;

Arr16 seq16(std::uint8_t first) {
  Arr16 a{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<std::uint8_t>(first + i);
  }
  return a;
}

Arr8 seq8(std::uint8_t first) {
  Arr8 a{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = static_cast<std::uint8_t>(first + i);
  }
  return a;
}

// A head as nvmet reports namespace 1 (UUID, NGUID, CSI 0, shared).
NsIdentity nvmet_like() {
  NsIdentity id;
  id.subnqn = "nqn.2026-01.io.example:mpath-test";
  id.nsid = 1;
  id.uuid = Arr16{0x9c, 0x0b, 0x5e, 0x2a, 0x6f, 0x1d, 0x4c, 0x3b,
                  0x8a, 0x7e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};
  id.nguid = Arr16{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 0, 0, 0, 0, 0, 0, 0x01};
  id.shared = true;
  id.serial = "rt-mpath-0001";
  id.model = "Linux";
  return id;
}

Bytes bytes(const std::vector<std::uint8_t>& b) { return Bytes(b.data(), b.size()); }

struct CapturedPath {
  std::string conn;
  wire::IdentifyController ctrl;
  controller::NamespaceInfo ns;
};

// Every controller's view of `nsid` in `file`: Identify Controller, Identify Namespace and the
// descriptor list, in capture order (one entry per controller the probe connected to).
std::vector<CapturedPath> captured_paths(const std::string& file, std::uint32_t nsid) {
  const std::string tag = " nsid " + std::to_string(nsid) + ")";
  const auto ctrls = test::c2h_payloads(file, "(Identify CNS 1)");
  const auto id_ns = test::c2h_payloads(file, "(Identify CNS 0" + tag);
  const auto descs = test::c2h_payloads(file, "(Identify CNS 3" + tag);
  REQUIRE(ctrls.size() == id_ns.size());
  REQUIRE(ctrls.size() == descs.size());
  std::vector<CapturedPath> out;
  for (std::size_t i = 0; i < ctrls.size(); ++i) {
    auto c = wire::parse_identify_controller(bytes(ctrls[i].data));
    auto n = wire::parse_identify_namespace(bytes(id_ns[i].data));
    auto d = wire::parse_ns_id_descriptors(bytes(descs[i].data));
    REQUIRE(c);
    REQUIRE(n);
    REQUIRE(d);
    out.push_back(CapturedPath{ctrls[i].conn, *c, controller::NamespaceInfo{nsid, *n, *d}});
  }
  return out;
}

}  // namespace

TEST_CASE("wwid: uuid form, the kernel's %pU", "[ns_identity]") {
  NsIdentity id = nvmet_like();
  id.eui64 = seq8(0x10);
  // UUID wins over NGUID and EUI-64.
  CHECK(wwid(id) == "uuid.9c0b5e2a-6f1d-4c3b-8a7e-000000000001");
  id.uuid = Arr16{0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89,
                  0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89};
  CHECK(wwid(id) == "uuid.abcdef01-2345-6789-abcd-ef0123456789");  // lower case
}

TEST_CASE("wwid: eui form from the NGUID, 32 hex digits (%16phN)", "[ns_identity]") {
  NsIdentity id = nvmet_like();
  id.uuid.reset();
  id.nguid = seq16(0xa0);
  id.eui64 = seq8(0x10);  // NGUID wins over EUI-64
  CHECK(wwid(id) == "eui.a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
}

TEST_CASE("wwid: eui form from the EUI-64, 16 hex digits (%8phN)", "[ns_identity]") {
  NsIdentity id = nvmet_like();
  id.uuid.reset();
  id.nguid.reset();
  id.eui64 = Arr8{0x00, 0x25, 0x38, 0xB1, 0x02, 0x03, 0x04, 0xFF};
  CHECK(wwid(id) == "eui.002538b1020304ff");
}

TEST_CASE("wwid: nvme form, vid-serial-model-nsid as the kernel prints it", "[ns_identity]") {
  NsIdentity id;
  id.nsid = 1;
  id.vid = 0x1b36;
  id.serial = "SN-42";
  id.model = "QEMU NVMe Ctrl";  // inner spaces are bytes like any other: 0x20
  CHECK(wwid(id) == "nvme.1b36-534e2d3432-51454d55204e564d65204374726c-00000001");

  SECTION("trailing spaces and NULs are trimmed, as wwid_show() does") {
    id.serial = std::string("SN-42  \0 ", 9);
    id.model = "QEMU NVMe Ctrl    ";
    CHECK(wwid(id) == "nvme.1b36-534e2d3432-51454d55204e564d65204374726c-00000001");
  }
  SECTION("vid %04x, nsid %08x") {
    id.vid = 0;
    id.nsid = 0xabcdef;
    CHECK(wwid(id) == "nvme.0000-534e2d3432-51454d55204e564d65204374726c-00abcdef");
  }
  SECTION("empty serial and model print nothing between the dashes (%*phN of 0 bytes)") {
    id.serial = "   ";
    id.model.clear();
    CHECK(wwid(id) == "nvme.1b36---00000001");
  }
}

TEST_CASE("make_identity: descriptors first, Identify Namespace for a zero identifier",
          "[ns_identity]") {
  wire::IdentifyController ctrl;
  ctrl.vid = 0x1b36;
  ctrl.sn = "SN-42";
  ctrl.mn = "QEMU NVMe Ctrl";
  controller::NamespaceInfo ns;
  ns.nsid = 3;
  ns.id.nsze = 100;
  ns.id.nmic = 1;
  ns.id.nguid = seq16(0x40);
  ns.id.eui64 = seq8(0x50);

  SECTION("no descriptors: NGUID and EUI-64 from Identify Namespace, no UUID, CSI 0") {
    const NsIdentity id = make_identity("nqn.x", ctrl, ns);
    CHECK(id.subnqn == "nqn.x");
    CHECK(id.nsid == 3);
    CHECK_FALSE(id.uuid);
    CHECK(id.nguid == seq16(0x40));
    CHECK(id.eui64 == seq8(0x50));
    CHECK(id.csi == 0);
    CHECK(id.shared);
    CHECK(id.vid == 0x1b36);
    CHECK(id.serial == "SN-42");
    CHECK(id.model == "QEMU NVMe Ctrl");
    CHECK(wwid(id) == "eui.404142434445464748494a4b4c4d4e4f");
  }
  SECTION("descriptor values win over Identify Namespace") {
    ns.ids.nguid = seq16(0x60);
    ns.ids.eui64 = seq8(0x70);
    ns.ids.uuid = seq16(0x80);
    ns.ids.csi = 2;
    const NsIdentity id = make_identity("nqn.x", ctrl, ns);
    CHECK(id.nguid == seq16(0x60));
    CHECK(id.eui64 == seq8(0x70));
    CHECK(id.uuid == seq16(0x80));
    CHECK(id.csi == 2);
  }
  SECTION("an all-zero descriptor is no identifier: Identify Namespace fills it, as the kernel") {
    ns.ids.nguid = Arr16{};
    ns.ids.eui64 = Arr8{};
    ns.ids.uuid = Arr16{};
    const NsIdentity id = make_identity("nqn.x", ctrl, ns);
    CHECK_FALSE(id.uuid);
    CHECK(id.nguid == seq16(0x40));
    CHECK(id.eui64 == seq8(0x50));
  }
  SECTION("nothing anywhere: the nvme. form") {
    ns.id.nguid = Arr16{};
    ns.id.eui64 = Arr8{};
    ns.id.nmic = 0;
    const NsIdentity id = make_identity("nqn.x", ctrl, ns);
    CHECK_FALSE(id.uuid);
    CHECK_FALSE(id.nguid);
    CHECK_FALSE(id.eui64);
    CHECK_FALSE(id.shared);
    CHECK(wwid(id) == "nvme.1b36-534e2d3432-51454d55204e564d65204374726c-00000003");
  }
}

TEST_CASE("identity from the real targets' Identify data", "[ns_identity]") {
  struct Expect {
    std::string file;
    std::uint32_t nsid;
    std::string wwid;
    std::string subnqn;
  };
  const std::vector<Expect> cases = {
      {"nvmet-6.1-plain.jsonl", 1, "uuid.9c0b5e2a-6f1d-4c3b-8a7e-000000000001",
       "nqn.2026-01.io.example:mpath-test"},
      {"nvmet-6.1-plain.jsonl", 2, "uuid.9c0b5e2a-6f1d-4c3b-8a7e-000000000002",
       "nqn.2026-01.io.example:mpath-test"},
      {"spdk-plain.jsonl", 1, "uuid.062e2243-119e-4d1b-98eb-a3aa96e46ed4",
       "nqn.2016-06.io.spdk:cnode1"},
  };
  for (const auto& e : cases) {
    INFO(e.file << " nsid " << e.nsid);
    const auto paths = captured_paths(e.file, e.nsid);
    REQUIRE(paths.size() == 2);  // two controllers, one per port: two paths to one namespace
    std::vector<NsIdentity> ids;
    std::vector<NsGeometry> geos;
    for (const auto& p : paths) {
      INFO(p.conn);
      CHECK(p.ctrl.subnqn == e.subnqn);
      ids.push_back(make_identity(p.ctrl.subnqn, p.ctrl, p.ns));
      geos.push_back(geometry_of(p.ns.id));
      const NsIdentity& id = ids.back();
      CHECK(wwid(id) == e.wwid);
      CHECK(id.shared);
      CHECK(id.uuid);
      CHECK(id.nguid);
      CHECK_FALSE(id.eui64);
      CHECK(id.csi == 0);  // nvmet sends NIDT 4 = 0, SPDK sends none: the same to the kernel
    }
    const auto same = check_same_namespace(ids[0], ids[1]);
    CHECK(same);
    if (!same) {
      FAIL(same.error().message);
    }
    CHECK(check_same_geometry(geos[0], geos[1], "second path"));
    if (e.file.rfind("nvmet", 0) == 0) {
      CHECK(ids[0].vid == 0);
      CHECK(geos[0] == NsGeometry{131072, 512, 0, false});
      // Without its identifiers nvmet's namespace would get the serial/model form.
      NsIdentity bare = ids[0];
      bare.uuid.reset();
      bare.nguid.reset();
      CHECK(wwid(bare) == "nvme.0000-72742d6d706174682d30303031-4c696e7578-0000000" +
                              std::to_string(e.nsid));
    } else {
      CHECK(ids[0].vid == 0x8086);
      CHECK(geos[0] == NsGeometry{262144, 4096, 0, false});
    }
  }
}

TEST_CASE("check_same_namespace follows nvme_init_ns_head()", "[ns_identity]") {
  const NsIdentity head = nvmet_like();
  NsIdentity path = head;
  path.vid = 0x8086;  // vid/serial/model are per controller, not part of the comparison
  path.serial = "other";
  REQUIRE(check_same_namespace(head, path));

  SECTION("a differing NGUID is refused, naming it, both values, the NQN, nsid and the remedy") {
    path.nguid = seq16(0xa0);
    const auto r = check_same_namespace(head, path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Malformed);
    const std::string& m = r.error().message;
    INFO(m);
    CHECK_THAT(m, Catch::Contains("NGUID"));
    CHECK_THAT(m, Catch::Contains("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
    CHECK_THAT(m, Catch::Contains("0123456789abcdef0000000000000001"));
    CHECK_THAT(m, Catch::Contains("nqn.2026-01.io.example:mpath-test"));
    CHECK_THAT(m, Catch::Contains("nsid 1"));
    CHECK_THAT(m, Catch::Contains("check the target's namespace configuration"));
  }
  SECTION("a differing UUID is refused") {
    path.uuid = seq16(0x30);
    const auto r = check_same_namespace(head, path);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("UUID"));
    CHECK_THAT(r.error().message, Catch::Contains("30313233-3435-3637-3839-3a3b3c3d3e3f"));
    CHECK_THAT(r.error().message, Catch::Contains("9c0b5e2a-6f1d-4c3b-8a7e-000000000001"));
  }
  SECTION("an identifier on one side only is refused (memcmp against zeros, like the kernel)") {
    path.uuid.reset();
    auto r = check_same_namespace(head, path);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("UUID"));
    CHECK_THAT(r.error().message, Catch::Contains("none"));
    path = head;
    path.eui64 = seq8(0x10);
    r = check_same_namespace(head, path);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("EUI-64"));
    CHECK_THAT(r.error().message, Catch::Contains("1011121314151617"));
  }
  SECTION("no identifier on either side: equal (the kernel's all-zero memcmp)") {
    NsIdentity a = head;
    a.uuid.reset();
    a.nguid.reset();
    NsIdentity b = a;
    CHECK(check_same_namespace(a, b));
  }
  SECTION("a differing command set is refused") {
    path.csi = 2;
    const auto r = check_same_namespace(head, path);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("CSI"));
  }
  SECTION("a private namespace takes no second path (Duplicate unshared namespace)") {
    path.shared = false;
    auto r = check_same_namespace(head, path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Malformed);
    CHECK_THAT(r.error().message, Catch::Contains("not shared"));
    NsIdentity private_head = head;
    private_head.shared = false;
    CHECK_FALSE(check_same_namespace(private_head, head));
  }
  SECTION("a different nsid or subsystem is the caller's error") {
    path.nsid = 2;
    auto r = check_same_namespace(head, path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::InvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains("nsid 2"));
    path = head;
    path.subnqn = "nqn.other";
    r = check_same_namespace(head, path);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::InvalidArgument);
    CHECK_THAT(r.error().message, Catch::Contains("nqn.other"));
  }
}

TEST_CASE("check_same_geometry refuses a different size or LBA format", "[ns_identity]") {
  const NsGeometry head{131072, 512, 0, false};
  CHECK(check_same_geometry(head, head, "p"));

  auto r = check_same_geometry(head, NsGeometry{262144, 512, 0, false}, "ctrl 2 nsid 1");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Malformed);
  CHECK_THAT(r.error().message, Catch::Contains("ctrl 2 nsid 1"));
  CHECK_THAT(r.error().message, Catch::Contains("262144"));
  CHECK_THAT(r.error().message, Catch::Contains("131072"));

  r = check_same_geometry(head, NsGeometry{131072, 4096, 0, false}, "p");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("4096"));
  CHECK_THAT(r.error().message, Catch::Contains("512"));
  CHECK_FALSE(check_same_geometry(head, NsGeometry{131072, 512, 8, true}, "p"));
  CHECK_FALSE(check_same_geometry(NsGeometry{131072, 512, 8, false},
                                  NsGeometry{131072, 512, 8, true}, "p"));

  wire::IdentifyNamespace id;
  id.nsze = 42;
  id.lbads = 12;
  id.ms = 8;
  id.flbas = 0x10;
  CHECK(geometry_of(id) == NsGeometry{42, 4096, 8, true});
}

TEST_CASE("head_limits: the minimum over the paths", "[ns_identity]") {
  CHECK(head_limits({}) == PathLimits{0, 0});
  const std::vector<PathLimits> one{{1u << 20, 8192}};
  CHECK(head_limits(one) == PathLimits{1u << 20, 8192});
  const std::vector<PathLimits> three{{1u << 20, 8192}, {131072, 16384}, {1u << 21, 4096}};
  CHECK(head_limits(three) == PathLimits{131072, 4096});
  // ONCS: what every path supports; VWC: any path with a volatile cache makes Flush matter.
  const std::vector<PathLimits> caps{{1u << 20, 8192, 0x0c, false}, {1u << 20, 8192, 0x08, true}};
  CHECK(head_limits(caps) == PathLimits{1u << 20, 8192, 0x08, true});
}

TEST_CASE("ConnectionKey: equality, ordering, describe", "[ns_identity]") {
  const ConnectionKey a{"10.0.0.1", 4420, "nqn.s", "nqn.h"};
  ConnectionKey b = a;
  CHECK(a == b);
  CHECK_FALSE(a < b);
  b.trsvcid = 4421;
  CHECK(a != b);
  CHECK(a < b);
  ConnectionKey c = a;
  c.hostnqn = "nqn.h2";  // another host identity is another connection, not a duplicate
  CHECK(a != c);
  ConnectionKey d = a;
  d.traddr = "10.0.0.2";
  CHECK(a < d);

  std::set<ConnectionKey> seen;
  CHECK(seen.insert(a).second);
  CHECK_FALSE(seen.insert(ConnectionKey{"10.0.0.1", 4420, "nqn.s", "nqn.h"}).second);
  CHECK(seen.insert(b).second);
  CHECK(seen.insert(c).second);
  CHECK(seen.size() == 3);

  CHECK(describe(a) == "nqn.s @ 10.0.0.1:4420 (host nqn.h)");
  CHECK(describe(ConnectionKey{"fe80::1", 4420, "nqn.s", "nqn.h"}) ==
        "nqn.s @ [fe80::1]:4420 (host nqn.h)");
}

}  // namespace nvmemp::topology
