// Log page parsers (wire/log_pages.h): hand-built ANA, discovery and changed-namespace logs
// checked field by field, every error path, and the logs nvmet and SPDK sent in
// ../shared/real-target/captures.
#include "wire/log_pages.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "support/wire_buf.h"

namespace nvmemp::wire {
namespace {

using test::Buf;
using test::bytes;
using test::mut;

// ---- capture data ----

using test::is_nvmet;
using test::Payload;
using test::payloads;

bool on_port(const Payload& p, const std::string& port) {
  return p.conn.find(":" + port + " ") != std::string::npos;
}

// ---- hand-built ANA log ------------------------------------------------------------------------

struct GroupSpec {
  std::uint32_t anagrpid;
  std::uint8_t state;
  std::vector<std::uint32_t> nsids;
  std::uint64_t chgcnt = 0;
};

Buf make_ana_log(std::uint64_t chgcnt, const std::vector<GroupSpec>& groups, bool rgo = false,
                 std::size_t pad = 0) {
  std::size_t size = 16;
  for (const auto& g : groups) size += 32 + (rgo ? 0 : 4 * g.nsids.size());
  Buf b(size + pad, 0);
  auto m = mut(b);
  store_le64(m, 0, chgcnt);
  store_le16(m, 8, static_cast<std::uint16_t>(groups.size()));
  std::size_t off = 16;
  for (const auto& g : groups) {
    store_le32(m, off, g.anagrpid);
    store_le32(m, off + 4, rgo ? 0 : static_cast<std::uint32_t>(g.nsids.size()));
    store_le64(m, off + 8, g.chgcnt);
    b[off + 16] = g.state;
    off += 32;
    if (!rgo) {
      for (auto nsid : g.nsids) {
        store_le32(m, off, nsid);
        off += 4;
      }
    }
  }
  return b;
}

// ---- hand-built discovery log -----------------------------------------------------------------

Buf make_discovery_log(std::uint64_t genctr, std::uint64_t numrec, std::size_t entries) {
  Buf b(1024 * (1 + entries), 0);
  auto m = mut(b);
  store_le64(m, 0, genctr);
  store_le64(m, 8, numrec);
  for (std::size_t i = 0; i < entries; ++i) {
    const std::size_t e = 1024 * (1 + i);
    b[e + 0] = 3;                                    // trtype tcp
    b[e + 1] = static_cast<std::uint8_t>(1 + i % 2);  // adrfam ipv4/ipv6
    b[e + 2] = static_cast<std::uint8_t>(1 + i % 3);  // subtype
    b[e + 3] = 0x04;
    store_le16(m, e + 4, static_cast<std::uint16_t>(10 + i));
    store_le16(m, e + 6, 0xFFFF);
    store_le16(m, e + 8, 32);
    store_le16(m, e + 10, 0x3);
    std::memset(&b[e + 32], ' ', 32);
    std::memcpy(&b[e + 32], "4420", 4);
    const std::string nqn = "nqn.2026-01.io.example:s" + std::to_string(i);
    std::memcpy(&b[e + 256], nqn.data(), nqn.size());
    std::memset(&b[e + 512], ' ', 256);
    std::memcpy(&b[e + 512], "fe80::1", 7);
    b[e + 768] = 1;  // sectype
  }
  return b;
}

}  // namespace

TEST_CASE("ANA state names", "[log_pages]") {
  CHECK(ana_state_name(AnaState::Optimized) == "optimized");
  CHECK(ana_state_name(AnaState::NonOptimized) == "non-optimized");
  CHECK(ana_state_name(AnaState::Inaccessible) == "inaccessible");
  CHECK(ana_state_name(AnaState::PersistentLoss) == "persistent-loss");
  CHECK(ana_state_name(AnaState::Change) == "change");
  CHECK(ana_state_name(static_cast<AnaState>(5)) == "invalid (0x5)");
  CHECK(ana_state_valid(AnaState::Change));
  CHECK_FALSE(ana_state_valid(static_cast<AnaState>(0)));
}

TEST_CASE("ANA log: hand-built, with NSID lists and RGO", "[log_pages]") {
  const std::vector<GroupSpec> groups = {
      {1, 0x01, {1, 3}, 7}, {2, 0x02, {}, 8}, {9, 0xF3, {2}, 9}, {4, 0x0F, {4}, 10},
      {5, 0x04, {5}, 11}};  // group 9: reserved state bits 7:4 set, ignored
  const Buf b = make_ana_log(42, groups, false, 100);  // trailing bytes of a fixed-size read
  const auto log = parse_ana_log(bytes(b));
  REQUIRE(log);
  CHECK(log->chgcnt == 42);
  CHECK(log->ngrps == 5);
  REQUIRE(log->groups.size() == 5);
  CHECK(log->groups[0].anagrpid == 1);
  CHECK(log->groups[0].nnsids == 2);
  CHECK(log->groups[0].chgcnt == 7);
  CHECK(log->groups[0].state == AnaState::Optimized);
  CHECK(log->groups[0].nsids == std::vector<std::uint32_t>{1, 3});
  CHECK(log->groups[1].state == AnaState::NonOptimized);
  CHECK(log->groups[1].nsids.empty());
  CHECK(log->groups[2].anagrpid == 9);
  CHECK(log->groups[2].state == AnaState::Inaccessible);
  CHECK(log->groups[2].nsids == std::vector<std::uint32_t>{2});
  CHECK(log->groups[3].state == AnaState::Change);
  CHECK(log->groups[4].state == AnaState::PersistentLoss);
  CHECK(log->groups[4].chgcnt == 11);

  const Buf r = make_ana_log(3, groups, true);
  const auto rgo = parse_ana_log(bytes(r), AnaLogForm::GroupsOnly);
  REQUIRE(rgo);
  REQUIRE(rgo->groups.size() == 5);
  CHECK(rgo->groups[2].anagrpid == 9);
  CHECK(rgo->groups[4].state == AnaState::PersistentLoss);
  for (const auto& g : rgo->groups) CHECK(g.nsids.empty());

  const Buf empty = make_ana_log(0, {});
  const auto none = parse_ana_log(bytes(empty));
  REQUIRE(none);
  CHECK(none->groups.empty());
}

TEST_CASE("ANA log: errors", "[log_pages]") {
  SECTION("header truncated") {
    const Buf b(15, 0);
    const auto r = parse_ana_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    CHECK_THAT(r.error().message, Catch::Contains("15 bytes"));
  }
  SECTION("NGRPS larger than the log") {
    Buf b = make_ana_log(1, {{1, 1, {1}}, {2, 1, {2}}});
    store_le16(mut(b), 8, 0xFFFF);
    const auto r = parse_ana_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    CHECK_THAT(r.error().message, Catch::Contains("group descriptor [2] at offset 88") &&
                                      Catch::Contains("88-byte log") &&
                                      Catch::Contains("NGRPS 65535"));
  }
  SECTION("NNSIDS huge: no overflow, an error") {
    for (std::uint32_t nnsids : {0x40000000u, 0xFFFFFFFFu, 3u}) {
      Buf b = make_ana_log(1, {{1, 1, {1}}, {2, 1, {2}}});
      store_le32(mut(b), 52 + 4, nnsids);
      const auto r = parse_ana_log(bytes(b));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::Truncated);
      CHECK_THAT(r.error().message,
                 Catch::Contains("group descriptor [1] at offset 52 (ANAGRPID 2)") &&
                     Catch::Contains("NNSIDS " + std::to_string(nnsids)) &&
                     Catch::Contains(std::to_string(std::uint64_t{nnsids} * 4) + " bytes") &&
                     Catch::Contains("88-byte log"));
    }
  }
  SECTION("log cut inside a list") {
    const Buf full = make_ana_log(1, {{1, 1, {1, 2, 3}}});
    for (std::size_t n = 16; n < full.size(); ++n) {
      const Buf cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      const auto r = parse_ana_log(bytes(cut));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::Truncated);
    }
    CHECK(parse_ana_log(bytes(full)));
  }
  SECTION("group id 0") {
    const Buf b = make_ana_log(1, {{1, 1, {1}}, {0, 1, {2}}});
    const auto r = parse_ana_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Malformed);
    CHECK_THAT(r.error().message, Catch::Contains("[1] at offset 52") &&
                                      Catch::Contains("ANAGRPID 0"));
  }
  SECTION("undefined states") {
    for (std::uint8_t state : {0x0, 0x5, 0xE}) {
      const Buf b = make_ana_log(1, {{3, state, {1}}});
      const auto r = parse_ana_log(bytes(b));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::Malformed);
      const std::string value = std::string("state 0x") + "0123456789abcdef"[state];
      CHECK_THAT(r.error().message, Catch::Contains("ANAGRPID 3") && Catch::Contains(value));
    }
  }
  SECTION("NSID 0 or broadcast in a group") {
    for (std::uint32_t nsid : {0u, 0xFFFFFFFFu}) {
      const Buf b = make_ana_log(1, {{1, 1, {5, nsid}}});
      const auto r = parse_ana_log(bytes(b));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::Malformed);
      CHECK_THAT(r.error().message, Catch::Contains("NSID [1] at offset 52"));
    }
  }
  SECTION("a group or an NSID twice") {
    Buf b = make_ana_log(1, {{1, 1, {1}}, {2, 2, {2}}, {1, 2, {3}}});
    auto r = parse_ana_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Malformed);
    CHECK_THAT(r.error().message, Catch::Contains("ANAGRPID 1 appears twice") &&
                                      Catch::Contains("[0] at offset 16") &&
                                      Catch::Contains("[2] at offset 88"));
    b = make_ana_log(1, {{1, 1, {1, 7}}, {2, 2, {7}}});
    r = parse_ana_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains("NSID 7 is listed twice") &&
                                      Catch::Contains("[0] at offset 52") &&
                                      Catch::Contains("[1] at offset 88"));
  }
  SECTION("NNSIDS in the RGO form") {
    const Buf b = make_ana_log(1, {{1, 1, {1}}});  // a log with lists, read as RGO
    const auto r = parse_ana_log(bytes(b), AnaLogForm::GroupsOnly);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Malformed);
    CHECK_THAT(r.error().message, Catch::Contains("RGO"));
  }
}

TEST_CASE("ANA log: buffer size as the kernel computes it", "[log_pages]") {
  CHECK(ana_log_max_size(0, 0) == 16);
  CHECK(ana_log_max_size(128, 1024) == 16 + 128 * 32 + 1024 * 4);  // nvmet
  CHECK(ana_log_max_size(32, 32) == 16 + 32 * 32 + 32 * 4);        // SPDK
  CHECK(ana_log_max_size(0xFFFFFFFF, 0xFFFFFFFF) ==
        16 + std::uint64_t{0xFFFFFFFF} * 32 + std::uint64_t{0xFFFFFFFF} * 4);
}

TEST_CASE("Discovery log: hand-built header and entries", "[log_pages]") {
  const Buf b = make_discovery_log(9, 3, 3);
  const auto h = parse_discovery_log_header(bytes(b));
  REQUIRE(h);
  CHECK(h->genctr == 9);
  CHECK(h->numrec == 3);
  CHECK(h->recfmt == 0);

  const auto log = parse_discovery_log(bytes(b));
  REQUIRE(log);
  CHECK(log->header.numrec == 3);
  REQUIRE(log->entries.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& e = log->entries[i];
    CHECK(e.trtype == 3);
    CHECK(e.is_tcp());
    CHECK(e.adrfam == 1 + i % 2);
    CHECK(e.subtype == 1 + i % 3);
    CHECK(e.treq == 0x04);
    CHECK(e.sqflow_disable_supported());
    CHECK(e.portid == 10 + i);
    CHECK(e.cntlid == 0xFFFF);
    CHECK(e.asqsz == 32);
    CHECK(e.eflags == 0x3);
    CHECK(e.trsvcid == "4420");
    CHECK(e.subnqn == "nqn.2026-01.io.example:s" + std::to_string(i));
    CHECK(e.traddr == "fe80::1");
    CHECK(e.sectype == 1);
  }
  CHECK(log->entries[0].is_referral());
  CHECK(log->entries[1].is_nvm_subsystem());
  CHECK(log->entries[2].is_current_discovery());
  CHECK(discovery_subtype_name(1) == "referral");
  CHECK(discovery_subtype_name(2) == "nvme");
  CHECK(discovery_subtype_name(3) == "current-discovery");
  CHECK(discovery_subtype_name(7) == "unknown (7)");

  // More than NUMREC entries' worth of bytes is fine; NUMREC 0 is an empty log.
  const Buf zero = make_discovery_log(1, 0, 2);
  const auto empty = parse_discovery_log(bytes(zero));
  REQUIRE(empty);
  CHECK(empty->entries.empty());
}

TEST_CASE("Discovery log: errors", "[log_pages]") {
  SECTION("header shorter than 1024 bytes") {
    const Buf b(1023, 0);
    const auto h = parse_discovery_log_header(bytes(b));
    REQUIRE_FALSE(h);
    CHECK(h.error().code == Errc::Truncated);
    CHECK_THAT(h.error().message, Catch::Contains("1023 bytes"));
    const auto r = parse_discovery_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    CHECK(parse_discovery_log_header(Bytes{}).error().code == Errc::Truncated);
  }
  SECTION("NUMREC more than the buffer holds") {
    const Buf b = make_discovery_log(1, 3, 2);
    const auto r = parse_discovery_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Truncated);
    CHECK_THAT(r.error().message, Catch::Contains("NUMREC 3 needs 4096 bytes") &&
                                      Catch::Contains("got 3072 bytes"));
  }
  SECTION("NUMREC that overflows 64 bits") {
    for (std::uint64_t numrec : {std::uint64_t{1} << 60, std::uint64_t{1} << 54,
                                 std::numeric_limits<std::uint64_t>::max()}) {
      const Buf b = make_discovery_log(1, numrec, 1);
      const auto r = parse_discovery_log(bytes(b));
      REQUIRE_FALSE(r);
      CHECK(r.error().code == Errc::Truncated);
      CHECK_THAT(r.error().message, Catch::Contains("NUMREC " + std::to_string(numrec)) &&
                                        Catch::Contains("more bytes than 64 bits can count"));
      CHECK_FALSE(discovery_log_size(numrec));
    }
    const auto max_ok = discovery_log_size((std::numeric_limits<std::uint64_t>::max() >> 10) - 1);
    REQUIRE(max_ok);
    CHECK(*max_ok == (std::numeric_limits<std::uint64_t>::max() & ~std::uint64_t{1023}));
    CHECK(discovery_log_size(3).value() == 4096);
    // A NUMREC that fits in 64 bits but not in the buffer names the size to read.
    const Buf b = make_discovery_log(1, std::uint64_t{1} << 40, 1);
    const auto r = parse_discovery_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, Catch::Contains(std::to_string((std::uint64_t{1} << 50) + 1024)));
  }
  SECTION("unknown record format") {
    Buf b = make_discovery_log(1, 1, 1);
    store_le16(mut(b), 16, 1);
    CHECK(parse_discovery_log_header(bytes(b)));  // the header itself still reads
    const auto r = parse_discovery_log(bytes(b));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::Unsupported);
    CHECK_THAT(r.error().message, Catch::Contains("RECFMT 1"));
  }
}

TEST_CASE("Changed Namespace List", "[log_pages]") {
  Buf b(4096, 0);
  auto m = mut(b);
  store_le32(m, 0, 4); store_le32(m, 4, 2); store_le32(m, 8, 9); store_le32(m, 16, 77);
  auto r = parse_changed_ns_list(bytes(b));
  REQUIRE(r);
  CHECK_FALSE(r->overflow);
  CHECK(r->nsids == std::vector<std::uint32_t>{4, 2, 9});  // ends at the first 0

  for (std::size_t i = 0; i < 1024; ++i) store_le32(m, 4 * i, static_cast<std::uint32_t>(i + 1));
  r = parse_changed_ns_list(bytes(b));
  REQUIRE(r);
  CHECK(r->nsids.size() == 1024);

  b.assign(4096, 0);
  store_le32(m, 0, 0xFFFFFFFF);
  r = parse_changed_ns_list(bytes(b));
  REQUIRE(r);
  CHECK(r->overflow);
  CHECK(r->nsids.empty());

  CHECK(parse_changed_ns_list(Bytes{})->nsids.empty());

  store_le32(m, 0, 1);
  store_le32(m, 4, 0xFFFFFFFF);
  r = parse_changed_ns_list(bytes(b));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Malformed);
  CHECK_THAT(r.error().message, Catch::Contains("entry 1 at offset 4"));

  const Buf odd(10, 0);
  r = parse_changed_ns_list(bytes(odd));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::Malformed);
  CHECK_THAT(r.error().message, Catch::Contains("10 bytes"));

  const Buf big(4100, 0);
  r = parse_changed_ns_list(bytes(big));
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message, Catch::Contains("4100 bytes"));
}

// ---- golden data from real targets -----------------------------------------------------------

TEST_CASE("ANA logs from nvmet and SPDK captures", "[log_pages]") {
  for (const auto& file : test::capture_files(test::CaptureSet::FirstWave)) {
    INFO(file);
    const auto logs = payloads(file, "(Get Log Page 0xc)");
    const bool aen = file.find("nosqflow") == std::string::npos;  // --aen runs read it twice more
    REQUIRE(logs.size() == (aen ? 4u : 2u));
    for (std::size_t i = 0; i < 2; ++i) {  // the bring-up reads, one per path
      const auto& p = logs[i];
      INFO(p.conn << ": " << p.note);
      const auto log = parse_ana_log(bytes(p.data));
      REQUIRE(log);
      if (is_nvmet(file)) {
        // Port 1 (14420) has both groups optimized, port 2 non-optimized; 2 groups, 88 bytes.
        REQUIRE(log->groups.size() == 2);
        for (std::uint32_t g = 0; g < 2; ++g) {
          CHECK(log->groups[g].anagrpid == g + 1);
          CHECK(log->groups[g].nsids == std::vector<std::uint32_t>{g + 1});
          CHECK(log->groups[g].chgcnt == log->chgcnt);  // nvmet: group count = log count
          CHECK(log->groups[g].state == (on_port(p, "14420") ? AnaState::Optimized
                                                             : AnaState::NonOptimized));
        }
        const Buf used(p.data.begin(), p.data.begin() + 88);
        CHECK(parse_ana_log(bytes(used)));
        CHECK(parse_ana_log(bytes(Buf(used.begin(), used.end() - 1))).error().code ==
              Errc::Truncated);
      } else {
        // SPDK lists only groups with namespaces: 1 group, 52 bytes, counts stay 0.
        CHECK(log->chgcnt == 0);
        REQUIRE(log->groups.size() == 1);
        CHECK(log->groups[0].anagrpid == 1);
        CHECK(log->groups[0].chgcnt == 0);
        CHECK(log->groups[0].nsids == std::vector<std::uint32_t>{1});
        CHECK(log->groups[0].state == (on_port(p, "4420") ? AnaState::Optimized
                                                          : AnaState::NonOptimized));
        const Buf used(p.data.begin(), p.data.begin() + 52);
        CHECK(parse_ana_log(bytes(used)));
        CHECK_FALSE(parse_ana_log(bytes(Buf(used.begin(), used.end() - 1))));
      }
    }
    // CHGCNT at the start: 4 (plain), 6 (digest), 8 (nosqflow) on nvmet; always 0 on SPDK.
    const auto first = parse_ana_log(bytes(logs[0].data));
    REQUIRE(first);
    if (is_nvmet(file)) {
      const std::uint64_t start = file.find("plain") != std::string::npos    ? 4
                                  : file.find("digest") != std::string::npos ? 6
                                                                             : 8;
      CHECK(first->chgcnt == start);
      if (aen) {
        const auto before = parse_ana_log(bytes(logs[2].data));
        const auto after = parse_ana_log(bytes(logs[3].data));
        REQUIRE(before);
        REQUIRE(after);
        CHECK(before->chgcnt == start);
        CHECK(before->groups[0].state == AnaState::Optimized);
        CHECK(after->chgcnt == start + 1);  // one state change
        CHECK(after->groups[0].state == AnaState::Inaccessible);
        CHECK(after->groups[1].state == AnaState::Optimized);
      }
    } else if (aen) {
      // SPDK's first path is 4421 (non-optimized); the AEN flips its group 1 to inaccessible.
      const auto before = parse_ana_log(bytes(logs[2].data));
      const auto after = parse_ana_log(bytes(logs[3].data));
      REQUIRE(before);
      REQUIRE(after);
      CHECK(before->groups[0].state == AnaState::NonOptimized);
      CHECK(after->groups[0].state == AnaState::Inaccessible);
      CHECK(after->chgcnt == 0);
    }
  }
}

TEST_CASE("Discovery logs from nvmet and SPDK captures", "[log_pages]") {
  for (const auto& file : test::capture_files(test::CaptureSet::FirstWave)) {
    INFO(file);
    const auto logs = payloads(file, "(Get Log Page 0x70)");
    // nvmet: two discovery controllers (one per port), SPDK: one; each read header then all.
    REQUIRE(logs.size() == (is_nvmet(file) ? 4u : 2u));
    for (std::size_t i = 0; i < logs.size(); i += 2) {
      const auto& head = logs[i];
      const auto& full = logs[i + 1];
      INFO(head.conn);
      REQUIRE(head.data.size() == 1024);
      const auto h = parse_discovery_log_header(bytes(head.data));
      REQUIRE(h);
      // The header-only read cannot hold the entries: the error says how much to read.
      const auto short_read = parse_discovery_log(bytes(head.data));
      REQUIRE_FALSE(short_read);
      CHECK(short_read.error().code == Errc::Truncated);
      CHECK(full.data.size() == discovery_log_size(h->numrec).value());
      CHECK_THAT(short_read.error().message,
                 Catch::Contains(std::to_string(full.data.size()) + " bytes"));

      const auto log = parse_discovery_log(bytes(full.data));
      REQUIRE(log);
      CHECK(log->header.genctr == h->genctr);
      CHECK(log->header.numrec == h->numrec);
      CHECK(log->header.recfmt == 0);
      for (const auto& e : log->entries) {
        CHECK(e.is_tcp());
        CHECK(e.adrfam == static_cast<std::uint8_t>(Adrfam::Ipv4));
        CHECK(e.traddr == "127.0.0.1");
        CHECK(e.cntlid == 0xFFFF);
        CHECK(e.sectype == 0);
      }
      const std::string disc = "nqn.2014-08.org.nvmexpress.discovery";
      if (is_nvmet(file)) {
        const bool port1 = on_port(head, "14420");
        const std::string self = port1 ? "14420" : "14421";
        const std::string other = port1 ? "14421" : "14420";
        const std::uint16_t self_id = port1 ? 1 : 2;
        CHECK(log->header.genctr == 5);
        REQUIRE(log->header.numrec == 3);
        const auto& e = log->entries;
        CHECK(e[0].subtype == 3);
        CHECK(e[1].subtype == 2);
        CHECK(e[2].subtype == 1);
        CHECK(e[0].subnqn == disc);
        CHECK(e[1].subnqn == "nqn.2026-01.io.example:mpath-test");
        CHECK(e[2].subnqn == disc);
        CHECK(e[0].treq == 0x4);
        CHECK(e[1].treq == 0x4);
        CHECK(e[2].treq == 0x0);
        CHECK(e[0].trsvcid == self);
        CHECK(e[1].trsvcid == self);
        CHECK(e[2].trsvcid == other);
        CHECK(e[0].portid == self_id);
        CHECK(e[1].portid == self_id);
        CHECK(e[2].portid == 3 - self_id);
        for (const auto& x : e) {
          CHECK(x.asqsz == 32);
          CHECK(x.eflags == 0);
        }
      } else {
        CHECK(log->header.genctr == 4);
        REQUIRE(log->header.numrec == 4);
        const auto& e = log->entries;
        const char* ports[] = {"4421", "4420", "4421", "4420"};
        for (std::size_t k = 0; k < 4; ++k) {
          CHECK(e[k].subtype == (k < 2 ? 3 : 2));
          CHECK(e[k].subnqn == (k < 2 ? disc : "nqn.2016-06.io.spdk:cnode1"));
          CHECK(e[k].trsvcid == ports[k]);  // space-padded on the wire
          CHECK(e[k].portid == (k % 2 == 0 ? 1 : 0));
          CHECK(e[k].treq == 0x2);
          CHECK(e[k].eflags == (k < 2 ? 0x3 : 0x0));
          CHECK(e[k].asqsz == 128);
        }
      }
    }
  }
}

TEST_CASE("Every log page payload in every capture parses", "[log_pages]") {
  std::size_t ana = 0;
  std::size_t disc = 0;
  for (const auto& file : test::capture_files()) {
    for (const auto& p : payloads(file, "(Get Log Page ")) {
      INFO(file << " " << p.conn << ": " << p.note);
      if (p.note.find("(Get Log Page 0xc)") != std::string::npos) {
        CHECK(parse_ana_log(bytes(p.data)));
        ++ana;
      } else if (p.note.find("(Get Log Page 0x70)") != std::string::npos) {
        CHECK(parse_discovery_log_header(bytes(p.data)));
        if (p.data.size() > 1024) {
          CHECK(parse_discovery_log(bytes(p.data)));
        }
        ++disc;
      } else {
        FAIL("unexpected log page");
      }
    }
  }
  // nvmet 6.1 plain, digest, nosqflow; SPDK plain, digest, nosqflow; nvmet 6.12 dhchap null, ffdhe2048.
  CHECK(ana == 4 + 4 + 2 + 4 + 4 + 2 + 2 + 2);
  CHECK(disc == 4 + 4 + 4 + 2 + 2 + 2 + 4 + 4);
}

}  // namespace nvmemp::wire
