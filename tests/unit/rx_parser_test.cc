// Receive parser: PDUs in chunks of every size, split at every byte, errors stick.
#include <catch2/catch.hpp>

#include <random>

#include "wire/rx_parser.h"

using namespace nvmemp;
using namespace nvmemp::wire;

namespace {

struct PduStream {
  std::vector<std::uint8_t> bytes;
  std::vector<std::vector<std::uint8_t>> pdus;
  void add(std::vector<std::uint8_t> p) {
    bytes.insert(bytes.end(), p.begin(), p.end());
    pdus.push_back(std::move(p));
  }
};

// A host-side stream: CapsuleResp, R2T, C2HData of several sizes, all with `t`'s digests.
PduStream host_stream(const TxParams& t) {
  PduStream s;
  std::array<std::uint8_t, 16> cqe{};
  store_le16(cqe, 12, 3);
  s.add(encode_pdu(CapsuleResp{cqe}, t));
  s.add(encode_pdu(R2T{3, 1, 0, 8192}, t));
  for (std::size_t n : {1ul, 4ul, 4096ul, 70000ul}) {
    std::vector<std::uint8_t> data(n, static_cast<std::uint8_t>(n));
    C2HData c;
    c.cccid = 4;
    c.last = true;
    c.data = data;
    s.add(encode_pdu(c, t));
  }
  s.add(encode_pdu(CapsuleResp{cqe}, t));
  return s;
}

// Feeds `stream` cut into the given chunk sizes (cycled) and collects the PDUs.
std::vector<std::vector<std::uint8_t>> feed_chunks(const PduStream& s, const RxParams& p,
                                                   const std::vector<std::size_t>& sizes) {
  RxParser parser(p);
  std::vector<std::vector<std::uint8_t>> got;
  std::size_t off = 0;
  std::size_t i = 0;
  while (off < s.bytes.size()) {
    const std::size_t n = std::min(sizes[i++ % sizes.size()], s.bytes.size() - off);
    auto r = parser.feed(Bytes(s.bytes).subspan(off, n),
                         [&](const Pdu& pdu) { got.emplace_back(pdu.raw.begin(), pdu.raw.end()); });
    INFO((r ? std::string() : r.error().to_string()));
    REQUIRE(r.has_value());
    off += n;
  }
  CHECK(parser.buffered() == 0);
  return got;
}

}  // namespace

TEST_CASE("Receive parser yields the same PDUs for any chunking", "[rx_parser]") {
  for (const bool digests : {false, true}) {
    TxParams t{digests, digests, 0};
    RxParams p;
    p.role = Role::Host;
    p.hdgst = p.ddgst = digests;
    const PduStream s = host_stream(t);
    CHECK(feed_chunks(s, p, {s.bytes.size()}) == s.pdus);  // whole
    CHECK(feed_chunks(s, p, {1}) == s.pdus);               // one byte at a time
    CHECK(feed_chunks(s, p, {7, 3, 1000, 1, 8}) == s.pdus);
    std::mt19937 rng(digests ? 42 : 7);
    for (int round = 0; round < 20; ++round) {
      std::vector<std::size_t> sizes(50);
      for (auto& n : sizes) n = 1 + rng() % 9000;
      CHECK(feed_chunks(s, p, sizes) == s.pdus);
    }
  }
}

TEST_CASE("Receive parser: every PDU split at every byte boundary", "[rx_parser]") {
  const PduStream s = host_stream(TxParams{true, true, 0});
  RxParams p;
  p.hdgst = p.ddgst = true;
  for (const auto& one : s.pdus) {
    if (one.size() > 5000) continue;  // the big C2HData is covered by the chunk test
    for (std::size_t cut = 0; cut <= one.size(); ++cut) {
      RxParser parser(p);
      int count = 0;
      auto on = [&](const Pdu& pdu) {
        ++count;
        CHECK(std::equal(pdu.raw.begin(), pdu.raw.end(), one.begin(), one.end()));
      };
      REQUIRE(parser.feed(Bytes(one).first(cut), on).has_value());
      CHECK(count == (cut == one.size() ? 1 : 0));
      REQUIRE(parser.feed(Bytes(one).subspan(cut), on).has_value());
      CHECK(count == 1);
    }
  }
}

TEST_CASE("Receive parser rejects a bad common header before the data arrives", "[rx_parser]") {
  RxParams p;
  p.max_plen = 1 << 20;
  RxParser parser(p);
  std::vector<std::uint8_t> hdr = {0x07, 0x04, 24, 24, 0xFF, 0xFF, 0xFF, 0x7F};  // PLEN 2 GiB
  int count = 0;
  auto r = parser.feed(hdr, [&](const Pdu&) { ++count; });
  REQUIRE_FALSE(r.has_value());
  CHECK(std::string(r.error().field) == "plen");
  CHECK(parser.failed());
  CHECK(parser.buffered() <= 8);
  // Sticky: more bytes do not revive it.
  auto again = parser.feed(hdr, [&](const Pdu&) { ++count; });
  REQUIRE_FALSE(again.has_value());
  CHECK(count == 0);
}

TEST_CASE("Receive parser picks up digests negotiated by ICResp mid-stream", "[rx_parser]") {
  PduStream s;
  IcResp ic;
  ic.hdgst = ic.ddgst = true;
  ic.maxh2cdata = 4096;
  s.add(encode_pdu(ic));
  std::array<std::uint8_t, 16> cqe{};
  s.add(encode_pdu(CapsuleResp{cqe}, TxParams{true, true, 0}));
  for (std::size_t chunk : {s.bytes.size(), std::size_t{1}, std::size_t{100}}) {
    RxParser parser(RxParams{});
    std::vector<PduType> types;
    std::size_t off = 0;
    while (off < s.bytes.size()) {
      const std::size_t n = std::min(chunk, s.bytes.size() - off);
      auto r = parser.feed(Bytes(s.bytes).subspan(off, n), [&](const Pdu& pdu) {
        types.push_back(static_cast<PduType>(pdu.ch.type));
        if (const auto* resp = std::get_if<IcResp>(&pdu.body)) {
          RxParams next = parser.params();
          next.hdgst = resp->hdgst;
          next.ddgst = resp->ddgst;
          parser.set_params(next);
        }
      });
      REQUIRE(r.has_value());
      off += n;
    }
    CHECK(types == std::vector<PduType>{PduType::IcResp, PduType::CapsuleResp});
  }
}
