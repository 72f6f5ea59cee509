// SQE/CQE layout, SGL descriptors and every command builder, field by field at the byte
// offsets of the specifications (NVMe Base 2.0, NVMe over Fabrics 1.1, NVM Command Set
// 1.0). The byte-exact comparison against real targets is in sqe_capture_test.cc.
#include "wire/sqe.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "wire/registers.h"

using namespace nvmemp::wire;
using nvmemp::Bytes;
using nvmemp::Errc;
using nvmemp::Status;

namespace {

std::uint8_t u8(const Sqe& s, std::size_t off) { return s.bytes[off]; }
std::uint16_t le16(const Sqe& s, std::size_t off) { return nvmemp::load_le16(s.bytes, off); }
std::uint32_t le32(const Sqe& s, std::size_t off) { return nvmemp::load_le32(s.bytes, off); }
std::uint64_t le64(const Sqe& s, std::size_t off) { return nvmemp::load_le64(s.bytes, off); }

// Bytes [from, to) are all zero: reserved fields and unused dwords.
bool zero(const Sqe& s, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (s.bytes[i] != 0) {
      return false;
    }
  }
  return true;
}

// The common part of every builder: opcode, PSDT = SGL, CID 0, SGL1 as given.
void check_header(const Sqe& s, std::uint8_t opcode, std::uint32_t nsid, const SglDescriptor& sgl) {
  CHECK(u8(s, 0) == opcode);
  CHECK(u8(s, 1) == 0x40);
  CHECK(le16(s, 2) == 0);
  if (opcode != kOpcodeFabrics) {
    CHECK(le32(s, 4) == nsid);
  }
  CHECK(zero(s, 8, 24));  // CDW2, CDW3, MPTR
  CHECK(le64(s, 24) == sgl.addr);
  CHECK(le32(s, 32) == sgl.length);
  CHECK(zero(s, 36, 39));
  CHECK(u8(s, 39) == sgl.id);
}

}  // namespace

TEST_CASE("SGL descriptors", "[sqe]") {
  CHECK(SglDescriptor::in_capsule(4096) == SglDescriptor{0, 4096, 0x01});
  CHECK(SglDescriptor::in_capsule(16, 32) == SglDescriptor{32, 16, 0x01});
  CHECK(SglDescriptor::transport(20480) == SglDescriptor{0, 20480, 0x5A});
  CHECK(SglDescriptor::null() == SglDescriptor{0, 0, 0x5A});
  CHECK(SglDescriptor::transport(1).type() == 5);
  CHECK(SglDescriptor::transport(1).subtype() == 0xA);
  CHECK(SglDescriptor::in_capsule(1).type() == 0);
  CHECK(SglDescriptor::in_capsule(1).subtype() == 1);

  std::vector<std::uint8_t> buf(16, 0xFF);
  SglDescriptor{0x0102030405060708, 0x11223344, 0x5A}.encode(buf);
  CHECK(buf == std::vector<std::uint8_t>{0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x44, 0x33, 0x22, 0x11,
                                         0x00, 0x00, 0x00, 0x5A});
  CHECK(SglDescriptor::decode(buf) == SglDescriptor{0x0102030405060708, 0x11223344, 0x5A});
}

TEST_CASE("Sqe accessors", "[sqe]") {
  Sqe s = Sqe::with_opcode(0x02, 7);
  check_header(s, 0x02, 7, SglDescriptor::null());
  CHECK(s.opcode() == 0x02);
  CHECK(s.flags() == 0x40);
  CHECK(s.nsid() == 7);
  CHECK(s.sgl1() == SglDescriptor::null());

  s.set_cid(0xBEEF);
  CHECK(u8(s, 2) == 0xEF);
  CHECK(u8(s, 3) == 0xBE);
  CHECK(s.cid() == 0xBEEF);
  for (unsigned n : {2u, 3u, 10u, 11u, 12u, 13u, 14u, 15u}) {
    CAPTURE(n);
    s.set_cdw(n, 0xA0B0C000u + n);
    CHECK(le32(s, 4 * n) == 0xA0B0C000u + n);
    CHECK(s.cdw(n) == 0xA0B0C000u + n);
  }
  CHECK(le32(s, 60) == 0xA0B0C00Fu);  // CDW15 is the last dword
  s.set_sgl1(SglDescriptor::in_capsule(512, 0));
  CHECK(s.sgl1() == SglDescriptor::in_capsule(512));
  CHECK(u8(s, 39) == 0x01);

  Sqe f = make_property_get(kRegCap, true);
  CHECK(f.fctype() == 0x04);

  std::vector<std::uint8_t> pdu_sqe(72, 0);
  pdu_sqe[0] = 0x06;
  pdu_sqe[63] = 0x99;
  pdu_sqe[64] = 0x77;  // beyond the SQE: not copied
  auto ok = Sqe::from_bytes(pdu_sqe);
  REQUIRE(ok);
  CHECK(ok->opcode() == 0x06);
  CHECK(ok->bytes[63] == 0x99);
  auto short_sqe = Sqe::from_bytes(Bytes(pdu_sqe).first(63));
  REQUIRE_FALSE(short_sqe);
  CHECK(short_sqe.error().code == Errc::Truncated);
}

TEST_CASE("In-capsule data limits and write placement", "[sqe]") {
  CHECK(max_in_capsule_data(1028) == 16384);  // nvmet
  CHECK(max_in_capsule_data(260) == 4096);    // SPDK
  CHECK(max_in_capsule_data(4) == 0);         // SQE only
  CHECK(max_in_capsule_data(3) == 0);         // below the minimum: no underflow
  CHECK(max_in_capsule_data(0) == 0);
  CHECK(max_in_capsule_data(0xFFFFFFFF) == 0xFFFFFFFF);  // clamped, no overflow
  CHECK(kAdminInCapsuleData == 8192);

  CHECK(sgl_for_write(4096, 4096) == SglDescriptor::in_capsule(4096));
  CHECK(sgl_for_write(4097, 4096) == SglDescriptor::transport(4097));
  CHECK(sgl_for_write(20480, 16384) == SglDescriptor::transport(20480));
  CHECK(sgl_for_write(512, 0) == SglDescriptor::transport(512));
  CHECK(sgl_for_write(0, 4096) == SglDescriptor::null());
}

TEST_CASE("Connect SQE", "[sqe]") {
  const ConnectParams p{3, 127, kCattrDisableSqFlowControl, 5000};
  const Sqe s = make_connect(p);
  check_header(s, 0x7F, 0, SglDescriptor::in_capsule(1024));
  CHECK(u8(s, 4) == 0x01);  // FCTYPE Connect
  CHECK(zero(s, 5, 8));
  CHECK(le16(s, 40) == 0);    // RECFMT
  CHECK(le16(s, 42) == 3);    // QID
  CHECK(le16(s, 44) == 127);  // SQSIZE
  CHECK(u8(s, 46) == 0x04);   // CATTR
  CHECK(u8(s, 47) == 0);
  CHECK(le32(s, 48) == 5000);  // KATO
  CHECK(zero(s, 52, 64));

  auto back = parse_connect(s);
  REQUIRE(back);
  CHECK(*back == p);

  auto not_connect = parse_connect(make_property_get(kRegCap, true));
  REQUIRE_FALSE(not_connect);
  CHECK(not_connect.error().code == Errc::InvalidArgument);
  Sqe recfmt1 = s;
  recfmt1.bytes[40] = 1;
  auto bad = parse_connect(recfmt1);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == Errc::Unsupported);
  CHECK_THAT(bad.error().message, Catch::Contains("RECFMT 1"));
}

TEST_CASE("Connect data", "[sqe]") {
  const HostId hostid{0x5a, 0x7e, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0xb0, 0xb0};
  const std::string sub = "nqn.2026-01.io.example:mpath-test";
  const std::string host = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0";
  auto d = encode_connect_data(hostid, 0x1234, sub, host);
  REQUIRE(d);
  const Bytes b(*d);
  CHECK(std::equal(hostid.begin(), hostid.end(), d->begin()));
  CHECK(nvmemp::load_le16(b, 16) == 0x1234);
  CHECK(std::all_of(d->begin() + 18, d->begin() + 256, [](auto c) { return c == 0; }));
  CHECK(std::string(reinterpret_cast<const char*>(d->data() + 256)) == sub);
  CHECK(std::string(reinterpret_cast<const char*>(d->data() + 512)) == host);
  CHECK(std::all_of(d->begin() + 256 + sub.size(), d->begin() + 512, [](auto c) { return c == 0; }));
  CHECK(std::all_of(d->begin() + 512 + host.size(), d->end(), [](auto c) { return c == 0; }));

  auto parsed = parse_connect_data(b);
  REQUIRE(parsed);
  CHECK(*parsed == ConnectData{hostid, 0x1234, sub, host});

  SECTION("NQN limits") {
    const std::string max(223, 'q');
    CHECK(encode_connect_data(hostid, 0xFFFF, max, max));
    auto empty_sub = encode_connect_data(hostid, 0xFFFF, "", host);
    REQUIRE_FALSE(empty_sub);
    CHECK(empty_sub.error().code == Errc::InvalidArgument);
    CHECK_THAT(empty_sub.error().message, Catch::Contains("SUBNQN") && Catch::Contains("empty"));
    auto long_host = encode_connect_data(hostid, 0xFFFF, sub, std::string(224, 'q'));
    REQUIRE_FALSE(long_host);
    CHECK_THAT(long_host.error().message, Catch::Contains("HOSTNQN") && Catch::Contains("224"));
    auto nul = encode_connect_data(hostid, 0xFFFF, std::string("nqn.a\0b", 7), host);
    REQUIRE_FALSE(nul);
    CHECK_THAT(nul.error().message, Catch::Contains("NUL"));
  }
  SECTION("parse errors") {
    auto truncated = parse_connect_data(b.first(1023));
    REQUIRE_FALSE(truncated);
    CHECK(truncated.error().code == Errc::Truncated);
    std::vector<std::uint8_t> longer(d->begin(), d->end());
    longer.push_back(0);
    auto too_long = parse_connect_data(longer);
    REQUIRE_FALSE(too_long);
    CHECK(too_long.error().code == Errc::Malformed);

    auto copy = *d;
    std::fill(copy.begin() + 256, copy.begin() + 512, 'x');  // SUBNQN without its NUL
    auto unterminated = parse_connect_data(copy);
    REQUIRE_FALSE(unterminated);
    CHECK(unterminated.error().code == Errc::Malformed);
    CHECK_THAT(unterminated.error().message, Catch::Contains("SUBNQN") && Catch::Contains("NUL"));

    copy = *d;
    copy[512] = 0;  // empty HOSTNQN
    auto empty = parse_connect_data(copy);
    REQUIRE_FALSE(empty);
    CHECK_THAT(empty.error().message, Catch::Contains("HOSTNQN"));

    copy = *d;
    std::fill(copy.begin() + 512, copy.begin() + 512 + 224, 'h');  // 224 bytes, then NUL
    copy[512 + 224] = 0;
    auto long_nqn = parse_connect_data(copy);
    REQUIRE_FALSE(long_nqn);
    CHECK_THAT(long_nqn.error().message, Catch::Contains("224"));
  }
}

TEST_CASE("Connect response DW0", "[sqe]") {
  CHECK(connect_cntlid(0x00000001) == 1);
  CHECK(connect_cntlid(0xFFFFBEEF) == 0xBEEF);
  CHECK_FALSE(connect_authreq_atr(0x00000001));
  CHECK(connect_authreq_atr(0x00020001));
  CHECK_FALSE(connect_authreq_ascr(0x00020001));
  CHECK(connect_authreq_ascr(0x00040001));
  // Bit 16 is obsolete: neither requirement.
  CHECK_FALSE(connect_authreq_atr(0x00010001));
  CHECK_FALSE(connect_authreq_ascr(0x00010001));
}

TEST_CASE("Property Get/Set and Disconnect", "[sqe]") {
  const Sqe cap = make_property_get(kRegCap, true);
  check_header(cap, 0x7F, 0, SglDescriptor::null());
  CHECK(u8(cap, 4) == 0x04);
  CHECK(u8(cap, 40) == 1);  // ATTRIB: 8 bytes
  CHECK(le32(cap, 44) == 0x00);
  CHECK(zero(cap, 48, 64));

  const Sqe vs = make_property_get(kRegVs, false);
  CHECK(u8(vs, 40) == 0);
  CHECK(le32(vs, 44) == 0x08);

  const Sqe cc = make_property_set(kRegCc, cc_enable_value(), false);
  check_header(cc, 0x7F, 0, SglDescriptor::null());
  CHECK(u8(cc, 4) == 0x00);
  CHECK(u8(cc, 40) == 0);
  CHECK(le32(cc, 44) == 0x14);
  CHECK(le64(cc, 48) == 0x460001);
  CHECK(zero(cc, 56, 64));
  // A 4-byte property carries only the low 32 bits; an 8-byte one all 64.
  CHECK(le64(make_property_set(kRegCc, 0xAAAA'BBBB'0046'0001, false), 48) == 0x460001);
  CHECK(le64(make_property_set(0x28, 0xAAAA'BBBB'0046'0001, true), 48) == 0xAAAA'BBBB'0046'0001);
  CHECK(u8(make_property_set(0x28, 1, true), 40) == 1);

  const Sqe dc = make_disconnect();
  check_header(dc, 0x7F, 0, SglDescriptor::null());
  CHECK(u8(dc, 4) == 0x08);
  CHECK(zero(dc, 40, 64));
}

TEST_CASE("Identify", "[sqe]") {
  const Sqe ns_desc = make_identify(0x03, 1);
  check_header(ns_desc, 0x06, 1, SglDescriptor::transport(4096));
  CHECK(le32(ns_desc, 40) == 0x03);
  CHECK(le32(ns_desc, 44) == 0);
  CHECK(zero(ns_desc, 48, 64));

  const Sqe full = make_identify(0x01, 0, 0x1234, 0x02, 4096);
  CHECK(le32(full, 40) == 0x12340001);  // CNS 7:0, CNTID 31:16
  CHECK(le32(full, 44) == 0x02000000);  // CSI 31:24
}

TEST_CASE("Get Log Page", "[sqe]") {
  auto ana = make_get_log_page(0x0C, 0xFFFFFFFF, 0, 4096);
  REQUIRE(ana);
  check_header(*ana, 0x02, 0xFFFFFFFF, SglDescriptor::transport(4096));
  CHECK(le32(*ana, 40) == 0x03FF000C);  // NUMDL 1023, LID 0x0C
  CHECK(le32(*ana, 44) == 0);
  CHECK(zero(*ana, 48, 64));

  auto disc = make_get_log_page(0x70, 0, 0, 1024, 0, true);
  REQUIRE(disc);
  CHECK(le32(*disc, 40) == 0x00FF8070);  // RAE bit 15

  auto big = make_get_log_page(0x0C, 0, 0x1'0000'0010, 1u << 20, 0x7F);
  REQUIRE(big);
  CHECK(le32(*big, 40) == 0xFFFF7F0C);  // NUMDL 0xFFFF, LSP 0x7F
  CHECK(le32(*big, 44) == 0x0003);      // NUMDU: NUMD = 0x3FFFF
  CHECK(le32(*big, 48) == 0x10);        // LPOL
  CHECK(le32(*big, 52) == 0x1);         // LPOU
  CHECK(big->sgl1() == SglDescriptor::transport(1u << 20));

  CHECK(le32(*make_get_log_page(0x02, 0, 0, 4), 40) == 0x00000002);  // one dword: NUMD 0

  auto odd = make_get_log_page(0x0C, 0, 0, 6);
  REQUIRE_FALSE(odd);
  CHECK(odd.error().code == Errc::InvalidArgument);
  CHECK_THAT(odd.error().message, Catch::StartsWith("Get Log Page 0x0c: length 6"));
  CHECK_FALSE(make_get_log_page(0x0C, 0, 0, 0));
  auto misaligned = make_get_log_page(0x0C, 0, 2, 4096);
  REQUIRE_FALSE(misaligned);
  CHECK_THAT(misaligned.error().message, Catch::Contains("offset 2"));
  auto lsp = make_get_log_page(0x0C, 0, 0, 4096, 0x80);
  REQUIRE_FALSE(lsp);
  CHECK_THAT(lsp.error().message, Catch::Contains("LSP"));
}

TEST_CASE("Features, Keep Alive, Asynchronous Event Request", "[sqe]") {
  const Sqe aec = make_set_features(kFidAsyncEventConfig, kAecAna | kAecNsAttr);
  check_header(aec, 0x09, 0, SglDescriptor::null());
  CHECK(le32(aec, 40) == 0x0B);
  CHECK(le32(aec, 44) == 0x900);
  CHECK(zero(aec, 48, 64));
  CHECK(le32(make_set_features(0x0F, 5000, true), 40) == 0x8000000F);  // SV bit 31

  const Sqe kato = make_get_features(0x0F, 3);
  check_header(kato, 0x0A, 0, SglDescriptor::null());
  CHECK(le32(kato, 40) == 0x30F);  // SEL 10:8
  CHECK(le32(make_get_features(0x07, 0, 0x10001), 44) == 0x10001);

  const Sqe ka = make_keep_alive();
  check_header(ka, 0x18, 0, SglDescriptor::null());
  CHECK(zero(ka, 40, 64));
  const Sqe aer = make_async_event_request();
  check_header(aer, 0x0C, 0, SglDescriptor::null());
  CHECK(zero(aer, 40, 64));
}

TEST_CASE("Read and Write", "[sqe]") {
  auto rd = make_read(1, 0x1'2345'6789, 8, 4096);
  REQUIRE(rd);
  check_header(*rd, 0x02, 1, SglDescriptor::transport(4096));
  CHECK(le32(*rd, 40) == 0x23456789);  // SLBA low
  CHECK(le32(*rd, 44) == 0x1);         // SLBA high
  CHECK(le32(*rd, 48) == 7);           // NLB 0's based
  CHECK(zero(*rd, 52, 64));

  auto small = make_write(1, 0, 8, 4096, 16384);
  REQUIRE(small);
  check_header(*small, 0x01, 1, SglDescriptor::in_capsule(4096));
  CHECK(le32(*small, 48) == 7);
  auto big = make_write(1, 8, 40, 20480, 16384, true);
  REQUIRE(big);
  check_header(*big, 0x01, 1, SglDescriptor::transport(20480));
  CHECK(le32(*big, 40) == 8);
  CHECK(le32(*big, 48) == (39u | (1u << 30)));  // FUA bit 30

  CHECK(le32(*make_read(1, 0, 65536, 1u << 25), 48) == 0xFFFF);
  for (std::uint32_t nlb : {0u, 65537u}) {
    auto r = make_read(1, 0, nlb, 4096);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::InvalidArgument);
    CHECK_THAT(r.error().message, Catch::StartsWith("Read nsid 1 slba 0: " + std::to_string(nlb) + " blocks"));
    CHECK_FALSE(make_write(1, 0, nlb, 4096, 4096));
  }
  CHECK_FALSE(make_read(1, 0, 1, 0));
  CHECK_FALSE(make_write(1, 0, 1, 0, 4096));
}

TEST_CASE("Flush, Write Zeroes, Dataset Management", "[sqe]") {
  const Sqe fl = make_flush(5);
  check_header(fl, 0x00, 5, SglDescriptor::null());
  CHECK(zero(fl, 40, 64));

  auto wz = make_write_zeroes(1, 100, 16, true, true);
  REQUIRE(wz);
  check_header(*wz, 0x08, 1, SglDescriptor::null());
  CHECK(le32(*wz, 40) == 100);
  CHECK(le32(*wz, 48) == (15u | (1u << 25) | (1u << 30)));  // NLB, DEAC, FUA
  CHECK(le32(*make_write_zeroes(1, 0, 1), 48) == 0);
  CHECK_FALSE(make_write_zeroes(1, 0, 0));
  CHECK_FALSE(make_write_zeroes(1, 0, 65537));

  auto dsm = make_dataset_management_deallocate(1, 2, 4096);
  REQUIRE(dsm);
  check_header(*dsm, 0x09, 1, SglDescriptor::in_capsule(32));
  CHECK(le32(*dsm, 40) == 1);     // NR, 0's based
  CHECK(le32(*dsm, 44) == 0x4);   // AD
  CHECK(zero(*dsm, 48, 64));
  auto dsm_max = make_dataset_management_deallocate(1, 256, 0);
  REQUIRE(dsm_max);
  CHECK(le32(*dsm_max, 40) == 255);
  CHECK(dsm_max->sgl1() == SglDescriptor::transport(4096));
  CHECK_FALSE(make_dataset_management_deallocate(1, 0, 4096));
  auto too_many = make_dataset_management_deallocate(1, 257, 4096);
  REQUIRE_FALSE(too_many);
  CHECK_THAT(too_many.error().message, Catch::Contains("257 ranges"));

  const DsmRange ranges[] = {{0x0102030405060708, 8}, {0x10, 0xFFFFFFFF}};
  const auto data = encode_dsm_ranges(ranges);
  REQUIRE(data.size() == 32);
  CHECK(nvmemp::load_le32(data, 0) == 0);  // context attributes
  CHECK(nvmemp::load_le32(data, 4) == 8);
  CHECK(nvmemp::load_le64(data, 8) == 0x0102030405060708);
  CHECK(nvmemp::load_le32(data, 20) == 0xFFFFFFFF);
  CHECK(nvmemp::load_le64(data, 24) == 0x10);
  CHECK(encode_dsm_ranges({}).empty());
}

TEST_CASE("CQE decode and encode", "[sqe]") {
  // nvmet's answer to Property Get CAP (nvmet-6.1-plain.jsonl).
  const std::vector<std::uint8_t> cap{0xff, 0x03, 0x00, 0x0f, 0x20, 0x08, 0x00, 0x00,
                                      0x02, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
  const Cqe c = decode_cqe(cap);
  CHECK(c.dw0 == 0x0f0003ff);
  CHECK(c.dw1 == 0x820);
  CHECK(c.sqhd == 2);
  CHECK(c.sqid == 0);
  CHECK(c.cid == 2);
  CHECK(c.status.ok());
  CHECK_FALSE(c.phase);
  CHECK(property_value(c) == 0x000008200f0003ff);
  const auto back = encode_cqe(c);
  CHECK(std::vector<std::uint8_t>(back.begin(), back.end()) == cap);

  // Status field: phase bit 0, status 15:1 (ANA Inaccessible with DNR: 0x4302 << 1 | 1).
  const Cqe ana{1, 2, 3, 4, 0xABCD, Status(0x4302), true};
  const auto raw = encode_cqe(ana);
  CHECK(raw[14] == 0x05);
  CHECK(raw[15] == 0x86);
  CHECK(raw[12] == 0xCD);
  CHECK(raw[13] == 0xAB);
  CHECK(decode_cqe(raw) == ana);
  CHECK(decode_cqe(raw).status.is_ana_error());

  // Every value of the status/phase half-word survives the round trip.
  std::array<std::uint8_t, 16> any{};
  for (std::uint32_t v = 0; v <= 0xFFFF; ++v) {
    any[14] = static_cast<std::uint8_t>(v);
    any[15] = static_cast<std::uint8_t>(v >> 8);
    if (encode_cqe(decode_cqe(any)) != any) {
      FAIL("status field " << v << " does not round-trip");
    }
  }
}

TEST_CASE("Asynchronous event completion", "[sqe]") {
  CHECK(decode_async_event(kAenAnaChange) == AsyncEvent{2, 0x03, 0x0C});
  CHECK(decode_async_event(kAenNsAttrChanged) == AsyncEvent{2, 0x00, 0x04});
  CHECK(decode_async_event(kAenDiscoveryLogChange) == AsyncEvent{2, 0xF0, 0x70});
  CHECK(decode_async_event(0xFF00FFFF) == AsyncEvent{7, 0xFF, 0x00});  // type is 3 bits
  CHECK(kAecNsAttr == 0x100);
  CHECK(kAecAna == 0x800);
  CHECK(kAecDiscoveryLogChange == 0x80000000);
  CHECK((kAecNsAttr | kAecAna) == 0x900);  // what probe.py enabled in the captures
}

TEST_CASE("Controller registers", "[sqe]") {
  const std::uint64_t nvmet_cap = 0x000008200f0003ff;
  CHECK(cap_mqes(nvmet_cap) == 1023);
  CHECK_FALSE(cap_cqr(nvmet_cap));
  CHECK(cap_to(nvmet_cap) == 15);
  CHECK(cap_timeout_ms(nvmet_cap) == 7500);
  CHECK(cap_css(nvmet_cap) == 0x41);
  CHECK(cap_mpsmin(nvmet_cap) == 0);
  const std::uint64_t spdk_cap = 0x080000201e01007f;
  CHECK(cap_mqes(spdk_cap) == 127);
  CHECK(cap_cqr(spdk_cap));
  CHECK(cap_to(spdk_cap) == 30);
  CHECK(cap_css(spdk_cap) == 0x01);
  CHECK(cap_mpsmax(0x00F0'0000'0000'0000) == 0xF);
  CHECK(cap_mpsmin(0x000F'0000'0000'0000) == 0xF);

  CHECK(vs_major(0x10300) == 1);
  CHECK(vs_minor(0x10300) == 3);
  CHECK(vs_tertiary(0x10300) == 0);
  CHECK(vs_major(0x20000) == 2);
  CHECK(vs_tertiary(0x10401) == 1);

  const std::uint32_t cc = cc_enable_value();
  CHECK(cc == 0x460001);
  CHECK(cc_en(cc));
  CHECK(cc_css(cc) == 0);
  CHECK(cc_mps(cc) == 0);
  CHECK(cc_ams(cc) == 0);
  CHECK(cc_shn(cc) == 0);
  CHECK(cc_iosqes(cc) == 6);
  CHECK(cc_iocqes(cc) == 4);
  CHECK(cc_shutdown_value(cc) == 0x464001);
  CHECK(cc_shn(cc_shutdown_value(0x46C001)) == 1);  // replaces an abrupt-shutdown request
  CHECK(cc_css(0x60) == 6);
  CHECK(cc_mps(0x80) == 1);
  CHECK(cc_ams(0x3800) == 7);

  CHECK(csts_rdy(0x1));
  CHECK_FALSE(csts_cfs(0x1));
  CHECK(csts_cfs(0x2));
  CHECK(csts_shst(0x9) == kShstComplete);
  CHECK(csts_shst(0x4) == kShstOccurring);
  CHECK(csts_shst(0x1) == kShstNormal);
}
