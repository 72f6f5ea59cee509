// Identify data parsers (wire/identify.h): hand-built structures checked field by field, every
// error path, and the Identify data that nvmet and SPDK sent in ../shared/real-target/captures.
#include "wire/identify.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "support/wire_buf.h"

namespace nvmemp::wire {
namespace {

using test::Buf;
using test::bytes;
using test::mut;

void put_text(Buf& b, std::size_t off, std::string_view s) {
  std::memcpy(&b[off], s.data(), s.size());
}

std::string array_hex(const auto& arr) { return to_hex(Bytes(arr.data(), arr.size())); }

// ---- capture data ----

using test::is_nvmet;
using test::Payload;
using test::payloads;

// ---- hand-built structures ---------------------------------------------------------------------

Buf make_id_ctrl() {
  Buf b(4096, 0);
  auto m = mut(b);
  store_le16(m, 0, 0x1b36);   // vid
  store_le16(m, 2, 0x1af4);   // ssvid
  std::memset(&b[4], ' ', 20);
  put_text(b, 4, "SN-42");     // space padded
  put_text(b, 24, std::string(40, 'M'));  // full width, no NUL, no padding
  put_text(b, 64, "fw1");      // NUL padded
  b[73] = 0x56; b[74] = 0x34; b[75] = 0x12;  // ieee, LSB first
  b[76] = 0x0b;                // cmic
  b[77] = 5;                   // mdts
  store_le16(m, 78, 0x1234);   // cntlid
  store_le32(m, 80, 0x00020100);  // ver 2.1.0
  store_le32(m, 92, 0x900);    // oaes
  store_le32(m, 96, 0x41);     // ctratt
  store_le16(m, 128, 1); store_le16(m, 130, 20); store_le16(m, 132, 300);  // crdt1-3
  b[258] = 3; b[259] = 4; b[261] = 0x26;  // acl, aerl, lpa
  store_le16(m, 320, 100);     // kas
  b[342] = 10; b[343] = 0x47;  // anatt, anacap
  store_le32(m, 344, 32); store_le32(m, 348, 31);  // anagrpmax, nanagrpid
  b[512] = 0x66; b[513] = 0x44;  // sqes, cqes
  store_le16(m, 514, 128);     // maxcmd
  store_le32(m, 516, 1024);    // nn
  store_le16(m, 520, 0x12d);   // oncs
  store_le16(m, 522, 1);       // fuses
  b[525] = 5;                  // vwc
  store_le32(m, 536, 0x100005);  // sgls
  store_le32(m, 540, 77);      // mnan
  put_text(b, 768, "nqn.2026-01.io.example:unit");
  store_le32(m, 1792, 260); store_le32(m, 1796, 1); store_le16(m, 1800, 0);
  b[1802] = 1; b[1803] = 1;    // fcatt, msdbd
  return b;
}

Buf make_id_ns(std::uint8_t nlbaf, std::uint8_t flbas) {
  Buf b(4096, 0);
  auto m = mut(b);
  store_le64(m, 0, 1000); store_le64(m, 8, 900); store_le64(m, 16, 800);
  b[24] = 0x12; b[25] = nlbaf; b[26] = flbas; b[30] = 1;
  store_le32(m, 92, 7);
  for (int i = 0; i < 16; ++i) b[104 + i] = static_cast<std::uint8_t>(0xa0 + i);
  for (int i = 0; i < 8; ++i) b[120 + i] = static_cast<std::uint8_t>(0x10 + i);
  for (std::size_t i = 0; i < 64; ++i) {  // format i: ms i, lbads 9 + i % 4, rp i % 4
    store_le16(m, 128 + 4 * i, static_cast<std::uint16_t>(i));
    b[128 + 4 * i + 2] = static_cast<std::uint8_t>(9 + i % 4);
    b[128 + 4 * i + 3] = static_cast<std::uint8_t>(i % 4);
  }
  return b;
}

}  // namespace

TEST_CASE("Identify Controller: every field of a hand-built structure", "[identify]") {
  const Buf b = make_id_ctrl();
  const auto c = parse_identify_controller(bytes(b));
  REQUIRE(c);
  CHECK(c->vid == 0x1b36);
  CHECK(c->ssvid == 0x1af4);
  CHECK(c->sn == "SN-42");
  CHECK(c->mn == std::string(40, 'M'));
  CHECK(c->fr == "fw1");
  CHECK(c->ieee == 0x123456);
  CHECK(c->cmic == 0x0b);
  CHECK(c->mdts == 5);
  CHECK(c->cntlid == 0x1234);
  CHECK(c->ver == 0x20100);
  CHECK(c->oaes == 0x900);
  CHECK(c->ctratt == 0x41);
  CHECK(c->crdt == std::array<std::uint16_t, 3>{1, 20, 300});
  CHECK(c->acl == 3);
  CHECK(c->aerl == 4);
  CHECK(c->lpa == 0x26);
  CHECK(c->kas == 100);
  CHECK(c->anatt == 10);
  CHECK(c->anacap == 0x47);
  CHECK(c->anagrpmax == 32);
  CHECK(c->nanagrpid == 31);
  CHECK(c->sqes == 0x66);
  CHECK(c->cqes == 0x44);
  CHECK(c->maxcmd == 128);
  CHECK(c->nn == 1024);
  CHECK(c->oncs == 0x12d);
  CHECK(c->fuses == 1);
  CHECK(c->vwc == 5);
  CHECK(c->sgls == 0x100005);
  CHECK(c->mnan == 77);
  CHECK(c->subnqn == "nqn.2026-01.io.example:unit");
  CHECK(c->ioccsz == 260);
  CHECK(c->iorcsz == 1);
  CHECK(c->icdoff == 0);
  CHECK(c->fcatt == 1);
  CHECK(c->msdbd == 1);
  CHECK(c->ana_supported());
  CHECK(c->multi_ctrl());
  CHECK(c->tbkas());
  CHECK(c->sgl_supported());
}

TEST_CASE("Identify Controller: predicates and size", "[identify]") {
  Buf b(4096, 0);
  auto c = parse_identify_controller(bytes(b));
  REQUIRE(c);
  CHECK_FALSE(c->ana_supported());
  CHECK_FALSE(c->multi_ctrl());
  CHECK_FALSE(c->tbkas());
  CHECK_FALSE(c->sgl_supported());
  CHECK(c->sn.empty());
  CHECK(c->subnqn.empty());

  b[536] = 0x02;  // SGLS 10b: supported with dword alignment
  b[76] = 0x08;   // ANA only
  c = parse_identify_controller(bytes(b));
  REQUIRE(c);
  CHECK(c->sgl_supported());
  CHECK(c->ana_supported());
  CHECK_FALSE(c->multi_ctrl());

  // A subnqn that fills all 256 bytes without a NUL is kept whole, not read past.
  std::memset(&b[768], 'q', 256);
  c = parse_identify_controller(bytes(b));
  REQUIRE(c);
  CHECK(c->subnqn == std::string(256, 'q'));

  // Longer buffers are fine (only the first 4096 bytes count); shorter ones are truncated.
  Buf longer(8192, 0);
  CHECK(parse_identify_controller(bytes(longer)));
  for (std::size_t n : {0, 1, 1803, 4095}) {
    const Buf short_buf(n, 0);
    const auto r = parse_identify_controller(bytes(short_buf));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    CHECK_THAT(r.error().message, Catch::Contains("Identify Controller") &&
                                      Catch::Contains(std::to_string(n) + " bytes"));
  }
}

TEST_CASE("Identify Namespace: fields and LBA format table", "[identify]") {
  const Buf b = make_id_ns(3, 0x12);  // 4 formats, in use: 2, metadata at end of LBA (bit 4)
  const auto ns = parse_identify_namespace(bytes(b));
  REQUIRE(ns);
  CHECK(ns->nsze == 1000);
  CHECK(ns->ncap == 900);
  CHECK(ns->nuse == 800);
  CHECK(ns->nsfeat == 0x12);
  CHECK(ns->nlbaf == 3);
  CHECK(ns->flbas == 0x12);
  CHECK(ns->nmic == 1);
  CHECK(ns->shared());
  CHECK(ns->active());
  CHECK(ns->extended_lba());
  CHECK(ns->anagrpid == 7);
  CHECK(array_hex(ns->nguid) == "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  CHECK(array_hex(ns->eui64) == "1011121314151617");
  CHECK(ns->has_nguid());
  CHECK(ns->has_eui64());
  REQUIRE(ns->lbaf.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(ns->lbaf[i].ms == i);
    CHECK(ns->lbaf[i].lbads == 9 + i);
    CHECK(ns->lbaf[i].rp == i);
  }
  CHECK(ns->lbaf_index == 2);
  CHECK(ns->lbads == 11);
  CHECK(ns->ms == 2);
  CHECK(ns->lba_size() == 2048);
}

TEST_CASE("Identify Namespace: FLBAS upper index bits (NVMe 2.0)", "[identify]") {
  CHECK(flbas_index(0x05, 0) == 5);
  CHECK(flbas_index(0x65, 16) == 5);   // nlbaf <= 16: bits 6:5 are reserved, ignored
  CHECK(flbas_index(0x25, 17) == 21);  // bits 6:5 = 01b -> index bit 4
  CHECK(flbas_index(0x7F, 63) == 63);

  Buf b = make_id_ns(63, 0x6F);  // 64 formats, index 0x0F | (3 << 4) = 63
  auto ns = parse_identify_namespace(bytes(b));
  REQUIRE(ns);
  CHECK(ns->lbaf.size() == 64);
  CHECK(ns->lbaf_index == 63);
  CHECK(ns->lbads == 9 + 63 % 4);
  CHECK(ns->ms == 63);
  CHECK_FALSE(ns->extended_lba());

  b = make_id_ns(20, 0x21);  // index 17
  ns = parse_identify_namespace(bytes(b));
  REQUIRE(ns);
  CHECK(ns->lbaf_index == 17);
  CHECK(ns->lbads == 9 + 17 % 4);
}

TEST_CASE("Identify Namespace: errors", "[identify]") {
  SECTION("truncated") {
    const Buf b(4095, 0);
    const auto r = parse_identify_namespace(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    CHECK_THAT(r.error().message, Catch::Contains("4095 bytes"));
  }
  SECTION("format index beyond NLBAF") {
    const Buf b = make_id_ns(1, 0x02);
    const auto r = parse_identify_namespace(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Malformed);
    CHECK_THAT(r.error().message, Catch::Contains("FLBAS 0x02") && Catch::Contains("NLBAF 1"));
  }
  SECTION("upper index bits beyond NLBAF") {
    const Buf b = make_id_ns(17, 0x40);  // index 32 > 17
    const auto r = parse_identify_namespace(bytes(b));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("format 32"));
  }
  SECTION("NLBAF beyond the table") {
    const Buf b = make_id_ns(64, 0);
    const auto r = parse_identify_namespace(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Malformed);
    CHECK_THAT(r.error().message, Catch::Contains("NLBAF 64"));
  }
  SECTION("LBADS too small or too large") {
    for (std::uint8_t lbads : {0, 8, 32, 255}) {
      Buf b = make_id_ns(0, 0);
      b[130] = lbads;
      const auto r = parse_identify_namespace(bytes(b));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::Malformed);
      CHECK_THAT(r.error().message,
                 Catch::Contains("LBADS " + std::to_string(lbads)) &&
                     Catch::Contains("offset 128"));
    }
    Buf b = make_id_ns(0, 0);
    b[130] = 31;  // 2 GiB: the largest accepted
    const auto ns = parse_identify_namespace(bytes(b));
    REQUIRE(ns);
    CHECK(ns->lba_size() == (std::uint64_t{1} << 31));
  }
}

TEST_CASE("Identify Namespace: an inactive NSID (nsze 0) is represented", "[identify]") {
  const Buf zeros(4096, 0);
  auto ns = parse_identify_namespace(bytes(zeros));
  REQUIRE(ns);
  CHECK_FALSE(ns->active());
  CHECK(ns->nsze == 0);
  CHECK(ns->lbads == 0);
  CHECK(ns->lba_size() == 0);
  CHECK_FALSE(ns->has_nguid());
  CHECK_FALSE(ns->has_eui64());
  CHECK(ns->lbaf.size() == 1);

  Buf b = make_id_ns(1, 0x05);  // an index beyond NLBAF is no error while inactive
  store_le64(mut(b), 0, 0);
  ns = parse_identify_namespace(bytes(b));
  REQUIRE(ns);
  CHECK(ns->lbads == 0);
}

TEST_CASE("NS ID descriptors: all four types", "[identify]") {
  Buf b(4096, 0);
  std::size_t off = 0;
  auto add = [&](std::uint8_t nidt, std::uint8_t nidl, std::uint8_t fill) {
    b[off] = nidt;
    b[off + 1] = nidl;
    for (std::size_t i = 0; i < nidl; ++i) b[off + 4 + i] = static_cast<std::uint8_t>(fill + i);
    off += 4 + nidl;
  };
  add(1, 8, 0x10);
  add(9, 5, 0xee);  // an unknown type: skipped by its NIDL
  add(2, 16, 0x20);
  add(3, 16, 0x30);
  add(4, 1, 0x02);
  const auto d = parse_ns_id_descriptors(bytes(b));
  REQUIRE(d);
  REQUIRE(d->eui64);
  CHECK(array_hex(*d->eui64) == "1011121314151617");
  REQUIRE(d->nguid);
  CHECK(array_hex(*d->nguid) == "202122232425262728292a2b2c2d2e2f");
  REQUIRE(d->uuid);
  CHECK(format_uuid(*d->uuid) == "30313233-3435-3637-3839-3a3b3c3d3e3f");
  REQUIRE(d->csi);
  CHECK(*d->csi == 2);

  // A list that fills the buffer exactly needs no terminator.
  const Buf exact(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(off));
  CHECK(parse_ns_id_descriptors(bytes(exact)));

  const Buf empty(4096, 0);
  const auto none = parse_ns_id_descriptors(bytes(empty));
  REQUIRE(none);
  CHECK_FALSE(none->eui64);
  CHECK_FALSE(none->nguid);
  CHECK_FALSE(none->uuid);
  CHECK_FALSE(none->csi);
  CHECK(parse_ns_id_descriptors(Bytes{}));
}

TEST_CASE("NS ID descriptors: errors", "[identify]") {
  Buf b(4096, 0);
  SECTION("NIDL wrong for its type") {
    const std::pair<std::uint8_t, std::uint8_t> cases[] = {
        {1, 16}, {2, 8}, {3, 15}, {4, 0}, {4, 4}};
    for (auto [nidt, nidl] : cases) {
      b.assign(4096, 0);
      b[0] = 4; b[1] = 1;  // a good CSI descriptor first, so the bad one is [1] at offset 5
      b[5] = nidt; b[6] = nidl;
      const auto r = parse_ns_id_descriptors(bytes(b));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::Malformed);
      CHECK_THAT(r.error().message, Catch::Contains("descriptor 1 at offset 5") &&
                                        Catch::Contains("NIDL " + std::to_string(nidl)));
    }
  }
  SECTION("descriptor runs past the end") {
    const Buf short_list = {3, 16, 0, 0, 1, 2, 3};
    auto r = parse_ns_id_descriptors(bytes(short_list));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    CHECK_THAT(r.error().message, Catch::Contains("descriptor 0 at offset 0") &&
                                      Catch::Contains("7-byte list"));
    const Buf header_only = {2, 16};  // not even a whole header
    r = parse_ns_id_descriptors(bytes(header_only));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    // Unknown types are skipped by NIDL, but NIDL still must fit: chain 259-byte ones.
    std::size_t off = 0;
    while (off + 4 + 255 <= 4096) {
      b[off] = 0x80; b[off + 1] = 255;
      off += 4 + 255;
    }
    b[off] = 0x80; b[off + 1] = 255;  // this one runs past 4096
    r = parse_ns_id_descriptors(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    CHECK_THAT(r.error().message, Catch::Contains("offset " + std::to_string(off)));
  }
  SECTION("a type twice") {
    b[0] = 3; b[1] = 16;
    b[20] = 3; b[21] = 16;
    const auto r = parse_ns_id_descriptors(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Malformed);
    CHECK_THAT(r.error().message, Catch::Contains("descriptor 1 at offset 20") &&
                                      Catch::Contains("second UUID"));
  }
}

TEST_CASE("Active NS list", "[identify]") {
  Buf b(4096, 0);
  auto m = mut(b);
  store_le32(m, 0, 1); store_le32(m, 4, 2); store_le32(m, 8, 1000); store_le32(m, 16, 5);
  auto r = parse_active_ns_list(bytes(b));
  REQUIRE(r);
  CHECK(*r == std::vector<std::uint32_t>{1, 2, 1000});  // ends at the first 0

  for (std::size_t i = 0; i < 1024; ++i) store_le32(m, 4 * i, static_cast<std::uint32_t>(i + 1));
  r = parse_active_ns_list(bytes(b));
  REQUIRE(r);
  CHECK(r->size() == 1024);
  CHECK(r->back() == 1024);

  CHECK(parse_active_ns_list(Bytes{})->empty());

  b.assign(4096, 0);
  store_le32(m, 0, 3); store_le32(m, 4, 3);
  r = parse_active_ns_list(bytes(b));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Malformed);
  CHECK_THAT(r.error().message, Catch::Contains("entry 1 at offset 4") &&
                                    Catch::Contains("strictly increasing"));
  store_le32(m, 4, 2);
  CHECK_FALSE(parse_active_ns_list(bytes(b)));
  store_le32(m, 4, 0xFFFFFFFF);
  r = parse_active_ns_list(bytes(b));
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("broadcast"));

  const Buf odd(4093, 0);
  r = parse_active_ns_list(bytes(odd));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Malformed);
  CHECK_THAT(r.error().message, Catch::Contains("4093 bytes"));
}

// ---- golden data from real targets -----------------------------------------------------------

TEST_CASE("Identify Controller from nvmet and SPDK captures", "[identify]") {
  for (const auto& file : test::capture_files(test::CaptureSet::FirstWave)) {
    const auto all = payloads(file, "(Identify CNS 1)");
    INFO(file);
    REQUIRE(all.size() == 2);  // one per path
    std::vector<std::uint16_t> cntlids;
    for (const auto& p : all) {
      INFO(p.conn << ": " << p.note);
      const auto c = parse_identify_controller(bytes(p.data));
      REQUIRE(c);
      cntlids.push_back(c->cntlid);
      CHECK(c->cmic == 0x0b);
      CHECK(c->ana_supported());
      CHECK(c->multi_ctrl());
      CHECK(c->sgl_supported());
      CHECK(c->anatt == 10);
      CHECK(c->sqes == 0x66);
      CHECK(c->cqes == 0x44);
      CHECK(c->oaes == 0x900);
      CHECK(c->aerl == 3);
      CHECK(c->crdt == std::array<std::uint16_t, 3>{0, 0, 0});
      CHECK(c->icdoff == 0);
      if (is_nvmet(file)) {
        CHECK(c->vid == 0);
        CHECK(c->sn == "rt-mpath-0001");
        CHECK(c->mn == "Linux");
        CHECK(c->fr == "6.1.0-56");
        CHECK(c->subnqn == "nqn.2026-01.io.example:mpath-test");
        CHECK(c->ver == 0x10300);
        CHECK(c->ctratt == 0x41);
        CHECK(c->tbkas());
        CHECK(c->kas == 10);
        CHECK(c->mdts == 0);
        CHECK(c->anacap == 0x1f);
        CHECK(c->anagrpmax == 128);
        CHECK(c->nanagrpid == 128);
        CHECK(c->ioccsz == 1028);
        CHECK(c->maxcmd == 1024);
        CHECK(c->nn == 1024);
        CHECK(c->mnan == 1024);
        CHECK(c->oncs == 0xc);
        CHECK(c->vwc == 0x1);
        CHECK(c->sgls == 0x100001);
        CHECK(c->lpa == 0x7);
      } else {
        CHECK(c->vid == 0x8086);
        CHECK(c->ssvid == 0x8086);
        CHECK(c->ieee == 0x5cd2e4);  // bytes e4 d2 5c: Intel's OUI 5C-D2-E4
        CHECK(c->sn == "SPDK00000000000001");
        CHECK(c->mn == "SPDK_anchor");
        CHECK(c->fr == "26.09");
        CHECK(c->subnqn == "nqn.2016-06.io.spdk:cnode1");
        CHECK(c->ver == 0x20000);
        CHECK(c->ctratt == 0x1);
        CHECK_FALSE(c->tbkas());
        CHECK(c->kas == 100);
        CHECK(c->mdts == 5);
        CHECK(c->anacap == 0x47);
        CHECK(c->anagrpmax == 32);
        CHECK(c->nanagrpid == 32);
        CHECK(c->ioccsz == 260);
        CHECK(c->maxcmd == 128);
        CHECK(c->nn == 32);
        CHECK(c->mnan == 32);
        CHECK(c->oncs == 0x12d);
        CHECK(c->vwc == 0x5);
        CHECK(c->sgls == 0x100005);
        CHECK(c->lpa == 0x26);
      }
    }
    CHECK(cntlids[0] != cntlids[1]);  // two controllers, one per port
  }
}

TEST_CASE("Identify Namespace and descriptors from nvmet and SPDK captures", "[identify]") {
  for (const auto& file : test::capture_files()) {
    INFO(file);
    const auto lists = payloads(file, "(Identify CNS 2)");
    REQUIRE(lists.size() == 2);
    for (const auto& p : lists) {
      const auto nsids = parse_active_ns_list(bytes(p.data));
      REQUIRE(nsids);
      CHECK(*nsids == (is_nvmet(file) ? std::vector<std::uint32_t>{1, 2}
                                      : std::vector<std::uint32_t>{1}));
    }
    for (std::uint32_t nsid : {1u, 2u}) {
      const std::string tag = " nsid " + std::to_string(nsid) + ")";
      const auto id_ns = payloads(file, "(Identify CNS 0" + tag);
      const auto descs = payloads(file, "(Identify CNS 3" + tag);
      const std::size_t paths = (!is_nvmet(file) && nsid == 2) ? 0 : 2;
      REQUIRE(id_ns.size() == paths);
      REQUIRE(descs.size() == paths);
      for (std::size_t i = 0; i < paths; ++i) {
        INFO(id_ns[i].conn << ": " << id_ns[i].note);
        const auto ns = parse_identify_namespace(bytes(id_ns[i].data));
        REQUIRE(ns);
        const auto d = parse_ns_id_descriptors(bytes(descs[i].data));
        REQUIRE(d);
        CHECK(ns->active());
        CHECK(ns->shared());
        CHECK(ns->nlbaf == 0);
        CHECK(ns->lbaf_index == 0);
        CHECK(ns->ms == 0);
        CHECK_FALSE(ns->has_eui64());
        CHECK_FALSE(d->eui64);
        REQUIRE(d->nguid);
        REQUIRE(d->uuid);
        CHECK(*d->nguid == ns->nguid);  // the descriptor and Identify Namespace agree
        if (is_nvmet(file)) {
          CHECK(ns->nsze == 131072);
          CHECK(ns->lbads == 9);
          CHECK(ns->lba_size() == 512);
          CHECK(ns->anagrpid == nsid);
          CHECK(array_hex(ns->nguid) == "0123456789abcdef000000000000000" + std::to_string(nsid));
          CHECK(format_uuid(*d->uuid) ==
                "9c0b5e2a-6f1d-4c3b-8a7e-00000000000" + std::to_string(nsid));
          REQUIRE(d->csi);
          CHECK(*d->csi == 0);
        } else {
          CHECK(ns->nsze == 262144);
          CHECK(ns->lbads == 12);
          CHECK(ns->lba_size() == 4096);
          CHECK(ns->anagrpid == 1);
          CHECK(format_uuid(*d->uuid) == "062e2243-119e-4d1b-98eb-a3aa96e46ed4");
          CHECK(*d->uuid == ns->nguid);  // SPDK derives the NGUID from the bdev UUID
          CHECK_FALSE(d->csi);           // SPDK sends no CSI descriptor
        }
      }
    }
  }
}

TEST_CASE("Every Identify payload in every capture parses", "[identify]") {
  std::size_t count = 0;
  for (const auto& file : test::capture_files()) {
    for (const auto& p : payloads(file, "(Identify CNS ")) {
      INFO(file << " " << p.conn << ": " << p.note);
      if (p.note.find("(Identify CNS 1)") != std::string::npos) {
        CHECK(parse_identify_controller(bytes(p.data)));
      } else if (p.note.find("(Identify CNS 0 ") != std::string::npos) {
        CHECK(parse_identify_namespace(bytes(p.data)));
      } else if (p.note.find("(Identify CNS 2)") != std::string::npos) {
        CHECK(parse_active_ns_list(bytes(p.data)));
      } else if (p.note.find("(Identify CNS 3 ") != std::string::npos) {
        CHECK(parse_ns_id_descriptors(bytes(p.data)));
      } else {
        FAIL("unexpected Identify payload");
      }
      ++count;
    }
  }
  // nvmet 6.1: 3 sessions x 2 paths x (1+1+2+2); SPDK: 3 x 2 x (1+1+1+1); nvmet 6.12 DH-HMAC-CHAP:
  // 2 sessions x 2 paths x (1+1+2+2).
  CHECK(count == 3 * 2 * 6 + 3 * 2 * 4 + 2 * 2 * 6);
}

}  // namespace nvmemp::wire
