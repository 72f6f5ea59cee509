// Block-device (SCSI) paths in the topology model and the selector: heads by wwid, ALUA
// target port groups as ANA groups, size conflicts refused, preferred_path breaking ties.
#include <catch2/catch.hpp>

#include "multipath/block_path.h"
#include "multipath/path_selector.h"
#include "topology/topology.h"

#include <cerrno>

namespace nvmemp::topology {
namespace {

using wire::AnaState;

PathInput block_input(const std::string& dev, const std::string& wwid, AnaState ana, std::uint32_t tpg,
                      std::uint64_t blocks = 32768, bool preferred = false) {
  PathInput in;
  in.name = dev;
  in.live = true;
  in.generation = 1;
  in.queue_size = 128;
  BlockUnit u;
  u.dev_node = "/dev/" + dev;
  u.wwid = wwid;
  u.geometry.nsze = blocks;
  u.geometry.lba_size = 512;
  u.ana = NsAna{ana, tpg};
  u.preferred = preferred;
  u.limits.max_data_len = 1 << 20;
  in.block = u;
  return in;
}

constexpr const char* kWwid = "naa.33333330000007d0";

TEST_CASE("topology: block paths with one wwid form one head, TPGs as ANA groups", "[topology][scsi]") {
  Topology t;
  auto a = t.add_path({"/dev/sda", 0, kWwid, "scsi"});
  auto b = t.add_path({"/dev/sdb", 0, kWwid, "scsi"});
  auto c = t.add_path({"/dev/sdc", 0, "naa.other", "scsi"});
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(t.update_path(*a, block_input("sda", kWwid, AnaState::Optimized, 0x100)).empty());
  CHECK(t.update_path(*b, block_input("sdb", kWwid, AnaState::NonOptimized, 0x200, 32768, true)).empty());
  CHECK(t.update_path(*c, block_input("sdc", "naa.other", AnaState::Optimized, 1)).empty());
  auto s = t.build();
  REQUIRE(s->heads.size() == 2);
  auto id = t.find_wwid(kWwid);
  REQUIRE(id);
  const HeadView* h = s->head(*id);
  REQUIRE(h != nullptr);
  CHECK(h->wwid == kWwid);
  CHECK(h->geometry.nsze == 32768);
  REQUIRE(h->paths.size() == 2);
  CHECK(h->paths[0].ana == AnaState::Optimized);
  CHECK(h->paths[0].anagrpid == 0x100);
  CHECK_FALSE(h->paths[0].preferred);
  CHECK(h->paths[1].ana == AnaState::NonOptimized);
  CHECK(h->paths[1].anagrpid == 0x200);
  CHECK(h->paths[1].preferred);
  const PathView* pv = s->path(*a);
  REQUIRE(pv != nullptr);
  CHECK(pv->kind == PathKind::Block);
  CHECK(pv->dev_node == "/dev/sda");
  CHECK(pv->block_size == 512);
  CHECK(pv->io_queues == 0xFFFF);
}

TEST_CASE("topology: a block path whose size differs from its head's is refused with both sizes", "[topology][scsi]") {
  Topology t;
  auto a = t.add_path({"/dev/sda", 0, kWwid, "scsi"});
  auto b = t.add_path({"/dev/sdb", 0, kWwid, "scsi"});
  REQUIRE(t.update_path(*a, block_input("sda", kWwid, AnaState::Optimized, 1)).empty());
  auto errs = t.update_path(*b, block_input("sdb", kWwid, AnaState::Optimized, 2, 65536));
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].message.find("sdb") != std::string::npos);
  auto s = t.build();
  REQUIRE(s->heads.size() == 1);
  CHECK(s->heads[0].paths.size() == 1);
  // Fixed: it joins.
  CHECK(t.update_path(*b, block_input("sdb", kWwid, AnaState::Optimized, 2)).empty());
  CHECK(t.build()->heads[0].paths.size() == 2);
}

}  // namespace
}  // namespace nvmemp::topology

namespace nvmemp::multipath {
namespace {

TEST_CASE("path selector: preferred_path wins ties between paths of the same ANA state", "[path_selector][scsi]") {
  using wire::AnaState;
  std::vector<PathCandidate> c = {{1, true, AnaState::Optimized, 0, false},
                                  {2, true, AnaState::Optimized, 0, true},
                                  {3, true, AnaState::NonOptimized, 0, true}};
  PathSelector numa(Policy::Numa);
  CHECK(numa.select(c) == 1);
  CHECK(numa.select(c) == 1);
  PathSelector qd(Policy::QueueDepth);
  CHECK(qd.select(c) == 1);       // equal depth: the preferred one
  c[1].set_inflight(4);
  CHECK(qd.select(c) == 0);       // fewer outstanding still wins
  c[0].set_usable(false);
  c[1].set_usable(false);
  CHECK(qd.select(c) == 2);       // only non-optimized left
  // A better ANA state beats preference.
  std::vector<PathCandidate> d = {{1, true, AnaState::Optimized, 0, false}, {2, true, AnaState::NonOptimized, 0, true}};
  PathSelector n2(Policy::Numa);
  CHECK(n2.select(d) == 0);
}

TEST_CASE("block path: errnos as dm-multipath sorts them (path errors fail over, target errors complete)",
          "[scsi]") {
  for (int e : {EIO, ETIMEDOUT, ENOLINK, ENODEV, EAGAIN}) {
    INFO(e);
    CHECK(block_path_error(e));
    CHECK(block_status(e) == Status::host_path_error());
  }
  for (int e : {ENODATA, EILSEQ, EREMOTEIO, EBADE, ENOSPC, EOPNOTSUPP}) {
    INFO(e);
    CHECK_FALSE(block_path_error(e));
    CHECK(block_status(e).dnr());
    CHECK_FALSE(block_status(e).is_path_error());
  }
}

}  // namespace
}  // namespace nvmemp::multipath
