// The queue pair's receive side as a byte source drives it (rx_iov → bytes land →
// received_into): read data lands in the caller's buffer once, the data digest runs over the
// bytes as they land, an abandoned read's buffer is never written after abandon_read(), and a
// C2HData's offsets are checked before any byte of it is written.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include "queue_pair_fixtures.h"
#include "transport/queue_pair.h"

using namespace nvmemp;
using namespace nvmemp::transport;
using namespace nvmemp::wire;
using namespace nvmemp::transport::fixtures;

namespace {

// One receive of at most `max` bytes of `wire` from `off`, the way the reactor does it: into
// what rx_iov() offers. Returns the bytes taken; records whether the caller's buffer was
// offered first (a direct placement).
struct Landing {
  std::size_t n = 0;
  bool direct = false;
  const std::uint8_t* first = nullptr;
};

Landing land(QueuePair& qp, Bytes wire, std::size_t max, Result<void>* out = nullptr) {
  std::array<iovec, 4> iov{};
  const std::size_t cnt = qp.rx_iov(iov);
  Landing l;
  l.direct = qp.rx_iov_borrowed();
  l.first = cnt > 0 ? static_cast<const std::uint8_t*>(iov[0].iov_base) : nullptr;
  std::size_t want = std::min(max, wire.size());
  for (std::size_t i = 0; i < cnt && want > 0; ++i) {
    const std::size_t k = std::min(iov[i].iov_len, want);
    std::memcpy(iov[i].iov_base, wire.data() + l.n, k);
    l.n += k;
    want -= k;
  }
  auto r = qp.received_into(l.n);
  if (out != nullptr) {
    *out = r;
  } else {
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
  }
  return l;
}

void append(std::vector<std::uint8_t>& to, const std::vector<std::uint8_t>& b) { to.insert(to.end(), b.begin(), b.end()); }

}  // namespace

TEST_CASE("Receive: a read split at every byte boundary lands whole, the rest of its payload straight in the buffer",
          "[queue_pair][rx]") {
  for (const bool digests : {false, true}) {
    INFO((digests ? "digests" : "no digests"));
    Harness h(cfg(digests));
    h.handshake(digests, digests);
    const auto data = pattern(1000, 3);
    // Two C2HData (600 + 400 bytes) and the response, as the controller sends them.
    std::vector<std::uint8_t> buf(1000);
    auto cid = h.qp.submit(Command{*make_read(1, 0, 2, 1000), buf, {}, nullptr});
    REQUIRE(cid.has_value());
    h.flush();
    std::vector<std::uint8_t> wire;
    append(wire, h.c2h(*cid, 0, Bytes(data).first(600), false));
    append(wire, h.c2h(*cid, 600, Bytes(data).subspan(600), true));
    append(wire, h.resp(*cid));
    for (std::size_t cut = 1; cut < wire.size(); ++cut) {
      INFO("cut at " << cut);
      std::fill(buf.begin(), buf.end(), 0);
      const std::size_t done_before = h.done.size();
      const Landing a = land(h.qp, wire, cut);
      REQUIRE(a.n == cut);
      std::size_t off = cut;
      bool direct_seen = false;
      for (int guard = 0; off < wire.size() && guard < 10; ++guard) {
        const Landing b = land(h.qp, Bytes(wire).subspan(off), wire.size());
        if (b.direct) {
          // Offered the rest of a payload: it points into the read buffer.
          CHECK(b.first >= buf.data());
          CHECK(b.first < buf.data() + buf.size());
          direct_seen = true;
        }
        off += b.n;
      }
      REQUIRE(off == wire.size());
      REQUIRE(h.done.size() == done_before + 1);
      CHECK(h.done.back().status.ok());
      CHECK(buf == data);
      // A cut inside a payload offers the rest of it where it belongs.
      const std::size_t first_hdr = digests ? 28 : 24;
      if (cut > first_hdr && cut < first_hdr + 600) CHECK(direct_seen);
      // Re-issue for the next round.
      auto again = h.qp.submit(Command{*make_read(1, 0, 2, 1000), buf, {}, nullptr});
      REQUIRE(again.has_value());
      h.flush();
      wire.clear();
      append(wire, h.c2h(*again, 0, Bytes(data).first(600), false));
      append(wire, h.c2h(*again, 600, Bytes(data).subspan(600), true));
      append(wire, h.resp(*again));
    }
    CHECK(h.qp.state() == QpState::Live);
  }
}

TEST_CASE("Receive: header, data and the next header in one receive, many PDUs in one receive", "[queue_pair][rx]") {
  Harness h(cfg(true));
  h.handshake(true, true);
  std::vector<std::vector<std::uint8_t>> bufs(4, std::vector<std::uint8_t>(4096));
  std::vector<std::uint16_t> cids;
  for (auto& b : bufs) {
    auto cid = h.qp.submit(Command{*make_read(1, 0, 8, 4096), b, {}, nullptr});
    REQUIRE(cid.has_value());
    cids.push_back(*cid);
  }
  h.flush();
  std::vector<std::uint8_t> wire;
  for (std::size_t i = 0; i < 4; ++i) {
    append(wire, h.c2h(cids[i], 0, pattern(4096, static_cast<int>(i)), true));
    append(wire, h.resp(cids[i]));
  }
  // First receive: PDU 0 whole, PDU 1's header and 100 bytes of its data.
  const std::size_t first = (28 + 4096 + 4 + 28) + 28 + 100;
  Landing a = land(h.qp, wire, first);
  CHECK(a.n == first);
  CHECK(h.done.size() == 1);
  CHECK(h.qp.rx_iov_borrowed());  // the rest of PDU 1's payload goes to bufs[1] directly
  // Then everything else in one receive.
  Landing b = land(h.qp, Bytes(wire).subspan(first), wire.size());
  CHECK(b.direct);
  CHECK(b.first == bufs[1].data() + 100);
  REQUIRE(h.done.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(h.done[i].status.ok());
    CHECK(bufs[i] == pattern(4096, static_cast<int>(i)));
  }
  CHECK_FALSE(h.qp.rx_iov_borrowed());
}

TEST_CASE("Receive: the data digest over data split across receives, a mismatch fails only that read",
          "[queue_pair][rx]") {
  Harness h(cfg(true));
  h.handshake(true, true);
  std::mt19937 rng(7);
  for (const bool corrupt : {false, true, false}) {
    INFO((corrupt ? "corrupt" : "intact"));
    std::vector<std::uint8_t> buf(8192);
    auto cid = h.qp.submit(Command{*make_read(1, 0, 16, 8192), buf, {}, nullptr});
    REQUIRE(cid.has_value());
    h.flush();
    std::vector<std::uint8_t> wire;
    auto d0 = h.c2h(*cid, 0, pattern(8192, 9), true);
    if (corrupt) d0[28 + 5000] ^= 0x10;  // a data byte: the stored digest no longer matches
    append(wire, d0);
    append(wire, h.resp(*cid));
    const std::size_t before = h.done.size();
    for (std::size_t off = 0; off < wire.size();) {
      off += land(h.qp, Bytes(wire).subspan(off), 1 + rng() % 1500).n;
    }
    REQUIRE(h.done.size() == before + 1);
    if (corrupt) {
      CHECK(h.done.back().status.sc() == 0x22);  // Transient Transport Error
      CHECK_FALSE(h.done.back().status.dnr());
    } else {
      CHECK(h.done.back().status.ok());
      CHECK(buf == pattern(8192, 9));
    }
    CHECK(h.qp.state() == QpState::Live);  // the connection lives either way
  }
}

TEST_CASE("Receive: a read abandoned in the middle of its payload is never written again", "[queue_pair][rx]") {
  for (const bool digests : {false, true}) {
    INFO((digests ? "digests" : "no digests"));
    Harness h(cfg(digests));
    h.handshake(digests, digests);
    std::vector<std::uint8_t> buf(8192, 0xAB);
    auto cid = h.qp.submit(Command{*make_read(1, 0, 16, 8192), buf, {}, nullptr});
    REQUIRE(cid.has_value());
    h.flush();
    const auto data = pattern(8192, 21);
    std::vector<std::uint8_t> wire;
    append(wire, h.c2h(*cid, 0, data, true));
    append(wire, h.resp(*cid));
    const std::size_t hdr = digests ? 28 : 24;
    land(h.qp, wire, hdr + 3000);
    CHECK(std::equal(buf.begin(), buf.begin() + 3000, data.begin()));
    REQUIRE(h.qp.rx_iov_borrowed());
    REQUIRE(h.qp.abandon_read(*cid).has_value());
    CHECK_FALSE(h.qp.rx_iov_borrowed());  // no receive is offered the buffer any more
    std::fill(buf.begin(), buf.end(), 0xCD);
    for (std::size_t off = hdr + 3000; off < wire.size();) {
      const Landing l = land(h.qp, Bytes(wire).subspan(off), 777);
      CHECK_FALSE(l.direct);
      off += l.n;
    }
    REQUIRE(h.done.size() == 1);
    CHECK(h.done[0].abandoned);
    CHECK(std::all_of(buf.begin(), buf.end(), [](std::uint8_t b) { return b == 0xCD; }));
    CHECK(h.qp.state() == QpState::Live);
  }
}

TEST_CASE("Receive: hostile C2HData offsets fail the queue pair before a byte lands in the buffer", "[queue_pair][rx]") {
  struct Case {
    const char* what;
    std::uint32_t datao;
    std::uint32_t datal;
  };
  const Case cases[] = {
      {"DATAO past the buffer", 4096, 512},
      {"DATAL past the end of the buffer", 0, 4096 + 512},
      {"DATAO not where the data stands", 512, 512},
      {"DATAO near 2^32 (wraps in 32 bits)", 0xFFFFFF00u, 512},
  };
  for (const auto& c : cases) {
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{13}, std::size_t{1} << 20}) {
      INFO(c.what << ", chunks of " << chunk);
      Harness h(cfg(true));
      h.handshake(true, true);
      // The read buffer sits inside a larger allocation: bytes around it must stay untouched.
      std::vector<std::uint8_t> mem(3 * 4096, 0x5A);
      MutBytes buf(mem.data() + 4096, 4096);
      auto cid = h.qp.submit(Command{*make_read(1, 0, 8, 4096), buf, {}, nullptr});
      REQUIRE(cid.has_value());
      h.flush();
      const auto data = pattern(c.datal, 1);
      auto wire = h.c2h(*cid, c.datao, data, true);
      Result<void> r;
      for (std::size_t off = 0; off < wire.size() && r.has_value();) {
        off += land(h.qp, Bytes(wire).subspan(off), chunk, &r).n;
      }
      CHECK_FALSE(r.has_value());
      CHECK(h.qp.state() == QpState::Failed);
      CHECK_THAT(h.qp.failure(), Catch::Contains("DATAO"));
      CHECK(std::all_of(mem.begin(), mem.end(), [](std::uint8_t b) { return b == 0x5A; }));
      REQUIRE(h.done.size() == 1);
      CHECK(h.done[0].status == Status::aborted_by_host());
    }
  }
}

TEST_CASE("Receive: a failure in the middle of a payload takes the buffer back from the receive", "[queue_pair][rx]") {
  Harness h(cfg());
  h.handshake();
  std::vector<std::uint8_t> buf(4096, 0x11);
  auto cid = h.qp.submit(Command{*make_read(1, 0, 8, 4096), buf, {}, nullptr});
  REQUIRE(cid.has_value());
  h.flush();
  auto wire = h.c2h(*cid, 0, pattern(4096, 2), true);
  land(h.qp, wire, 24 + 100);
  REQUIRE(h.qp.rx_iov_borrowed());
  h.qp.fail("test: torn down");
  CHECK_FALSE(h.qp.rx_iov_borrowed());
  REQUIRE(h.done.size() == 1);
}
