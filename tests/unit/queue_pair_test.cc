// Queue pair state machine, driven by byte vectors: no socket, no ring. The handshake and the
// data paths (in-capsule, R2T, C2HData), digests, responses in any order; failures, timeouts and
// abandoned reads are in queue_pair_failure_test.cc, the Harness in queue_pair_fixtures.h.
#include <catch2/catch.hpp>

#include <random>

#include "queue_pair_fixtures.h"
#include "transport/queue_pair.h"

using namespace nvmemp;
using namespace nvmemp::transport;
using namespace nvmemp::wire;
using namespace nvmemp::transport::fixtures;

TEST_CASE("Queue pair handshake: ICReq out, ICResp in, live", "[queue_pair]") {
  Harness h(cfg(true));
  REQUIRE(h.qp.start().has_value());
  h.flush();
  REQUIRE(h.got.size() == 1);
  const auto& req = std::get<IcReq>(h.got[0].body);
  CHECK(req.hdgst);
  CHECK(req.ddgst);
  CHECK(req.maxr2t == 0);
  CHECK(req.hpda == 0);
  CHECK_FALSE(h.qp.submit(Command{make_flush(1), {}, {}, nullptr}).has_value());  // not live yet
  IcResp resp;
  resp.hdgst = resp.ddgst = true;
  resp.maxh2cdata = 65536;
  h.feed(encode_pdu(resp));
  CHECK(h.qp.state() == QpState::Live);
  CHECK(h.qp.icresp().maxh2cdata == 65536);
}

TEST_CASE("Queue pair refuses an ICResp with other digests than asked", "[queue_pair]") {
  Harness h(cfg(true));
  REQUIRE(h.qp.start().has_value());
  h.flush();
  IcResp resp;  // no digests
  resp.maxh2cdata = 4096;
  CHECK_FALSE(h.qp.received(encode_pdu(resp)).has_value());
  CHECK(h.qp.state() == QpState::Failed);
  CHECK(h.qp.failure().find("digests") != std::string::npos);
}

TEST_CASE("Read by C2HData completes after both the data and the response", "[queue_pair]") {
  for (const bool digests : {false, true}) {
    Harness h(cfg(digests));
    h.handshake(digests, digests);
    std::vector<std::uint8_t> buf(8192);
    auto r = make_read(1, 100, 16, 8192);
    REQUIRE(r.has_value());
    int cookie = 42;
    auto cid = h.qp.submit(Command{*r, buf, {}, &cookie});
    REQUIRE(cid.has_value());
    h.flush();
    REQUIRE(h.got.size() == 1);
    const auto& cmd = std::get<CapsuleCmd>(h.got[0].body);
    CHECK(load_le16(cmd.sqe, 2) == *cid);
    CHECK(cmd.data.empty());
    const auto data = pattern(8192, 3);
    h.feed(h.c2h(*cid, 0, Bytes(data).first(5000), false));
    h.feed(h.c2h(*cid, 5000, Bytes(data).subspan(5000), true));
    CHECK(h.done.empty());
    h.feed(h.resp(*cid));
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0].status.ok());
    CHECK(h.done[0].user == &cookie);
    CHECK(h.done[0].reached_controller);
    CHECK(buf == data);
    CHECK(h.qp.inflight() == 0);
  }
}

TEST_CASE("A response that arrives before the send finished waits for it", "[queue_pair]") {
  Harness h(cfg());
  h.handshake();
  auto cid = h.qp.submit(Command{make_flush(1), {}, {}, nullptr});
  REQUIRE(cid.has_value());
  std::array<iovec, 4> iov{};
  REQUIRE(h.qp.gather_tx(iov) == 1);
  h.qp.sent(10);  // part of the capsule left
  h.feed(h.resp(*cid));
  CHECK(h.done.empty());
  REQUIRE(h.qp.gather_tx(iov) == 1);
  CHECK(iov[0].iov_len == 62);
  h.qp.sent(62);
  REQUIRE(h.done.size() == 1);
}

TEST_CASE("In-capsule write carries its data (and digest) in the capsule", "[queue_pair]") {
  Harness h(cfg(true));
  h.handshake(true, true);
  const auto data = pattern(4096, 9);
  auto w = make_write(1, 0, 8, 4096, 8192, true);
  REQUIRE(w.has_value());
  auto cid = h.qp.submit(Command{*w, {}, data, nullptr});
  REQUIRE(cid.has_value());
  h.flush(100);  // in pieces of 100 bytes
  REQUIRE(h.got.size() == 1);
  CHECK(h.got[0].data_digest_ok);
  const auto& cmd = std::get<CapsuleCmd>(h.got[0].body);
  CHECK(std::equal(cmd.data.begin(), cmd.data.end(), data.begin(), data.end()));
  h.feed(h.resp(*cid));
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].status.ok());
}

TEST_CASE("R2T writes: several R2Ts, H2CData split at MAXH2CDATA, LAST_PDU on the last", "[queue_pair]") {
  for (const bool digests : {false, true}) {
    Harness h(cfg(digests));
    h.handshake(digests, digests, 4096);
    const auto data = pattern(20480, 1);
    auto w = make_write(1, 0, 40, 20480, 8192);
    REQUIRE(w.has_value());
    auto cid = h.qp.submit(Command{*w, {}, data, nullptr});
    REQUIRE(cid.has_value());
    h.flush();
    REQUIRE(h.got.size() == 1);
    CHECK(std::get<CapsuleCmd>(h.got[0].body).data.empty());
    h.pdu_copies.clear();
    std::vector<std::uint8_t> received;
    for (const auto& [off, len] : {std::pair<std::uint32_t, std::uint32_t>{0, 12288}, {12288, 8192}}) {
      h.feed(encode_pdu(R2T{*cid, 7, off, len}, h.ctrl_tx));
      h.flush();
      // 12288 / 4096 = 3 PDUs, then 2
      std::uint32_t expect_off = off;
      for (std::size_t i = 0; i < h.got.size(); ++i) {
        const auto& d = std::get<H2CData>(h.got[i].body);
        CHECK(d.cccid == *cid);
        CHECK(d.ttag == 7);
        CHECK(d.datao == expect_off);
        CHECK(d.data.size() <= 4096);
        CHECK(d.last == (i + 1 == h.got.size()));
        CHECK(h.got[i].data_digest_ok);
        expect_off += static_cast<std::uint32_t>(d.data.size());
        received.insert(received.end(), d.data.begin(), d.data.end());
      }
      CHECK(expect_off == off + len);
      h.pdu_copies.clear();
    }
    CHECK(received == data);
    CHECK(h.done.empty());
    h.feed(h.resp(*cid));
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0].status.ok());
  }
}

TEST_CASE("C2HData with SUCCESS completes the read without a response", "[queue_pair]") {
  Harness h(cfg());
  h.handshake();
  std::vector<std::uint8_t> buf(512);
  auto r = make_read(1, 0, 1, 512);
  auto cid = h.qp.submit(Command{*r, buf, {}, nullptr});
  REQUIRE(cid.has_value());
  h.flush();
  const auto data = pattern(512, 5);
  h.feed(h.c2h(*cid, 0, data, true, true));
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].status.ok());
  CHECK(buf == data);
}

TEST_CASE("A data digest mismatch fails only that command, with a retryable status", "[queue_pair]") {
  Harness h(cfg(true));
  h.handshake(true, true);
  std::vector<std::uint8_t> buf(512);
  auto cid = h.qp.submit(Command{*make_read(1, 0, 1, 512), buf, {}, nullptr});
  REQUIRE(cid.has_value());
  h.flush();
  auto pdu = h.c2h(*cid, 0, pattern(512, 5), true);
  pdu[40] ^= 1;  // data byte; digest now wrong
  h.feed(pdu);
  h.feed(h.resp(*cid));
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].status.sct() == 0);
  CHECK(h.done[0].status.sc() == 0x22);  // Transient Transport Error
  CHECK_FALSE(h.done[0].status.dnr());
  CHECK(h.qp.state() == QpState::Live);
}

TEST_CASE("Queue pair: many commands, responses in any order, bytes in random chunks", "[queue_pair]") {
  Harness h(cfg(true));
  h.handshake(true, true);
  std::mt19937 rng(99);
  std::vector<std::vector<std::uint8_t>> bufs(8, std::vector<std::uint8_t>(1024));
  std::vector<std::uint16_t> cids;
  for (int i = 0; i < 8; ++i) {
    auto cid = h.qp.submit(Command{*make_read(1, static_cast<std::uint64_t>(i) * 2, 2, 1024), bufs[i], {},
                                   reinterpret_cast<void*>(static_cast<std::uintptr_t>(i + 1))});
    REQUIRE(cid.has_value());
    cids.push_back(*cid);
  }
  h.flush(37);
  CHECK(h.got.size() == 8);
  std::vector<std::uint8_t> stream;
  std::vector<int> order = {3, 1, 7, 0, 6, 2, 5, 4};
  for (int i : order) {
    const auto data = pattern(1024, i);
    auto d = h.c2h(cids[static_cast<std::size_t>(i)], 0, data, true);
    auto r = h.resp(cids[static_cast<std::size_t>(i)]);
    stream.insert(stream.end(), d.begin(), d.end());
    stream.insert(stream.end(), r.begin(), r.end());
  }
  std::size_t off = 0;
  while (off < stream.size()) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % 300, stream.size() - off);
    REQUIRE(h.qp.received(Bytes(stream).subspan(off, n)).has_value());
    off += n;
  }
  REQUIRE(h.done.size() == 8);
  for (std::size_t k = 0; k < 8; ++k) {
    const auto i = static_cast<std::size_t>(order[k]);
    CHECK(h.done[k].user == reinterpret_cast<void*>(i + 1));
    CHECK(bufs[i] == pattern(1024, static_cast<int>(i)));
  }
}
