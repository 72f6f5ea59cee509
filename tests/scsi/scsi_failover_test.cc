// A SCSI logical unit as a multipath head, end to end on real block devices: the sysfs tree
// of a real-kernel capture pointing at two loop devices that reach one disk through
// dualpath-fuse (support/loop_sysfs.h), read by the ScsiWatcher (libudev monitor on the
// kernel's netlink socket), I/O through the library API with write-verify while a path fails
// and comes back, and an ALUA state change delivered as a `change` uevent.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "nvmemp/mpath.h"
#include "path_probe.h"
#include "scsi_feeder.h"
#include "support/dual_path_disk.h"
#include "support/loop_sysfs.h"

using namespace std::chrono_literals;
using nvmemp::test::DualPathDisk;
using nvmemp::test::LoopSysfs;

namespace {

constexpr std::uint32_t kBlock = 512;
constexpr std::uint32_t kNlb = 8;     // 4 KiB per I/O
constexpr int kSlots = 16;            // I/Os in flight
constexpr std::uint64_t kSpan = 64;   // I/Os per slot before it wraps (16 x 64 x 4 KiB = 4 MiB)

std::uint64_t word(std::uint64_t lba, std::uint32_t gen, std::size_t i) {
  return ((lba << 12) + i) ^ (std::uint64_t{gen} * 0x9E3779B97F4A7C15ull);
}

// Write, read back, compare, next LBA: each slot owns its LBAs, so no two I/Os overlap.
class WriteVerify {
 public:
  WriteVerify(nvmemp::IoContext& io, std::uint32_t head) : io_(io), head_(head) {
    for (int i = 0; i < kSlots; ++i) {
      auto& s = slots_[i];
      s.v = this;
      s.idx = i;
      s.wbuf = static_cast<std::uint8_t*>(std::aligned_alloc(4096, kNlb * kBlock));
      s.rbuf = static_cast<std::uint8_t*>(std::aligned_alloc(4096, kNlb * kBlock));
    }
  }
  ~WriteVerify() {
    for (auto& s : slots_) {
      std::free(s.wbuf);
      std::free(s.rbuf);
    }
  }
  void start() {
    for (auto& s : slots_) write(s);
  }
  void run(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < end) (void)io_.poll(1ms);
  }
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      (void)io_.poll(1ms);
      if (pred()) return true;
    }
    return false;
  }
  void stop() {
    stopping_ = true;
    run_until([&] { return io_.outstanding() == 0; }, 30s);
  }
  std::uint64_t ios = 0, errors = 0, mismatches = 0;
  std::string last_error;

 private:
  struct Slot {
    WriteVerify* v = nullptr;
    int idx = 0;
    std::uint64_t step = 0;
    std::uint32_t gen = 1;
    std::uint8_t* wbuf = nullptr;
    std::uint8_t* rbuf = nullptr;
    std::uint64_t lba() const { return (static_cast<std::uint64_t>(idx) + kSlots * (step % kSpan)) * kNlb; }
  };
  void write(Slot& s) {
    auto* w = reinterpret_cast<std::uint64_t*>(s.wbuf);
    for (std::size_t i = 0; i < kNlb * kBlock / 8; ++i) w[i] = word(s.lba(), s.gen, i);
    auto r = io_.write(head_, s.lba(), kNlb, {s.wbuf, kNlb * kBlock}, &WriteVerify::written, &s);
    if (!r) fail(r.error().message);
  }
  void read(Slot& s) {
    auto r = io_.read(head_, s.lba(), kNlb, {s.rbuf, kNlb * kBlock}, &WriteVerify::was_read, &s);
    if (!r) fail(r.error().message);
  }
  void fail(const std::string& m) {
    ++errors;
    last_error = m;
  }
  static void written(void* arg, const nvmemp::IoResult& res) {
    auto& s = *static_cast<Slot*>(arg);
    ++s.v->ios;
    if (!res.status.ok()) s.v->fail(res.error ? res.error : "write failed");
    if (!s.v->stopping_) s.v->read(s);
  }
  static void was_read(void* arg, const nvmemp::IoResult& res) {
    auto& s = *static_cast<Slot*>(arg);
    WriteVerify& v = *s.v;
    ++v.ios;
    if (!res.status.ok()) {
      v.fail(res.error ? res.error : "read failed");
    } else if (std::memcmp(s.rbuf, s.wbuf, kNlb * kBlock) != 0) {
      ++v.mismatches;
      v.last_error = fmt::format("mismatch at LBA {}", s.lba());
    }
    ++s.step;
    if (s.step % kSpan == 0) ++s.gen;
    if (!v.stopping_) v.write(s);
  }
  nvmemp::IoContext& io_;
  std::uint32_t head_;
  Slot slots_[kSlots];
  bool stopping_ = false;
};

const nvmemp::PathInfo* path_of(const nvmemp::TopologyInfo& t, const std::string& dev) {
  for (const auto& p : t.paths) {
    if (p.dev == dev) return &p;
  }
  return nullptr;
}

std::string ana_of(nvmemp::Fabric& f, std::uint16_t path_id) {
  auto h = f.find_wwid(nvmemp::test::kLoopWwid);
  if (!h) return "no head";
  for (const auto& p : h->paths) {
    if (p.path_id == path_id) return p.ana_state;
  }
  return "not a member";
}

// The disk, its sysfs tree, a Fabric with the SCSI probe and a watcher feeding it.
struct ScsiRig {
  std::unique_ptr<DualPathDisk> disk;
  std::unique_ptr<LoopSysfs> fx;
  std::unique_ptr<nvmemp::Fabric> fabric;
  std::unique_ptr<nvmemp::scsi::ScsiWatcher> watcher;
  nvmemp::HeadInfo head;

  explicit ScsiRig(nvmemp::FabricOptions fo = {}) {
    auto d = DualPathDisk::create(64ull << 20);
    REQUIRE(d);
    disk = std::move(*d);
    fx = std::make_unique<LoopSysfs>(*disk, disk->dir() + "/sysfs");
    fo.reconnect_delay = std::chrono::seconds(1);  // re-probe a failed path every second
    fo.probe_timeout = 1000ms;
    fo.block_probe = nvmemp::scsi::make_block_probe(nvmemp::scsi::make_sg_path_prober());
    auto f = nvmemp::Fabric::start(fo);
    REQUIRE(f);
    fabric = std::move(*f);
    nvmemp::scsi::FeederOptions opts;
    opts.sysfs_root = fx->root();
    auto w = nvmemp::scsi::ScsiWatcher::start(*fabric, opts);
    REQUIRE(w);
    watcher = std::move(*w);
    for (const auto& e : watcher->first_sync().errors) WARN(e);
    REQUIRE(watcher->first_sync().paths == 2);
    auto h = fabric->find_wwid(nvmemp::test::kLoopWwid);
    REQUIRE(h);
    head = *h;
  }
  std::uint16_t path_id(int path) {
    auto t = fabric->topology();
    const auto* p = path_of(t, disk->device(path));
    REQUIRE(p != nullptr);
    return p->id;
  }
  std::uint64_t ios_on(std::uint16_t id) {
    for (const auto& p : fabric->topology().paths) {
      if (p.id == id) return p.counters.ios;
    }
    return 0;
  }
  std::string state_of(std::uint16_t id) {
    for (const auto& p : fabric->topology().paths) {
      if (p.id == id) return p.state;
    }
    return "gone";
  }
};

}  // namespace

TEST_CASE("SCSI head: with every path failing, no_path_retry queue holds the I/O, it resumes with 0 errors when "
          "a path returns",
          "[scsi][failover]") {
  ScsiRig rig;  // no_path_retry: queue (the default)
  auto io = rig.fabric->create_io_context();
  REQUIRE(io);
  WriteVerify wv(**io, rig.head.id);
  REQUIRE(wv.run_until([&] { return (*io)->ready(rig.head.id); }, 5s));
  wv.start();
  wv.run(500ms);
  const auto id0 = rig.path_id(0), id1 = rig.path_id(1);
  rig.disk->set_failing(0, true);
  rig.disk->set_failing(1, true);
  CHECK(wv.run_until([&] { return rig.state_of(id0) == "failed" && rig.state_of(id1) == "failed"; }, 10s));
  const auto held_at = wv.ios;
  wv.run(1500ms);
  CHECK(wv.ios == held_at);     // nothing completes: held, not failed
  CHECK(wv.errors == 0);
  rig.disk->set_failing(1, false);  // the non-optimized path returns first
  CHECK(wv.run_until([&] { return wv.ios > held_at + 200; }, 10s));
  rig.disk->set_failing(0, false);
  CHECK(wv.run_until([&] { return rig.state_of(id0) == "live"; }, 10s));
  wv.stop();
  INFO(wv.last_error);
  CHECK(wv.errors == 0);
  CHECK(wv.mismatches == 0);
  WARN(fmt::format("all paths down 1.5 s: {} I/Os, {} errors, {} mismatches", wv.ios, wv.errors, wv.mismatches));
  io->reset();
}

TEST_CASE("SCSI head over two loop-device paths: write-verify through a path failure and an ALUA change, "
          "0 errors",
          "[scsi][failover]") {
  ScsiRig rig;
  nvmemp::Fabric& f = *rig.fabric;
  auto& disk = rig.disk;
  LoopSysfs& fx = *rig.fx;
  CHECK(std::string(rig.watcher->source()) == "kernel");  // no udevd on this machine or in CI
  const nvmemp::HeadInfo* head = &rig.head;
  CHECK(head->transport == "scsi");
  CHECK(head->block_size == 512);
  CHECK(head->blocks == (64ull << 20) / 512);
  REQUIRE(head->paths.size() == 2);
  auto topo = f.topology();
  const auto* p0 = path_of(topo, disk->device(0));
  const auto* p1 = path_of(topo, disk->device(1));
  REQUIRE(p0 != nullptr);
  REQUIRE(p1 != nullptr);
  const std::uint16_t id0 = p0->id, id1 = p1->id;
  CHECK(p0->transport == "scsi");
  CHECK(p0->hctl == "0:0:0:0");
  CHECK(p0->access_state == "active/optimized");
  CHECK(p1->access_state == "active/non-optimized");
  CHECK(ana_of(f, id0) == "optimized");
  CHECK(ana_of(f, id1) == "non-optimized");

  auto io = f.create_io_context();
  REQUIRE(io);
  WriteVerify wv(**io, head->id);
  const auto ios_on = [&](std::uint16_t id) { return rig.ios_on(id); };
  const auto state_of = [&](std::uint16_t id) { return rig.state_of(id); };
  REQUIRE(wv.run_until([&] { return (*io)->ready(head->id); }, 5s));
  wv.start();

  // 1. Both paths up: the optimized one (sda) carries the I/O.
  wv.run(1500ms);
  CHECK(ios_on(id0) > 0);
  CHECK(ios_on(id1) == 0);

  // 2. sda fails every I/O with EIO: I/O fails over to sdb, the probe takes sda out.
  const auto before1 = ios_on(id1);
  const auto t0 = std::chrono::steady_clock::now();
  disk->set_failing(0, true);
  CHECK(wv.run_until([&] { return ios_on(id1) > before1 + 100; }, 10s));
  const auto moved_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK(wv.run_until([&] { return state_of(id0) == "failed"; }, 10s));
  wv.run(1500ms);
  WARN(fmt::format("path failure: I/O moved to sdb within {} ms; sda state {}", moved_ms, state_of(id0)));

  // 3. sda works again: the re-probe (every reconnect_delay) puts it back, I/O fails back.
  disk->set_failing(0, false);
  CHECK(wv.run_until([&] { return state_of(id0) == "live"; }, 10s));
  const auto back0 = ios_on(id0);
  CHECK(wv.run_until([&] { return ios_on(id0) > back0 + 100; }, 10s));

  // 4. ALUA: sda goes standby (a change uevent for its device): inaccessible, I/O on sdb.
  fx.set_access_state(0, "standby");
  fx.send_change(0);
  CHECK(wv.run_until([&] { return ana_of(f, id0) == "inaccessible"; }, 5s));
  wv.run(300ms);
  const auto s0 = ios_on(id0), s1 = ios_on(id1);
  wv.run(1000ms);
  CHECK(ios_on(id0) == s0);
  CHECK(ios_on(id1) > s1);
  fx.set_access_state(0, "active/optimized");
  fx.send_change(0);
  CHECK(wv.run_until([&] { return ana_of(f, id0) == "optimized"; }, 5s));
  const auto r0 = ios_on(id0);
  CHECK(wv.run_until([&] { return ios_on(id0) > r0 + 100; }, 5s));

  wv.stop();
  INFO(wv.last_error);
  CHECK(wv.errors == 0);
  CHECK(wv.mismatches == 0);
  CHECK(wv.ios > 1000);
  WARN(fmt::format("write-verify: {} I/Os, {} errors, {} mismatches; sda ios {}, sdb ios {}; {} uevents handled",
                   wv.ios, wv.errors, wv.mismatches, ios_on(id0), ios_on(id1), rig.watcher->events()));
  io->reset();
}
