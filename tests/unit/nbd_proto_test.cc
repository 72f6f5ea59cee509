// NBD server codec: the handshake byte for byte per the NBD protocol document (options,
// errors, violations) and export validation. The transmission phase is in
// nbd_transmission_test.cc, the shared Wire builder and SessionHarness in nbd_fixtures.h.
#include "nbd_proto.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "nbd_fixtures.h"

namespace nbd = nvmemp::nbd;
using namespace nvmemp::nbd::fixtures;

namespace {

// An option reply as the server must send it.
ByteVec reply(std::uint32_t opt, std::uint32_t type, const ByteVec& data = {}) {
  Wire w;
  w.u64(0x3e889045565a9ULL).u32(opt).u32(type).u32(static_cast<std::uint32_t>(data.size())).raw(data);
  return w.b;
}

const ByteVec kInfoExportNs1 = hex("0000 0000000000100000 016d");   // size 1 MiB, flags 0x16d
const ByteVec kInfoBlockNs1 = hex("0003 00000200 00001000 00020000");  // 512 / 4096 / 128 KiB

}  // namespace

TEST_CASE("NBD greeting is NBDMAGIC, IHAVEOPT, FIXED_NEWSTYLE|NO_ZEROES", "[nbd]") {
  nbd::ServerSession s(exports());
  CHECK(s.greeting() == hex("4e42444d41474943 49484156454f5054 0003"));
  CHECK(s.phase() == nbd::Phase::Handshake);
}

TEST_CASE("NBD OPT_GO with NBD_INFO_BLOCK_SIZE: byte for byte, block sizes negotiated", "[nbd]") {
  SessionHarness h;
  // Client flags FIXED_NEWSTYLE|NO_ZEROES; NBD_OPT_GO "ns1" with one info request (BLOCK_SIZE).
  h.ok(hex("00000003 49484156454f5054 00000007 0000000b 00000003 6e7331 0001 0003"));
  const ByteVec expected = hex(
      "0003e889045565a9 00000007 00000003 0000000c 0000 0000000000100000 016d"         // INFO_EXPORT
      "0003e889045565a9 00000007 00000003 0000000e 0003 00000200 00001000 00020000"  // INFO_BLOCK_SIZE
      "0003e889045565a9 00000007 00000001 00000000");                                // ACK
  CHECK(h.take() == expected);
  CHECK(h.s.phase() == nbd::Phase::Transmission);
  CHECK(h.s.block_sizes_negotiated());
  REQUIRE(h.s.selected_export() != nullptr);
  CHECK(h.s.selected_export()->name == "ns1");
}

TEST_CASE("NBD OPT_GO without NBD_INFO_BLOCK_SIZE: constraints still sent, not negotiated", "[nbd]") {
  SessionHarness h;
  Wire w;
  // libnbd's full_info without request_block_size: NAME and DESCRIPTION, default export "".
  w.u32(3).go(nbd::kOptGo, "", {nbd::kInfoName, nbd::kInfoDescription, 0x7777 /* unknown: ignored */});
  h.ok(w.b);
  ByteVec expected;
  for (const ByteVec& part : {reply(7, nbd::kRepInfo, kInfoExportNs1), reply(7, nbd::kRepInfo, hex("0001 6e7331")),
                            reply(7, nbd::kRepInfo, Wire().u16(2).str("nvme-mpath ns1").b),
                            reply(7, nbd::kRepInfo, kInfoBlockNs1), reply(7, nbd::kRepAck)}) {
    expected.insert(expected.end(), part.begin(), part.end());
  }
  CHECK(h.take() == expected);
  CHECK(h.s.phase() == nbd::Phase::Transmission);
  CHECK_FALSE(h.s.block_sizes_negotiated());

  // So an unaligned request is passed on, flagged, for read-modify-write or EINVAL.
  h.ok(Wire().request(0, nbd::kCmdRead, 9, 100, 50).b);
  REQUIRE(h.reqs.size() == 1);
  CHECK(h.reqs[0].error == 0);
  CHECK(h.reqs[0].unaligned);
}

TEST_CASE("NBD OPT_EXPORT_NAME: size and flags, 124 zeroes unless NO_ZEROES", "[nbd]") {
  SECTION("client sets NO_ZEROES") {
    SessionHarness h;
    h.ok(Wire().u32(3).option(nbd::kOptExportName, hex("6e7331")).b);
    CHECK(h.take() == hex("0000000000100000 016d"));
    CHECK(h.s.client_no_zeroes());
  }
  SECTION("client does not set NO_ZEROES") {
    SessionHarness h;
    h.ok(Wire().u32(1).option(nbd::kOptExportName, hex("6e7331")).b);
    ByteVec expected = hex("0000000000100000 016d");
    expected.resize(10 + 124, 0);
    CHECK(h.take() == expected);
  }
  SECTION("empty name is the default export; read-only flags") {
    nbd::ServerSession s({exports()[1]});
    ByteVec out;
    std::vector<nbd::Request> reqs;
    REQUIRE(s.feed(Wire().u32(3).option(nbd::kOptExportName, {}).b, out, reqs));
    CHECK(out == hex("0000000000010000 0007"));  // HAS_FLAGS|READ_ONLY|SEND_FLUSH, no FUA/TRIM
  }
  SessionHarness h;
  h.ok(Wire().u32(3).option(nbd::kOptExportName, hex("6e7331")).b);
  CHECK(h.s.phase() == nbd::Phase::Transmission);
  CHECK_FALSE(h.s.block_sizes_negotiated());
}

TEST_CASE("NBD OPT_LIST: one NBD_REP_SERVER per export, then ACK, data is invalid", "[nbd]") {
  SessionHarness h;
  h.ok(Wire().u32(3).option(nbd::kOptList, {}).b);
  ByteVec expected = reply(3, nbd::kRepServer, Wire().u32(3).str("ns1").str("nvme-mpath ns1").b);
  for (const ByteVec& part : {reply(3, nbd::kRepServer, Wire().u32(2).str("ro").b), reply(3, nbd::kRepAck)}) {
    expected.insert(expected.end(), part.begin(), part.end());
  }
  CHECK(h.take() == expected);
  CHECK(h.s.phase() == nbd::Phase::Handshake);

  h.ok(Wire().option(nbd::kOptList, hex("00")).b);
  const ByteVec out = h.take();
  REQUIRE(out.size() > 28);
  CHECK(ByteVec(out.begin(), out.begin() + 16) == hex("0003e889045565a9 00000003 80000003"));
  CHECK(h.s.phase() == nbd::Phase::Handshake);
}

TEST_CASE("NBD OPT_INFO answers without leaving the handshake, GO follows", "[nbd]") {
  SessionHarness h;
  h.ok(Wire().u32(3).go(nbd::kOptInfo, "ro", {nbd::kInfoBlockSize}).b);
  ByteVec expected = reply(6, nbd::kRepInfo, hex("0000 0000000000010000 0007"));
  for (const ByteVec& part : {reply(6, nbd::kRepInfo, hex("0003 00000001 00001000 02000000")), reply(6, nbd::kRepAck)}) {
    expected.insert(expected.end(), part.begin(), part.end());
  }
  CHECK(h.take() == expected);  // ro: defaults 1 / 4096 / 32 MiB
  CHECK(h.s.phase() == nbd::Phase::Handshake);
  CHECK(h.s.selected_export() == nullptr);

  h.ok(Wire().go(nbd::kOptGo, "ro", {}).b);
  CHECK(h.s.phase() == nbd::Phase::Transmission);
  CHECK(h.s.selected_export()->name == "ro");
}

TEST_CASE("NBD OPT_ABORT: ACK, then closed and deaf", "[nbd]") {
  SessionHarness h;
  h.ok(Wire().u32(3).option(nbd::kOptAbort, hex("01")).option(nbd::kOptList, {}).b);
  CHECK(h.take() == reply(2, nbd::kRepAck));
  CHECK(h.s.phase() == nbd::Phase::Closed);
  h.ok(hex("ffffffff"));
  CHECK(h.out.empty());
}

TEST_CASE("NBD unknown options and STARTTLS get NBD_REP_ERR_UNSUP and the handshake goes on", "[nbd]") {
  SessionHarness h;
  h.ok(Wire().u32(3).option(0x1234, hex("aabbcc")).b);
  ByteVec out = h.take();
  REQUIRE(out.size() >= 20);
  CHECK(ByteVec(out.begin(), out.begin() + 16) == hex("0003e889045565a9 00001234 80000001"));
  const std::string msg(out.begin() + 20, out.end());
  CHECK(msg.find("4660") != std::string::npos);  // the message names the option

  for (std::uint32_t opt : {nbd::kOptStartTls, nbd::kOptStructuredReply, nbd::kOptExtendedHeaders,
                            nbd::kOptSetMetaContext, nbd::kOptListMetaContext}) {
    h.ok(Wire().option(opt, {}).b);
    out = h.take();
    REQUIRE(out.size() >= 20);
    CHECK(ByteVec(out.begin(), out.begin() + 16) == Wire().u64(0x3e889045565a9ULL).u32(opt).u32(nbd::kRepErrUnsup).b);
  }
  h.go_ns1(true);
}

TEST_CASE("NBD unknown export: GO/INFO answer NBD_REP_ERR_UNKNOWN, EXPORT_NAME closes", "[nbd]") {
  SessionHarness h;
  h.ok(Wire().u32(3).go(nbd::kOptGo, "nope", {}).b);
  ByteVec out = h.take();
  REQUIRE(out.size() >= 20);
  CHECK(ByteVec(out.begin() + 8, out.begin() + 16) == hex("00000007 80000006"));
  CHECK(std::string(out.begin() + 20, out.end()).find("'nope'") != std::string::npos);
  CHECK(h.s.phase() == nbd::Phase::Handshake);

  const auto at = h.s.consumed();
  auto r = h.feed(Wire().option(nbd::kOptExportName, hex("6e6f7065")).b);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == nvmemp::Errc::NotFound);
  CHECK(r.error().message.find("'nope'") != std::string::npos);
  CHECK(r.error().message.find("byte " + std::to_string(at)) != std::string::npos);
  CHECK(h.s.phase() == nbd::Phase::Closed);
  // Sticky.
  auto again = h.feed(Wire().option(nbd::kOptList, {}).b);
  REQUIRE_FALSE(again);
  CHECK(again.error().message == r.error().message);
}

TEST_CASE("NBD oversized and malformed options", "[nbd]") {
  SECTION("option data above the cap is skipped unbuffered and answered TOO_BIG") {
    SessionHarness h;
    h.ok(Wire().u32(3).u64(nbd::kIHaveOpt).u32(nbd::kOptGo).u32(100000).b);
    const ByteVec chunk(1000, 0xab);
    for (int i = 0; i < 99; ++i) {
      h.ok(chunk);
      REQUIRE(h.out.empty());
    }
    h.ok(chunk);
    ByteVec out = h.take();
    REQUIRE(out.size() >= 20);
    CHECK(ByteVec(out.begin() + 8, out.begin() + 16) == hex("00000007 80000009"));
    h.go_ns1(true);  // the stream is still in step
  }
  SECTION("EXPORT_NAME longer than a string may be closes at once") {
    SessionHarness h;
    auto r = h.feed(Wire().u32(3).u64(nbd::kIHaveOpt).u32(nbd::kOptExportName).u32(5000).b);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("5000") != std::string::npos);
  }
  SECTION("GO whose lengths disagree is NBD_REP_ERR_INVALID") {
    SessionHarness h;
    h.ok(hex("00000003"));
    for (const ByteVec& data : {hex("0000"), hex("00000009 6e7331 0000"), hex("00000003 6e7331 0002 0003"),
                              hex("00000003 6e7331 0000 00")}) {
      h.ok(Wire().option(nbd::kOptGo, data).b);
      ByteVec out = h.take();
      REQUIRE(out.size() >= 16);
      CHECK(ByteVec(out.begin() + 8, out.begin() + 16) == hex("00000007 80000003"));
      CHECK(h.s.phase() == nbd::Phase::Handshake);
    }
  }
  SECTION("too many options close the connection") {
    SessionHarness h;
    h.ok(hex("00000003"));
    Wire w;
    for (std::size_t i = 0; i < nbd::kMaxOptions; ++i) {
      w.option(0x99, {});
    }
    h.ok(w.b);
    auto r = h.feed(Wire().option(0x99, {}).b);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("more than 256 options") != std::string::npos);
  }
}

TEST_CASE("NBD handshake violations are fatal and say where", "[nbd]") {
  SECTION("client without FIXED_NEWSTYLE") {
    SessionHarness h;
    auto r = h.feed(hex("00000002"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("FIXED_NEWSTYLE") != std::string::npos);
  }
  SECTION("unknown client flag") {
    SessionHarness h;
    auto r = h.feed(hex("00000007"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("0x7") != std::string::npos);
  }
  SECTION("option without IHAVEOPT") {
    SessionHarness h;
    h.ok(Wire().u32(3).option(nbd::kOptList, {}).b);
    const auto at = h.s.consumed();
    auto r = h.feed(hex("4948415645"));  // partial header: no verdict yet
    REQUIRE(r);
    r = h.feed(hex("4f50ff 00000003 00000000"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == nvmemp::Errc::Malformed);
    CHECK(r.error().message.find("byte " + std::to_string(at)) != std::string::npos);
    CHECK(h.s.phase() == nbd::Phase::Closed);
  }
}

TEST_CASE("NBD export validation follows the block size rules", "[nbd]") {
  for (const auto& e : exports()) {
    CHECK(nbd::validate_export(e));
  }
  auto with = [](auto change) {
    nbd::ExportInfo e = exports()[0];
    change(e);
    return nbd::validate_export(e);
  };
  CHECK_FALSE(with([](auto& e) { e.min_block = 768; }));
  CHECK_FALSE(with([](auto& e) { e.min_block = 1 << 17; }));
  CHECK_FALSE(with([](auto& e) { e.pref_block = 256; }));
  CHECK_FALSE(with([](auto& e) { e.max_block = 1000; }));
  CHECK_FALSE(with([](auto& e) { e.max_block = 2048; }));  // below preferred
  CHECK_FALSE(with([](auto& e) { e.size = 1000; }));
  CHECK_FALSE(with([](auto& e) { e.name = std::string("a\0b", 3); }));
  CHECK_FALSE(with([](auto& e) { e.description.assign(5000, 'x'); }));
  auto r = with([](auto& e) { e.min_block = 768; });
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("'ns1'") != std::string::npos);
}
