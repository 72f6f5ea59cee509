// Queue pair state machine, driven by byte vectors: protocol violations, a full queue, bad
// buffers, timeouts and deadlines, fail() with a send in flight, abandoned reads, and when bytes
// last came in. The Harness is in queue_pair_fixtures.h.
#include <catch2/catch.hpp>

#include "queue_pair_fixtures.h"
#include "transport/queue_pair.h"

using namespace nvmemp;
using namespace nvmemp::transport;
using namespace nvmemp::wire;
using namespace nvmemp::transport::fixtures;

TEST_CASE("Protocol violations fail the queue pair and every command in flight", "[queue_pair]") {
  Harness h(cfg());
  h.handshake();
  std::vector<std::uint8_t> buf(4096);
  auto read_cid = h.qp.submit(Command{*make_read(1, 0, 8, 4096), buf, {}, nullptr});
  const auto wdata = pattern(20000, 2);
  auto write_cid = h.qp.submit(Command{*make_write(1, 0, 40, 20000, 8192), {}, wdata, nullptr});
  auto unsent_cid = h.qp.submit(Command{make_flush(1), {}, {}, nullptr});
  REQUIRE(read_cid.has_value());
  REQUIRE(write_cid.has_value());
  REQUIRE(unsent_cid.has_value());
  // Send the first two capsules only.
  std::array<iovec, 8> iov{};
  h.qp.gather_tx(iov);
  h.qp.sent(72 * 2);

  std::vector<std::uint8_t> bad;
  std::string want;
  SECTION("unknown cid") {
    bad = h.resp(0x0FFF);
    want = "not in flight";
  }
  SECTION("stale generation") {
    bad = h.resp(static_cast<std::uint16_t>(*read_cid ^ 0x1000));
    want = "not in flight";
  }
  SECTION("C2HData for a write") {
    bad = h.c2h(*write_cid, 0, pattern(16, 1), true);
    want = "expects no data";
  }
  SECTION("C2HData out of order") {
    bad = h.c2h(*read_cid, 512, pattern(16, 1), false);
    want = "DATAO 512 DATAL 16: expected DATAO 0";
  }
  SECTION("C2HData past the buffer") {
    bad = h.c2h(*read_cid, 0, pattern(4097, 1), true);
    want = "DATAL 4097: expected DATAO 0 and the data within the command's 4096 bytes";
  }
  SECTION("success before all read data") {
    bad = h.resp(*read_cid);
    want = "0 of 4096";
  }
  SECTION("R2T for a read") {
    bad = encode_pdu(R2T{*read_cid, 1, 0, 4096}, h.ctrl_tx);
    want = "no data to send by R2T";
  }
  SECTION("R2T beyond the data") {
    bad = encode_pdu(R2T{*write_cid, 1, 0, 20001}, h.ctrl_tx);
    want = "R2TO 0 R2TL 20001: expected R2TO 0 and the range within the write's 20000 bytes";
  }
  SECTION("second R2T while one is outstanding") {
    h.feed(encode_pdu(R2T{*write_cid, 1, 0, 4096}, h.ctrl_tx));
    bad = encode_pdu(R2T{*write_cid, 2, 4096, 4096}, h.ctrl_tx);
    want = "second R2T";
  }
  SECTION("C2HTermReq") {
    WireError e;
    e.fes = Fes::HeaderDigestError;
    bad = encode_term_req_for(e, pattern(24, 0), Role::Controller);
    want = "Header Digest Error";
  }
  SECTION("garbage bytes") {
    bad = {0x55, 0, 24, 0, 24, 0, 0, 0};
    want = "bad PDU";
  }
  auto r = h.qp.received(bad);
  REQUIRE_FALSE(r.has_value());
  INFO(r.error().message);
  CHECK(r.error().message.find(want) != std::string::npos);
  CHECK(r.error().message.find("test @ 127.0.0.1:4420 qid 1") == 0);
  CHECK(h.qp.state() == QpState::Failed);
  REQUIRE(h.done.size() == 3);
  for (const auto& c : h.done) {
    CHECK(c.status.is_path_error());
  }
  // The two sent commands may have reached the controller; the flush never left.
  int reached = 0;
  for (const auto& c : h.done) {
    reached += c.reached_controller;
    CHECK(c.status.raw() == (c.reached_controller ? 0x371 : 0x370));
  }
  CHECK(reached == 2);
  CHECK_FALSE(h.qp.submit(Command{make_flush(1), {}, {}, nullptr}).has_value());
}

TEST_CASE("Queue full, bad buffers and timeouts", "[queue_pair]") {
  Harness h(cfg());
  h.handshake();
  for (int i = 0; i < 8; ++i) {
    REQUIRE(h.qp.submit(Command{make_flush(1), {}, {}, nullptr}).has_value());
  }
  auto full = h.qp.submit(Command{make_flush(1), {}, {}, nullptr});
  REQUIRE_FALSE(full.has_value());
  CHECK(full.error().message.find("queue full") != std::string::npos);

  Harness b(cfg());
  b.handshake();
  std::vector<std::uint8_t> small(100);
  CHECK_FALSE(b.qp.submit(Command{*make_read(1, 0, 8, 4096), small, {}, nullptr}).has_value());
  std::vector<std::uint8_t> big(16384);
  CHECK_FALSE(b.qp.submit(Command{*make_write(1, 0, 32, 16384, 65536), {}, big, nullptr}).has_value());

  // Timeout: nothing answers for io_timeout.
  b.qp.submit(Command{make_flush(1), {}, {}, nullptr});
  b.flush();
  CHECK_FALSE(b.qp.check_timeouts());
  b.clock.advance(std::chrono::seconds(29));
  CHECK_FALSE(b.qp.check_timeouts());
  b.clock.advance(std::chrono::seconds(2));
  CHECK(b.qp.check_timeouts());
  CHECK(b.qp.state() == QpState::Failed);
  CHECK(b.qp.failure().find("timed out after 30000 ms") != std::string::npos);
  REQUIRE(b.done.size() == 1);
  CHECK(b.done[0].status.raw() == 0x371);

  // A command without a deadline (an AER) never times out.
  Harness a(cfg());
  a.handshake();
  transport::Command aer{make_async_event_request(), {}, {}, nullptr};
  aer.no_timeout = true;
  REQUIRE(a.qp.submit(aer).has_value());
  a.flush();
  a.clock.advance(std::chrono::hours(24 * 365));
  CHECK_FALSE(a.qp.check_timeouts());
  CHECK(a.qp.state() == QpState::Live);
}

TEST_CASE("Failing with a send in flight completes the commands only after that send reports",
          "[queue_pair]") {
  Harness h(cfg());
  h.handshake();
  const auto data = pattern(4096, 4);
  auto cid = h.qp.submit(Command{*make_write(1, 0, 8, 4096, 8192), {}, data, nullptr});
  REQUIRE(cid.has_value());
  std::array<iovec, 4> iov{};
  REQUIRE(h.qp.gather_tx(iov) == 2);  // header and the caller's data: in the kernel's hands now
  h.qp.fail("test: connection reset");
  CHECK(h.qp.state() == QpState::Failed);
  CHECK(h.done.empty());  // the send may still read `data`
  h.qp.sent(100);
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].status.raw() == 0x371);
  CHECK(h.done[0].reached_controller);
  CHECK(h.qp.gather_tx(iov) == 0);
}

TEST_CASE("Abandoned read: its C2HData is checked but lands nowhere, the completion says so", "[queue_pair]") {
  for (const bool digests : {false, true}) {
    INFO((digests ? "digests" : "no digests"));
    Harness h(cfg(digests));
    h.handshake(digests, digests);
    std::vector<std::uint8_t> buf(8192, 0xAB);
    auto cid = h.qp.submit(Command{*make_read(1, 0, 16, 8192), buf, {}, nullptr});
    REQUIRE(cid.has_value());
    h.flush();
    const auto data = pattern(8192, 11);
    h.feed(h.c2h(*cid, 0, Bytes(data).first(4096), false));  // before: lands as usual
    CHECK(std::equal(buf.begin(), buf.begin() + 4096, data.begin()));
    REQUIRE(h.qp.abandon_read(*cid).has_value());
    // The caller owns the buffer again (it re-issued the read elsewhere into it).
    std::fill(buf.begin(), buf.end(), 0xCD);
    h.feed(h.c2h(*cid, 4096, Bytes(data).subspan(4096), true));
    CHECK(h.done.empty());
    h.feed(h.resp(*cid));
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0].status.ok());
    CHECK(h.done[0].abandoned);
    CHECK(std::all_of(buf.begin(), buf.end(), [](std::uint8_t b) { return b == 0xCD; }));
    CHECK(h.qp.state() == QpState::Live);
    CHECK(h.qp.inflight() == 0);

    // The stream is still in step: the next read in the same slot lands normally.
    std::vector<std::uint8_t> buf2(512);
    auto cid2 = h.qp.submit(Command{*make_read(1, 0, 1, 512), buf2, {}, nullptr});
    REQUIRE(cid2.has_value());
    h.flush();
    const auto data2 = pattern(512, 12);
    h.feed(h.c2h(*cid2, 0, data2, true, true));
    REQUIRE(h.done.size() == 2);
    CHECK(h.done[1].status.ok());
    CHECK_FALSE(h.done[1].abandoned);
    CHECK(buf2 == data2);
    // The old cid (older generation of the slot) cannot be abandoned any more.
    CHECK_FALSE(h.qp.abandon_read(*cid).has_value());
  }
}

TEST_CASE("Abandoned read: C2HData that breaks the rules still fails the queue pair", "[queue_pair]") {
  Harness h(cfg());
  h.handshake();
  std::vector<std::uint8_t> buf(4096, 0xAB);
  auto cid = h.qp.submit(Command{*make_read(1, 0, 8, 4096), buf, {}, nullptr});
  REQUIRE(cid.has_value());
  h.flush();
  REQUIRE(h.qp.abandon_read(*cid).has_value());
  const auto data = pattern(4096, 2);
  CHECK_FALSE(h.qp.received(h.c2h(*cid, 512, Bytes(data).first(512), false)).has_value());  // offset 512, not 0
  CHECK(h.qp.state() == QpState::Failed);
  CHECK(h.qp.failure().find("expected DATAO 0") != std::string::npos);
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].abandoned);
  CHECK(h.done[0].status.raw() == 0x371);
  CHECK(std::all_of(buf.begin(), buf.end(), [](std::uint8_t b) { return b == 0xAB; }));
}

TEST_CASE("Abandoned read with a data digest error completes abandoned with the retryable status",
          "[queue_pair]") {
  Harness h(cfg(true));
  h.handshake(true, true);
  std::vector<std::uint8_t> buf(512, 0xAB);
  auto cid = h.qp.submit(Command{*make_read(1, 0, 1, 512), buf, {}, nullptr});
  REQUIRE(cid.has_value());
  h.flush();
  REQUIRE(h.qp.abandon_read(*cid).has_value());
  auto pdu = h.c2h(*cid, 0, pattern(512, 5), true);
  pdu[40] ^= 1;  // data byte; digest now wrong
  h.feed(pdu);
  h.feed(h.resp(*cid));
  REQUIRE(h.done.size() == 1);
  CHECK(h.done[0].abandoned);
  CHECK(h.done[0].status.sc() == 0x22);
  CHECK(h.qp.state() == QpState::Live);
  CHECK(std::all_of(buf.begin(), buf.end(), [](std::uint8_t b) { return b == 0xAB; }));
}

TEST_CASE("abandon_read refuses writes, commands without data, unknown and completed cids", "[queue_pair]") {
  Harness h(cfg());
  h.handshake();
  const auto data = pattern(4096, 4);
  auto w = h.qp.submit(Command{*make_write(1, 0, 8, 4096, 8192), {}, data, nullptr});  // in-capsule
  REQUIRE(w.has_value());
  const auto big = pattern(16384, 4);
  auto w2 = h.qp.submit(Command{*make_write(1, 0, 32, 16384, 8192), {}, big, nullptr});  // by R2T
  REQUIRE(w2.has_value());
  auto f = h.qp.submit(Command{make_flush(1), {}, {}, nullptr});
  REQUIRE(f.has_value());
  for (const std::uint16_t cid : {*w, *w2, *f, std::uint16_t(0x0FFF), std::uint16_t(*f ^ 0x1000)}) {
    INFO("cid " << cid);
    auto r = h.qp.abandon_read(cid);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Errc::InvalidArgument);
    CHECK(r.error().message.find("not a read in flight") != std::string::npos);
  }
  h.flush();
  h.feed(h.resp(*f));
  REQUIRE(h.done.size() == 1);
  CHECK_FALSE(h.done[0].abandoned);
  CHECK_FALSE(h.qp.abandon_read(*f).has_value());  // completed
}

TEST_CASE("Abandoned read and fail(): completes with abandoned = true", "[queue_pair]") {
  Harness h(cfg());
  h.handshake();
  std::vector<std::uint8_t> buf(4096), other(4096);
  auto a = h.qp.submit(Command{*make_read(1, 0, 8, 4096), buf, {}, nullptr});
  auto b = h.qp.submit(Command{*make_read(1, 8, 8, 4096), other, {}, nullptr});
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  h.flush();
  REQUIRE(h.qp.abandon_read(*a).has_value());
  REQUIRE(h.qp.abandon_read(*a).has_value());  // twice: still the same outstanding read
  h.qp.fail("test: path declared dead");
  REQUIRE(h.done.size() == 2);
  for (const auto& c : h.done) {
    CHECK(c.status.raw() == 0x371);
    CHECK(c.reached_controller);
  }
  // Completion order follows the slots; find each by its status of abandonment.
  CHECK(std::count_if(h.done.begin(), h.done.end(), [](const Completion& c) { return c.abandoned; }) == 1);
}

TEST_CASE("last_progress: when bytes last came in", "[queue_pair]") {
  Harness h(cfg());
  CHECK(h.qp.last_progress() == TimePoint{});
  h.clock.advance(std::chrono::seconds(5));
  REQUIRE(h.qp.start().has_value());
  h.flush();
  CHECK(h.qp.last_progress() == TimePoint{});  // sending is no sign of life
  h.clock.advance(std::chrono::seconds(1));
  IcResp resp;
  resp.maxh2cdata = 4096;
  h.feed(encode_pdu(resp));
  CHECK(h.qp.last_progress() == h.clock.now());
  const TimePoint icresp_at = h.clock.now();
  auto cid = h.qp.submit(Command{make_flush(1), {}, {}, nullptr});
  REQUIRE(cid.has_value());
  h.flush();
  h.clock.advance(std::chrono::seconds(3));
  CHECK(h.qp.last_progress() == icresp_at);  // a stalled queue: commands out, nothing in
  const auto r = h.resp(*cid);
  h.feed(std::vector<std::uint8_t>(r.begin(), r.begin() + 5));  // part of a PDU counts
  CHECK(h.qp.last_progress() == h.clock.now());
  h.clock.advance(std::chrono::milliseconds(10));
  h.feed(std::vector<std::uint8_t>(r.begin() + 5, r.end()));
  CHECK(h.qp.last_progress() == h.clock.now());
  CHECK(h.done.size() == 1);
}

TEST_CASE("ICResp deadline and a command's own timeout", "[queue_pair]") {
  QueuePairConfig c = cfg();
  c.icresp_timeout = std::chrono::milliseconds(500);
  Harness h(c);
  bool live = false;
  REQUIRE(h.qp.start().has_value());
  h.flush();
  h.clock.advance(std::chrono::milliseconds(499));
  CHECK_FALSE(h.qp.check_timeouts());
  h.clock.advance(std::chrono::milliseconds(1));
  CHECK(h.qp.check_timeouts());
  CHECK(h.qp.state() == QpState::Failed);
  CHECK(h.qp.failure().find("no ICResp within 500 ms") != std::string::npos);

  // Answered in time: no deadline left; on_live runs once, from received().
  Harness g(c);
  g.qp.on_live([](void* ctx) { static_cast<Harness*>(ctx)->done.push_back(Completion{}); });
  g.handshake();
  REQUIRE(g.done.size() == 1);  // the on_live marker
  live = g.qp.state() == QpState::Live;
  CHECK(live);
  g.clock.advance(std::chrono::seconds(10));
  CHECK_FALSE(g.qp.check_timeouts());

  // Per-command timeout overrides io_timeout (30 s).
  transport::Command cmd{make_flush(1), {}, {}, nullptr};
  cmd.timeout = std::chrono::seconds(2);
  REQUIRE(g.qp.submit(cmd).has_value());
  g.flush();
  g.clock.advance(std::chrono::milliseconds(1999));
  CHECK_FALSE(g.qp.check_timeouts());
  g.clock.advance(std::chrono::milliseconds(1));
  CHECK(g.qp.check_timeouts());
  CHECK(g.qp.failure().find("timed out after 2000 ms") != std::string::npos);
}
