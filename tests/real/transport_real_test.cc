// The io_uring transport (Reactor + QueuePair) against the Linux kernel's nvmet.
#include <catch2/catch.hpp>

#include <chrono>

#include "real/real_target.h"
#include "support/byte_diff.h"
#include "support/qp_driver.h"
#include "support/sync_queue.h"
#include "wire/identify.h"
#include "wire/registers.h"

using namespace nvmemp;
using namespace nvmemp::transport;
using namespace nvmemp::wire;
using namespace std::chrono_literals;

namespace {

QueuePairConfig qp_cfg(std::uint16_t qid, bool digests, std::uint32_t max_icd) {
  QueuePairConfig c;
  c.qid = qid;
  c.queue_size = qid == 0 ? 32 : 128;
  c.hdgst = c.ddgst = digests;
  c.max_icd = max_icd;
  c.max_data_len = 1 << 20;
  c.name = "nvmet qid " + std::to_string(qid);
  return c;
}

Completion run(test::QpDriver& d, const Sqe& sqe, MutBytes rbuf = {}, Bytes wbuf = {}) {
  auto c = d.exec(Command{sqe, rbuf, wbuf, nullptr});
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.has_value());
  INFO(c->status.to_string());
  REQUIRE(c->status.ok());
  return *c;
}

std::uint16_t connect(test::QpDriver& d, const std::string& nqn, std::uint16_t qid, std::uint16_t cntlid) {
  auto data = encode_connect_data(test::test_host_id(), cntlid, nqn, test::kTestHostNqn);
  REQUIRE(data.has_value());
  ConnectParams p;
  p.qid = qid;
  p.sqsize = static_cast<std::uint16_t>(d.qp().config().queue_size - 1);
  p.kato_ms = qid == 0 ? 5000 : 0;
  return connect_cntlid(run(d, make_connect(p), {}, *data).dw0);
}

struct Admin {
  std::unique_ptr<test::QpDriver> d;
  std::uint16_t cntlid = 0;
  IdentifyController id;
};

Admin bring_up(std::uint16_t port, const std::string& nqn, bool digests) {
  Admin a;
  auto d = test::QpDriver::connect(port, qp_cfg(0, digests, kAdminInCapsuleData));
  INFO((d ? std::string() : d.error().message));
  REQUIRE(d.has_value());
  a.d = std::move(*d);
  a.cntlid = connect(*a.d, nqn, 0, kCntlidDynamic);
  run(*a.d, make_property_set(kRegCc, cc_enable_value(), false));
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    ready = csts_rdy(run(*a.d, make_property_get(kRegCsts, false)).dw0);
  }
  REQUIRE(ready);
  std::vector<std::uint8_t> buf(4096);
  run(*a.d, make_identify(1, 0), buf);
  auto id = parse_identify_controller(buf);
  REQUIRE(id.has_value());
  a.id = *id;
  return a;
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint64_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 131 + seed * 7) >> 1);
  return v;
}

}  // namespace

TEST_CASE("io_uring queue pairs against nvmet: 64 commands in flight, 1 MiB by R2T", "[real][transport]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  const bool digests = GENERATE(false, true);
  Admin admin = bring_up(rt.port1, rt.nqn, digests);
  const std::uint32_t max_icd = max_in_capsule_data(admin.id.ioccsz);
  auto io = test::QpDriver::connect(rt.port1, qp_cfg(1, digests, max_icd));
  REQUIRE(io.has_value());
  INFO("ring: " << (*io)->reactor().ring_flags());
  connect(**io, rt.nqn, 1, admin.cntlid);

  // 64 writes of 4 KiB in flight at once (in the capsule), then 64 reads.
  constexpr std::size_t kN = 64;
  std::vector<std::vector<std::uint8_t>> wdata;
  for (std::size_t i = 0; i < kN; ++i) wdata.push_back(pattern(4096, i + (digests ? 1000 : 0)));
  for (std::size_t i = 0; i < kN; ++i) {
    auto w = make_write(1, i * 8, 8, 4096, max_icd);
    REQUIRE(w.has_value());
    REQUIRE((*io)->qp().submit(Command{*w, {}, wdata[i], nullptr}).has_value());
  }
  REQUIRE((*io)->wait_done(kN));
  CHECK((*io)->done.size() == kN);
  CHECK((*io)->qp().inflight() == 0);
  for (const auto& c : (*io)->done) CHECK(c.status.ok());
  (*io)->done.clear();
  std::vector<std::vector<std::uint8_t>> rdata(kN, std::vector<std::uint8_t>(4096));
  for (std::size_t i = 0; i < kN; ++i) {
    auto r = make_read(1, i * 8, 8, 4096);
    REQUIRE((*io)->qp().submit(Command{*r, rdata[i], {}, nullptr}).has_value());
  }
  REQUIRE((*io)->wait_done(kN));
  CHECK((*io)->done.size() == kN);
  CHECK((*io)->qp().inflight() == 0);
  for (const auto& c : (*io)->done) CHECK(c.status.ok());
  (*io)->done.clear();
  // On a mismatch (seen once in a few CI runs, never reproduced by hand) the guest's kernel log
  // and the target's state go with the failure.
  auto target_side = [&rt] {
    auto dm = test::real_target_ctl(rt, "dmesg 30");
    auto st = test::real_target_ctl(rt, "status");
    return (st ? *st : st.error().message) + "\n" + (dm ? *dm : dm.error().message);
  };
  for (std::size_t i = 0; i < kN; ++i) {
    INFO("read " << i);
    const std::string diff = test::byte_diff(rdata[i], wdata[i]);
    INFO((diff.empty() ? std::string() : "target: " + target_side()));
    CHECK(diff == "");
  }

  // 1 MiB: beyond the 16 KiB in-capsule limit, so CapsuleCmd + R2T + H2CData.
  const auto big = pattern(1 << 20, digests ? 77 : 78);
  auto w = make_write(1, 4096, 2048, 1 << 20, max_icd, true);
  REQUIRE(w.has_value());
  CHECK(w->sgl1().id == SglDescriptor::kIdTransportDataBlock);
  run(**io, *w, {}, big);
  std::vector<std::uint8_t> back(1 << 20);
  run(**io, *make_read(1, 4096, 2048, 1 << 20), back);
  // A mismatch says where; against the other iteration's pattern too, which tells stale data
  // (a write that did not land) from misplaced data.
  INFO("against the other iteration's data: " << test::byte_diff(back, pattern(1 << 20, digests ? 78 : 77)));
  const std::string diff = test::byte_diff(back, big);
  INFO((diff.empty() ? std::string() : "target: " + target_side()));
  CHECK(diff == "");
}

TEST_CASE("A port going down mid-I/O fails the queue pair with a clear reason, no hang", "[real][transport]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  Admin admin = bring_up(rt.port1, rt.nqn, false);
  auto io = test::QpDriver::connect(rt.port1, qp_cfg(1, false, max_in_capsule_data(admin.id.ioccsz)));
  REQUIRE(io.has_value());
  connect(**io, rt.nqn, 1, admin.cntlid);
  std::vector<std::vector<std::uint8_t>> bufs(32, std::vector<std::uint8_t>(65536));
  REQUIRE(test::real_target_ctl(rt, "port-down 1").has_value());
  for (std::size_t i = 0; i < bufs.size(); ++i) {
    auto r = make_read(1, i * 128, 128, 65536);
    if (!(*io)->qp().submit(Command{*r, bufs[i], {}, nullptr})) break;  // already failed: fine
  }
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE((*io)->wait_closed());
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  INFO((*io)->close_reason);
  CHECK((*io)->close_reason.find("nvmet qid 1") == 0);
  for (const auto& c : (*io)->done) {
    if (!c.status.ok()) CHECK(c.status.is_path_error());
  }
  CHECK((*io)->qp().inflight() == 0);
  REQUIRE(test::real_target_ctl(rt, "port-up 1").has_value());
}
