// PDU codec: byte images built from the NVMe/TCP 1.0 tables, round trips, malformed input.
#include <catch2/catch.hpp>

#include <cstring>

#include "wire/crc32c.h"
#include "wire/pdu_codec.h"

using namespace nvmemp;
using namespace nvmemp::wire;

namespace {

RxParams host_rx(bool hd = false, bool dd = false, std::uint8_t hpda = 0) {
  RxParams p;
  p.role = Role::Host;
  p.hdgst = hd;
  p.ddgst = dd;
  p.pda = hpda;
  return p;
}
RxParams ctrl_rx(bool hd = false, bool dd = false, std::uint8_t cpda = 0) {
  RxParams p = host_rx(hd, dd, cpda);
  p.role = Role::Controller;
  return p;
}

std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(i * 37 + 11);
  return v;
}

// Expects decoding to fail on `field`.
void expect_error(const std::vector<std::uint8_t>& pdu, const RxParams& p, const std::string& field,
                  Errc code = Errc::Malformed) {
  auto r = decode_pdu(pdu, p);
  REQUIRE_FALSE(r.has_value());
  INFO(r.error().to_string());
  CHECK(std::string(r.error().field) == field);
  CHECK(r.error().code == code);
  CHECK_FALSE(r.error().to_string().empty());
}

}  // namespace

TEST_CASE("ICReq byte image follows the spec table", "[pdu]") {
  IcReq r;
  r.hpda = 2;
  r.hdgst = true;
  r.ddgst = false;
  r.maxr2t = 7;
  const auto b = encode_pdu(r);
  REQUIRE(b.size() == 128);
  CHECK(b[0] == 0x00);                   // PDU-Type ICReq
  CHECK(b[1] == 0x00);                   // no digests on ICReq, ever
  CHECK(b[2] == 128);                    // HLEN
  CHECK(b[3] == 0);                      // PDO
  CHECK(load_le32(b, 4) == 128);         // PLEN
  CHECK(load_le16(b, 8) == 0);           // PFV
  CHECK(b[10] == 2);                     // HPDA
  CHECK(b[11] == 0x01);                  // DGST: HDGST_ENABLE
  CHECK(load_le32(b, 12) == 7);          // MAXR2T
  for (std::size_t i = 16; i < 128; ++i) CHECK(b[i] == 0);
  auto d = decode_pdu(b, ctrl_rx());
  REQUIRE(d.has_value());
  const auto& back = std::get<IcReq>(d->body);
  CHECK(back.hpda == 2);
  CHECK(back.hdgst);
  CHECK_FALSE(back.ddgst);
  CHECK(back.maxr2t == 7);
}

TEST_CASE("ICResp round trip and checks", "[pdu]") {
  IcResp r;
  r.cpda = 1;
  r.hdgst = true;
  r.ddgst = true;
  r.maxh2cdata = 131072;
  auto b = encode_pdu(r);
  CHECK(b[0] == 0x01);
  CHECK(b[11] == 0x03);
  CHECK(load_le32(b, 12) == 131072);
  auto d = decode_pdu(b, host_rx());
  REQUIRE(d.has_value());
  CHECK(std::get<IcResp>(d->body).cpda == 1);
  CHECK(std::get<IcResp>(d->body).maxh2cdata == 131072);

  SECTION("pfv other than 0") {
    store_le16(b, 8, 1);
    expect_error(b, host_rx(), "pfv", Errc::Unsupported);
  }
  SECTION("maxh2cdata below 4096") {
    store_le32(b, 12, 2048);
    expect_error(b, host_rx(), "maxh2cdata");
  }
  SECTION("maxh2cdata not a multiple of 4") {
    store_le32(b, 12, 4098);
    expect_error(b, host_rx(), "maxh2cdata");
  }
  SECTION("cpda above 31") {
    b[10] = 32;
    expect_error(b, host_rx(), "cpda");
  }
  SECTION("reserved dgst bits") {
    b[11] = 0x07;
    expect_error(b, host_rx(), "dgst");
  }
  SECTION("plen other than 128") {
    store_le32(b, 4, 132);
    b.resize(132);
    expect_error(b, host_rx(), "plen");
  }
}

TEST_CASE("CapsuleCmd with in-capsule data, digests and CPDA padding", "[pdu]") {
  std::array<std::uint8_t, 64> sqe{};
  sqe[0] = 0x01;  // Write
  store_le16(sqe, 2, 0x1234);
  const auto data = pattern(100);
  for (const bool hd : {false, true}) {
    for (const bool dd : {false, true}) {
      for (const std::uint8_t cpda : {0, 3}) {
        TxParams t{hd, dd, cpda};
        const auto b = encode_pdu(CapsuleCmd{sqe, data}, t);
        const std::size_t align = (cpda + 1u) * 4;
        const std::size_t want_pdo = (72 + (hd ? 4 : 0) + align - 1) / align * align;
        CHECK(b[0] == 0x04);
        CHECK(b[1] == ((hd ? 1 : 0) | (dd ? 2 : 0)));
        CHECK(b[2] == 72);
        CHECK(b[3] == want_pdo);
        CHECK(load_le32(b, 4) == want_pdo + 100 + (dd ? 4 : 0));
        CHECK(std::memcmp(b.data() + 8, sqe.data(), 64) == 0);
        if (hd) CHECK(load_le32(b, 72) == crc32c(Bytes(b).first(72)));
        CHECK(std::memcmp(b.data() + want_pdo, data.data(), data.size()) == 0);
        if (dd) CHECK(load_le32(b, want_pdo + 100) == crc32c(data));
        auto d = decode_pdu(b, ctrl_rx(hd, dd, cpda));
        REQUIRE(d.has_value());
        const auto& c = std::get<CapsuleCmd>(d->body);
        CHECK(c.sqe.size() == 64);
        CHECK(std::equal(c.data.begin(), c.data.end(), data.begin(), data.end()));
        CHECK(encode_pdu(c, t) == b);
      }
    }
  }
}

TEST_CASE("CapsuleCmd without data has PDO 0 and PLEN = HLEN (+HDGST)", "[pdu]") {
  std::array<std::uint8_t, 64> sqe{};
  auto b = encode_pdu(CapsuleCmd{sqe, {}}, TxParams{true, true, 0});
  CHECK(b.size() == 76);
  CHECK(b[1] == 0x01);  // no DDGSTF without data
  CHECK(b[3] == 0);
  REQUIRE(decode_pdu(b, ctrl_rx(true, true)).has_value());
}

TEST_CASE("CapsuleResp, R2T, H2CData and C2HData round trips", "[pdu]") {
  for (const bool hd : {false, true}) {
    for (const bool dd : {false, true}) {
      TxParams t{hd, dd, 0};
      std::array<std::uint8_t, 16> cqe{};
      store_le16(cqe, 12, 77);
      auto resp = encode_pdu(CapsuleResp{cqe}, t);
      CHECK(resp.size() == (hd ? 28u : 24u));
      auto d = decode_pdu(resp, host_rx(hd, dd));
      REQUIRE(d.has_value());
      CHECK(load_le16(std::get<CapsuleResp>(d->body).cqe, 12) == 77);

      auto r2t = encode_pdu(R2T{5, 9, 4096, 8192}, t);
      auto dr = decode_pdu(r2t, host_rx(hd, dd));
      REQUIRE(dr.has_value());
      const auto& rr = std::get<R2T>(dr->body);
      CHECK(rr.cccid == 5);
      CHECK(rr.ttag == 9);
      CHECK(rr.r2to == 4096);
      CHECK(rr.r2tl == 8192);

      const auto data = pattern(4096);
      H2CData h;
      h.cccid = 5;
      h.ttag = 9;
      h.datao = 4096;
      h.last = true;
      h.data = data;
      auto hb = encode_pdu(h, t);
      CHECK(load_le32(hb, 16) == 4096);  // DATAL
      CHECK(hb[1] == ((hd ? 1 : 0) | (dd ? 2 : 0) | 0x04));
      auto dh = decode_pdu(hb, ctrl_rx(hd, dd));
      REQUIRE(dh.has_value());
      const auto& hh = std::get<H2CData>(dh->body);
      CHECK(hh.ttag == 9);
      CHECK(hh.datao == 4096);
      CHECK(hh.last);
      CHECK(std::equal(hh.data.begin(), hh.data.end(), data.begin(), data.end()));

      C2HData c;
      c.cccid = 6;
      c.datao = 0;
      c.last = true;
      c.success = true;
      c.data = data;
      auto cb = encode_pdu(c, t);
      CHECK(cb[1] == ((hd ? 1 : 0) | (dd ? 2 : 0) | 0x0C));
      auto dc = decode_pdu(cb, host_rx(hd, dd));
      REQUIRE(dc.has_value());
      CHECK(std::get<C2HData>(dc->body).success);
      CHECK(std::get<C2HData>(dc->body).cccid == 6);
    }
  }
}

TEST_CASE("TermReqs carry FES, FEI and the bad header, never digests", "[pdu]") {
  const auto bad = pattern(30);
  WireError e;
  e.fes = Fes::InvalidHeaderField;
  e.fei = 4;
  auto b = encode_term_req_for(e, bad, Role::Host);
  CHECK(b[0] == 0x02);
  CHECK(b[1] == 0);
  CHECK(b[2] == 24);
  CHECK(load_le32(b, 4) == 24 + 30);
  CHECK(load_le16(b, 8) == 1);
  CHECK(load_le32(b, 10) == 4);  // FEI at offset 10, not 12 (the kernel struct trap)
  auto d = decode_pdu(b, ctrl_rx(true, true));  // digests negotiated or not: none on TermReq
  REQUIRE(d.has_value());
  CHECK(std::get<H2CTermReq>(d->body).fei == 4);
  CHECK(std::get<H2CTermReq>(d->body).data.size() == 30);

  auto big = encode_term_req_for(e, pattern(400), Role::Controller);
  CHECK(big.size() == 152);  // the error data is cut to 128 bytes
  auto dc = decode_pdu(big, host_rx());
  REQUIRE(dc.has_value());
  CHECK(std::holds_alternative<C2HTermReq>(dc->body));
  store_le32(big, 4, 153);
  big.push_back(0);
  expect_error(big, host_rx(), "plen");
}

TEST_CASE("Malformed PDUs are refused with the field named", "[pdu][malformed]") {
  std::array<std::uint8_t, 16> cqe{};
  const auto resp = encode_pdu(CapsuleResp{cqe}, TxParams{});
  const auto data = pattern(64);
  C2HData c;
  c.cccid = 1;
  c.last = true;
  c.data = data;
  const auto c2h = encode_pdu(c, TxParams{});
  const auto c2h_dg = encode_pdu(c, TxParams{true, true, 0});

  SECTION("unknown type") {
    auto b = resp;
    b[0] = 0x08;
    expect_error(b, host_rx(), "pdu-type");
    b[0] = 0x7F;
    expect_error(b, host_rx(), "pdu-type");
  }
  SECTION("a PDU the host never receives") {
    std::array<std::uint8_t, 64> sqe{};
    expect_error(encode_pdu(CapsuleCmd{sqe, {}}, TxParams{}), host_rx(), "pdu-type");
    expect_error(resp, ctrl_rx(), "pdu-type");
  }
  SECTION("bad hlen") {
    auto b = resp;
    b[2] = 20;
    expect_error(b, host_rx(), "hlen");
  }
  SECTION("plen shorter than hlen") {
    auto b = c2h;
    store_le32(b, 4, 16);
    b.resize(16);
    expect_error(b, host_rx(), "plen");
  }
  SECTION("plen above the receiver's limit") {
    auto b = c2h;
    auto p = host_rx();
    p.max_plen = 64;
    expect_error(b, p, "plen");
  }
  SECTION("plen disagrees with the bytes") {
    auto b = c2h;
    b.pop_back();
    expect_error(b, host_rx(), "plen", Errc::Truncated);
  }
  SECTION("CapsuleResp with extra bytes") {
    auto b = resp;
    b.resize(32);
    store_le32(b, 4, 32);
    expect_error(b, host_rx(), "plen");
  }
  SECTION("pdo inside the header") {
    auto b = c2h;
    b[3] = 20;
    expect_error(b, host_rx(), "pdo");
  }
  SECTION("pdo not aligned to HPDA") {
    auto b = c2h;  // pdo 24, but we asked for 16-byte alignment (hpda 3)
    expect_error(b, host_rx(false, false, 3), "pdo");
  }
  SECTION("pdo past the data") {
    auto b = c2h;
    b[3] = 200;
    expect_error(b, host_rx(), "pdo");
  }
  SECTION("datal disagrees with the data") {
    auto b = c2h;
    store_le32(b, 16, 65);
    expect_error(b, host_rx(), "datal");
  }
  SECTION("data PDU without data") {
    auto b = c2h;
    b.resize(24);
    store_le32(b, 4, 24);
    expect_error(b, host_rx(), "plen");
  }
  SECTION("SUCCESS without LAST_PDU") {
    auto b = c2h;
    b[1] = 0x08;
    expect_error(b, host_rx(), "flags");
  }
  SECTION("header digest flag disagrees with negotiation") {
    expect_error(c2h, host_rx(true, false), "flags");
    expect_error(c2h_dg, host_rx(false, true), "flags");
  }
  SECTION("data digest flag disagrees with negotiation") {
    expect_error(c2h, host_rx(false, true), "flags");
  }
  SECTION("DDGSTF on a PDU without data") {
    auto b = resp;
    b[1] = 0x02;
    expect_error(b, host_rx(false, true), "flags");
  }
  SECTION("wrong header digest") {
    auto b = c2h_dg;
    b[10] ^= 0x01;  // a header byte changes, the digest does not
    auto r = decode_pdu(b, host_rx(true, true));
    REQUIRE_FALSE(r.has_value());
    CHECK(std::string(r.error().field) == "hdgst");
    CHECK(r.error().code == Errc::DigestMismatch);
    CHECK(r.error().fes == Fes::HeaderDigestError);
  }
  SECTION("wrong data digest: the PDU is whole, only its data is bad") {
    auto b = c2h_dg;
    b[40] ^= 0x80;
    auto r = decode_pdu(b, host_rx(true, true));
    REQUIRE(r.has_value());
    CHECK_FALSE(r->data_digest_ok);
    CHECK(decode_pdu(c2h_dg, host_rx(true, true))->data_digest_ok);
    auto lax = host_rx(true, true);
    lax.verify_digests = false;
    CHECK(decode_pdu(b, lax)->data_digest_ok);
  }
  SECTION("R2T for zero bytes") {
    auto b = encode_pdu(R2T{1, 1, 0, 1}, TxParams{});
    store_le32(b, 16, 0);
    expect_error(b, host_rx(), "r2tl");
  }
  SECTION("H2CData with SUCCESS") {
    H2CData h;
    h.data = data;
    auto b = encode_pdu(h, TxParams{});
    b[1] |= 0x08;
    expect_error(b, ctrl_rx(), "flags");
  }
  SECTION("truncated: fewer than 8 bytes") {
    auto r = decode_pdu(Bytes(resp).first(5), host_rx());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Errc::Truncated);
  }
}

TEST_CASE("WireError messages name the PDU, field, value and rule", "[pdu]") {
  std::array<std::uint8_t, 16> cqe{};
  auto b = encode_pdu(CapsuleResp{cqe}, TxParams{});
  b[2] = 20;
  auto r = decode_pdu(b, host_rx());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().to_string() ==
        "CapsuleResp hlen=20: must be 24 (TermReq FES 0x1 Invalid PDU Header Field, FEI 2)");
  CHECK(r.error().fei == 2);
}
