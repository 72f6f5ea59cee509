// Golden vectors: every PDU of every captured session with Linux nvmet and SPDK's target.
// c2h bytes go through the receive parser (whole, byte by byte, random chunks) and must come
// back as the same PDUs with verified digests; every PDU re-encoded from its decoded fields
// must be the same bytes: what both targets sent and accepted.
#include <catch2/catch.hpp>

#include <random>

#include "support/capture.h"
#include "wire/pdu_codec.h"
#include "wire/rx_parser.h"

using namespace nvmemp;
using namespace nvmemp::wire;

namespace {

std::vector<std::uint8_t> reencode(const Pdu& pdu, const TxParams& t) {
  return std::visit(
      [&](const auto& body) -> std::vector<std::uint8_t> {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, IcReq> || std::is_same_v<T, IcResp> ||
                      std::is_same_v<T, H2CTermReq> || std::is_same_v<T, C2HTermReq>) {
          return encode_pdu(body);
        } else {
          return encode_pdu(body, t);
        }
      },
      pdu.body);
}

// Digests of a connection: those the ICResp enabled, from the PDU after it on.
struct ConnState {
  bool hdgst = false;
  bool ddgst = false;
  std::uint8_t cpda = 0;
};

void update_state(ConnState& st, const test::CapturedPdu& p) {
  if (!p.h2c && p.type == 0x01) {
    auto d = decode_pdu(p.bytes, RxParams{});
    REQUIRE(d.has_value());
    const auto& r = std::get<IcResp>(d->body);
    st.hdgst = r.hdgst;
    st.ddgst = r.ddgst;
    st.cpda = r.cpda;
  }
}

}  // namespace

TEST_CASE("Every captured PDU decodes, verifies its digests and re-encodes byte for byte",
          "[capture][pdu]") {
  std::size_t total = 0;
  std::size_t with_digest = 0;
  for (const auto& file : test::capture_files()) {
    for (const auto& conn : test::split_connections(test::load_capture(file))) {
      ConnState st;
      for (const auto& p : conn.pdus) {
        INFO(file << " " << conn.label << " " << p.note);
        RxParams rx;
        rx.role = p.h2c ? Role::Controller : Role::Host;
        rx.hdgst = st.hdgst;
        rx.ddgst = st.ddgst;
        auto d = decode_pdu(p.bytes, rx);
        INFO((d ? std::string() : d.error().to_string()));
        REQUIRE(d.has_value());
        CHECK(d->ch.type == p.type);
        CHECK(d->ch.plen == p.bytes.size());
        CHECK(d->data_digest_ok);
        with_digest += (d->ch.flags & (kFlagHdgst | kFlagDdgst)) != 0;
        // The sender honours the receiver's alignment: the host CPDA, the target our HPDA (0).
        const TxParams tx{st.hdgst, st.ddgst, p.h2c ? st.cpda : std::uint8_t{0}};
        CHECK(reencode(*d, tx) == p.bytes);
        update_state(st, p);
        ++total;
      }
    }
  }
  // The captures README counts 652 PDUs in the six first-wave files and 166 in each DH-HMAC-CHAP one.
  CHECK(total == 652 + 2 * 166);
  CHECK(with_digest > 100);
}

TEST_CASE("Captured controller-to-host streams parse in any chunking", "[capture][rx_parser]") {
  std::mt19937 rng(1234);
  for (const auto& file : test::capture_files()) {
    for (const auto& conn : test::split_connections(test::load_capture(file))) {
      // Expected PDUs and the stream as the host received it.
      std::vector<std::vector<std::uint8_t>> want;
      std::vector<std::uint8_t> stream;
      for (const auto& p : conn.pdus) {
        if (!p.h2c) {
          want.push_back(p.bytes);
          stream.insert(stream.end(), p.bytes.begin(), p.bytes.end());
        }
      }
      for (int mode = 0; mode < 3; ++mode) {
        INFO(file << " " << conn.label << " mode " << mode);
        RxParser parser(RxParams{});
        std::vector<std::vector<std::uint8_t>> got;
        auto on_pdu = [&](const Pdu& pdu) {
          got.emplace_back(pdu.raw.begin(), pdu.raw.end());
          if (const auto* r = std::get_if<IcResp>(&pdu.body)) {
            RxParams next = parser.params();
            next.hdgst = r->hdgst;
            next.ddgst = r->ddgst;
            parser.set_params(next);
          }
        };
        std::size_t off = 0;
        while (off < stream.size()) {
          std::size_t n = stream.size() - off;                 // mode 0: whole
          if (mode == 1) n = 1;                                // mode 1: byte by byte
          if (mode == 2) n = std::min<std::size_t>(n, 1 + rng() % 3000);  // random chunks
          auto r = parser.feed(Bytes(stream).subspan(off, n), on_pdu);
          INFO((r ? std::string() : r.error().to_string()));
          REQUIRE(r.has_value());
          off += n;
        }
        CHECK(parser.buffered() == 0);
        CHECK(got == want);
      }
    }
  }
}

TEST_CASE("Captured reads with SQ flow control off end with C2HData SUCCESS", "[capture][pdu]") {
  for (const std::string file : {"nvmet-6.1-nosqflow.jsonl", "spdk-nosqflow.jsonl"}) {
    std::size_t success = 0;
    for (const auto& p : test::load_capture(file)) {
      if (p.h2c || p.type != 0x07) continue;
      auto d = decode_pdu(p.bytes, RxParams{});
      REQUIRE(d.has_value());
      const auto& c = std::get<C2HData>(d->body);
      CHECK(c.last);
      success += c.success;
    }
    CHECK(success > 0);
  }
}
