// Malformed input from a host, many outstanding commands from two hosts, the AER limit.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "raw_host.h"
#include "sim_support.h"
#include "wire/libnvme_types.h"
#include "wire/registers.h"

using namespace nvmemp;
using namespace nvmemp::wire;
using namespace std::chrono_literals;
using nvmemp::test::RawHost;
using nvmemp::test::run_ok;

namespace {

RawHost raw_open(std::uint16_t port, bool digests = false, std::uint32_t maxr2t = 0) {
  auto h = RawHost::open(port, digests, maxr2t);
  INFO((h ? std::string() : h.error().message));
  REQUIRE(h.has_value());
  return std::move(*h);
}

// Connect on a RawHost (cid 0xFFF0) and wait for it.
std::uint16_t raw_connect(RawHost& h, const std::string& nqn, std::uint16_t qid, std::uint16_t cntlid,
                          const std::string& hostnqn = test::kTestHostNqn) {
  auto data = encode_connect_data(test::test_host_id(), cntlid, nqn, hostnqn);
  REQUIRE(data.has_value());
  ConnectParams p;
  p.qid = qid;
  p.sqsize = 1023;
  REQUIRE(h.submit(make_connect(p), 0xFFF0, std::vector<std::uint8_t>(data->begin(), data->end())).has_value());
  auto c = h.collect(1);
  REQUIRE(c.has_value());
  REQUIRE(c->at(0xFFF0).cqe.status.ok());
  return connect_cntlid(c->at(0xFFF0).cqe.dw0);
}

struct GotTermReq {
  std::uint16_t fes = 0;
  std::uint32_t fei = 0;
  std::vector<std::uint8_t> data;  // a copy: the PDU's bytes go away
};

// The next PDU must be a C2HTermReq; returns it decoded, then expects the close.
GotTermReq expect_term_req(RawHost& h) {
  auto pdu = h.next_pdu(5s);
  INFO((pdu ? std::string() : pdu.error().message));
  REQUIRE(pdu.has_value());
  REQUIRE(pdu->has_value());
  auto d = decode_pdu(**pdu, RxParams{});
  REQUIRE(d.has_value());
  const auto* t = std::get_if<C2HTermReq>(&d->body);
  REQUIRE(t != nullptr);
  CHECK(h.closed_within(3s));
  return GotTermReq{t->fes, t->fei, std::vector<std::uint8_t>(t->data.begin(), t->data.end())};
}

}  // namespace

TEST_CASE("Malformed PDU: C2HTermReq, close, the other connections go on", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid);
  const auto data = test::pattern(4096, 5);
  run_ok(io, *make_write(1, 0, 8, 4096, 16384), data);

  SECTION("a PDU type a controller never receives") {
    auto h = raw_open(sim->ports()[0]);
    std::vector<std::uint8_t> resp(24, 0);
    resp[0] = 0x05;  // CapsuleResp
    resp[2] = 24;
    resp[4] = 24;
    REQUIRE(h.send_raw(resp).has_value());
    const GotTermReq t = expect_term_req(h);
    CHECK(t.fes == static_cast<std::uint16_t>(Fes::InvalidHeaderField));
    CHECK(t.fei == kOffType);
    REQUIRE(t.data.size() >= 8);
    CHECK(t.data[0] == 0x05);  // the bad header is echoed
  }
  SECTION("a command before ICReq") {
    auto conn = test::TcpClient::connect("127.0.0.1", sim->ports()[1], 5s);
    REQUIRE(conn.has_value());
    REQUIRE(conn->send_all(encode_pdu(CapsuleCmd{make_keep_alive().bytes, {}}, TxParams{})).has_value());
    auto chunk = conn->recv_some(5s);
    REQUIRE(chunk.has_value());
    REQUIRE(chunk->size() >= 24);
    CHECK((*chunk)[0] == 0x03);  // C2HTermReq
    CHECK(load_le16(*chunk, kOffFes) == static_cast<std::uint16_t>(Fes::PduSequenceError));
  }
  SECTION("a header digest that does not match") {
    auto h = raw_open(sim->ports()[0], true);
    auto pdu = encode_pdu(CapsuleCmd{make_keep_alive().bytes, {}}, h.tx());
    pdu[kCapsuleCmdHlen] ^= 0xFF;
    REQUIRE(h.send_raw(pdu).has_value());
    CHECK(expect_term_req(h).fes == static_cast<std::uint16_t>(Fes::HeaderDigestError));
  }
  SECTION("H2CData with a wrong TTAG, or an offset the R2T did not ask for") {
    const bool bad_ttag = GENERATE(true, false);
    auto h = raw_open(sim->ports()[0]);
    raw_connect(h, sim->nqn(), 2, a.cntlid);
    // A 64 KiB write: too big for the capsule, so the target sends an R2T; answer wrongly.
    auto sqe = *make_write(1, 64, 128, 65536, 16384);
    sqe.set_cid(7);
    REQUIRE(h.send_raw(encode_pdu(CapsuleCmd{sqe.bytes, {}}, h.tx())).has_value());
    auto r2t_bytes = h.next_pdu(5s);
    REQUIRE(r2t_bytes.has_value());
    REQUIRE(r2t_bytes->has_value());
    auto r2t = decode_pdu(**r2t_bytes, RxParams{});
    REQUIRE(r2t.has_value());
    REQUIRE(std::holds_alternative<R2T>(r2t->body));
    const auto& r = std::get<R2T>(r2t->body);
    const auto payload = test::pattern(4096, 1);
    H2CData d;
    d.cccid = 7;
    d.ttag = bad_ttag ? static_cast<std::uint16_t>(r.ttag + 1) : r.ttag;
    d.datao = bad_ttag ? 0 : 4096;
    d.data = payload;
    REQUIRE(h.send_raw(encode_pdu(d, h.tx())).has_value());
    const GotTermReq t = expect_term_req(h);
    CHECK(t.fes == static_cast<std::uint16_t>(bad_ttag ? Fes::InvalidHeaderField : Fes::DataOutOfRange));
    CHECK(t.fei == (bad_ttag ? kOffTtag : kOffDatao));
  }
  // The healthy queues were never disturbed.
  CHECK(run_ok(io, *make_read(1, 0, 8, 4096)).data == data);
  run_ok(a.q, make_keep_alive());
}

TEST_CASE("Many outstanding commands from two hosts, several R2Ts per write", "[sim]") {
  sim::SimConfig cfg = test::small_config();
  cfg.r2t_chunk = 8192;
  cfg.maxh2cdata = 4096;
  cfg.c2h_chunk = 16384;
  cfg.ns_size_bytes = 32u << 20;  // 2 hosts x 256 commands x 64 LBAs
  auto sim = test::start_sim(cfg);
  constexpr int kCmds = 256;
  const auto host = [&](int idx, std::string* failure) {
    const std::string hostnqn = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000000" +
                                std::to_string(idx);
    const std::uint16_t port = sim->ports()[static_cast<std::size_t>(idx)];
    auto fail = [&](const std::string& why) { *failure = fmt::format("host {}: {}", idx, why); };
    auto adm = RawHost::open(port, idx == 1);
    if (!adm) return fail(adm.error().message);
    auto data = encode_connect_data(test::test_host_id(), kCntlidDynamic, sim->nqn(), hostnqn);
    ConnectParams p;
    p.sqsize = 31;
    if (!adm->submit(make_connect(p), 1, std::vector<std::uint8_t>(data->begin(), data->end()))) return fail("send");
    auto c = adm->collect(1);
    if (!c || !c->at(1).cqe.status.ok()) return fail("admin connect");
    const std::uint16_t cntlid = connect_cntlid(c->at(1).cqe.dw0);
    if (!adm->submit(make_property_set(kRegCc, cc_enable_value(), false), 2) || !adm->collect(1)) return fail("CC");
    auto io = RawHost::open(port, idx == 1, 3);  // MAXR2T 3: up to 4 R2Ts per write
    if (!io) return fail(io.error().message);
    data = encode_connect_data(test::test_host_id(), cntlid, sim->nqn(), hostnqn);
    p.qid = 1;
    p.sqsize = 1023;
    if (!io->submit(make_connect(p), 1, std::vector<std::uint8_t>(data->begin(), data->end()))) return fail("send");
    c = io->collect(1);
    if (!c || !c->at(1).cqe.status.ok()) return fail("io connect");
    // Each host writes its own half of namespace 1: 4 KiB in the capsule, every 8th 32 KiB by R2T.
    const std::uint64_t base = static_cast<std::uint64_t>(idx) * kCmds * 64;  // LBAs
    std::map<std::uint16_t, std::vector<std::uint8_t>> written;
    for (int i = 0; i < kCmds; ++i) {
      const bool big = i % 8 == 0;
      const std::uint32_t len = big ? 32768 : 4096;
      auto buf = test::pattern(len, static_cast<std::uint32_t>(idx * 1000 + i));
      const auto cid = static_cast<std::uint16_t>(10 + i);
      written[cid] = buf;
      if (!io->submit(*make_write(1, base + static_cast<std::uint64_t>(i) * 64, len / 512, len, 16384), cid,
                      std::move(buf))) {
        return fail("submit write");
      }
    }
    auto w = io->collect(kCmds);
    if (!w) return fail("writes: " + w.error().message);
    for (const auto& [cid, comp] : *w) {
      if (!comp.cqe.status.ok()) return fail(fmt::format("write cid {}: {}", cid, comp.cqe.status.to_string()));
    }
    for (const auto& [cid, buf] : written) {
      const int i = cid - 10;
      const auto len = static_cast<std::uint32_t>(buf.size());
      if (!io->submit(*make_read(1, base + static_cast<std::uint64_t>(i) * 64, len / 512, len), cid)) {
        return fail("submit read");
      }
    }
    auto r = io->collect(kCmds);
    if (!r) return fail("reads: " + r.error().message);
    for (const auto& [cid, comp] : *r) {
      if (!comp.cqe.status.ok() || comp.data != written[cid]) return fail(fmt::format("read cid {} differs", cid));
    }
  };
  std::string f0, f1;
  std::thread t0(host, 0, &f0);
  std::thread t1(host, 1, &f1);
  t0.join();
  t1.join();
  INFO(f0 << " / " << f1);
  CHECK(f0.empty());
  CHECK(f1.empty());
}

TEST_CASE("AER: at most AERL + 1 outstanding, the next fails with Async Event Request Limit Exceeded", "[sim]") {
  auto sim = test::start_sim();
  auto h = raw_open(sim->ports()[0]);
  raw_connect(h, sim->nqn(), 0, kCntlidDynamic);
  REQUIRE(h.submit(make_property_set(kRegCc, cc_enable_value(), false), 1).has_value());
  REQUIRE(h.collect(1).has_value());
  for (std::uint16_t cid = 10; cid < 15; ++cid) {
    REQUIRE(h.submit(make_async_event_request(), cid).has_value());
  }
  auto c = h.collect(1);
  REQUIRE(c.has_value());
  REQUIRE(c->count(14) == 1);
  CHECK(c->at(14).cqe.status.code() == 0x105);
  // An ANA change completes one of the four others.
  REQUIRE(sim->control("ana 1 2 change").has_value());
  c = h.collect(1);
  REQUIRE(c.has_value());
  REQUIRE(c->size() == 1);
  CHECK(c->begin()->first >= 10);
  CHECK(c->begin()->second.cqe.dw0 == kAenAnaChange);
  // Masked until the ANA log is read: a second change completes nothing.
  REQUIRE(sim->control("ana 1 2 optimized").has_value());
  REQUIRE(h.submit(make_keep_alive(), 20).has_value());
  c = h.collect(1);
  REQUIRE(c.has_value());
  CHECK(c->count(20) == 1);
}

TEST_CASE("Garbage on many connections never hurts the target", "[sim]") {
  auto sim = test::start_sim();
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid);
  std::uint32_t seed = 1;
  for (int i = 0; i < 40; ++i) {
    auto conn = test::TcpClient::connect("127.0.0.1", sim->ports()[i % 2], 5s);
    REQUIRE(conn.has_value());
    std::vector<std::uint8_t> junk;
    if (i % 3 != 0) {  // most after a valid ICReq, so the garbage meets the PDU decoder
      IcReq req;
      req.hdgst = i % 2 == 0;
      junk = encode_pdu(req);
    }
    const auto noise = test::pattern(static_cast<std::size_t>(8 + (i * 37) % 600), seed++);
    junk.insert(junk.end(), noise.begin(), noise.end());
    if (i % 5 == 0 && junk.size() > 140) {
      junk[128] = 0x04;  // a CapsuleCmd type with a bad length
      junk[130] = 72;
    }
    REQUIRE(conn->send_all(junk).has_value());
    // Whatever comes back (ICResp, C2HTermReq, nothing), the target closes or waits; drain a bit.
    for (int k = 0; k < 3; ++k) {
      auto chunk = conn->recv_some(20ms);
      if (!chunk || chunk->empty()) {
        break;
      }
    }
  }
  // The healthy queues and new connections still work.
  const auto data = test::pattern(8192, 99);
  run_ok(io, *make_write(2, 8, 16, 8192, 16384), data);
  CHECK(run_ok(io, *make_read(2, 8, 16, 8192)).data == data);
  auto b = test::bring_up(sim->ports()[1], sim->nqn());
  run_ok(b.q, make_keep_alive());
}

TEST_CASE("R2T: at most MAXR2T + 1 outstanding per command, each at most --r2t-chunk", "[sim]") {
  sim::SimConfig cfg = test::small_config();
  cfg.r2t_chunk = 4096;
  auto sim = test::start_sim(cfg);
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto h = raw_open(sim->ports()[0], false, 1);  // MAXR2T 1: two R2Ts at a time
  raw_connect(h, sim->nqn(), 1, a.cntlid);
  auto sqe = *make_write(1, 0, 32, 16384, 4096);
  sqe.set_cid(3);
  REQUIRE(h.send_raw(encode_pdu(CapsuleCmd{sqe.bytes, {}}, h.tx())).has_value());
  std::vector<R2T> r2ts;
  for (int i = 0; i < 2; ++i) {
    auto pdu = h.next_pdu(5s);
    REQUIRE(pdu.has_value());
    REQUIRE(pdu->has_value());
    auto d = decode_pdu(**pdu, RxParams{});
    REQUIRE(d.has_value());
    REQUIRE(std::holds_alternative<R2T>(d->body));
    r2ts.push_back(std::get<R2T>(d->body));
  }
  CHECK(r2ts[0].r2to == 0);
  CHECK(r2ts[0].r2tl == 4096);
  CHECK(r2ts[1].r2to == 4096);
  CHECK(r2ts[1].r2tl == 4096);
  CHECK(r2ts[0].ttag != r2ts[1].ttag);
  auto third = h.next_pdu(300ms);  // no third R2T before one is answered
  REQUIRE_FALSE(third.has_value());
  CHECK(third.error().code == Errc::Timeout);
}
