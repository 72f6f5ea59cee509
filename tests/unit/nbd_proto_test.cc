// NBD server codec: the handshake byte for byte per the NBD protocol document, request
// decoding and validation in the transmission phase, reply encoding and error mapping.
#include "nbd_proto.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace nbd = nvmemp::nbd;
using Bytes = std::vector<std::uint8_t>;

namespace {

// "4e42 444d ..." -> bytes; spaces are ignored.
Bytes hex(std::string_view s) {
  Bytes out;
  int nibble = -1;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      continue;
    }
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(nibble << 4 | v));
      nibble = -1;
    }
  }
  return out;
}

// What a client sends, built field by field (big-endian, as the spec says).
struct Wire {
  Bytes b;
  Wire& u16(std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
    return *this;
  }
  Wire& u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    return u16(static_cast<std::uint16_t>(v));
  }
  Wire& u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    return u32(static_cast<std::uint32_t>(v));
  }
  Wire& str(std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Wire& raw(const Bytes& x) {
    b.insert(b.end(), x.begin(), x.end());
    return *this;
  }
  Wire& option(std::uint32_t opt, const Bytes& data) {
    u64(nbd::kIHaveOpt).u32(opt).u32(static_cast<std::uint32_t>(data.size()));
    return raw(data);
  }
  Wire& go(std::uint32_t opt, std::string_view name, std::vector<std::uint16_t> infos) {
    Wire d;
    d.u32(static_cast<std::uint32_t>(name.size())).str(name).u16(static_cast<std::uint16_t>(infos.size()));
    for (auto i : infos) {
      d.u16(i);
    }
    return option(opt, d.b);
  }
  Wire& request(std::uint16_t flags, std::uint16_t type, std::uint64_t cookie, std::uint64_t offset,
                std::uint32_t length) {
    return u32(nbd::kRequestMagic).u16(flags).u16(type).u64(cookie).u64(offset).u32(length);
  }
};

// An option reply as the server must send it.
Bytes reply(std::uint32_t opt, std::uint32_t type, const Bytes& data = {}) {
  Wire w;
  w.u64(0x3e889045565a9ULL).u32(opt).u32(type).u32(static_cast<std::uint32_t>(data.size())).raw(data);
  return w.b;
}

std::vector<nbd::ExportInfo> exports() {
  nbd::ExportInfo ns1;
  ns1.name = "ns1";
  ns1.description = "nvme-mpath ns1";
  ns1.size = 1 << 20;
  ns1.can_flush = ns1.can_fua = ns1.can_trim = ns1.can_write_zeroes = ns1.can_multi_conn = true;
  ns1.min_block = 512;
  ns1.pref_block = 4096;
  ns1.max_block = 128 * 1024;
  nbd::ExportInfo ro;
  ro.name = "ro";
  ro.size = 64 * 1024;
  ro.read_only = true;
  ro.can_flush = ro.can_fua = ro.can_trim = true;  // write-side ones are not announced
  return {ns1, ro};
}

// Feeds everything in one call; fails the test on a protocol error.
struct Harness {
  nbd::ServerSession s{exports()};
  Bytes out;
  std::vector<nbd::Request> reqs;

  nvmemp::Result<void> feed(const Bytes& in) { return s.feed(in, out, reqs); }
  void ok(const Bytes& in) {
    auto r = feed(in);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
  }
  Bytes take() {
    Bytes o;
    o.swap(out);
    return o;
  }
  // Handshake with GO on ns1 (with or without block sizes), leaving the output empty.
  void go_ns1(bool block_sizes) {
    Wire w;
    if (s.consumed() == 0) {
      w.u32(3);  // client flags, unless already sent
    }
    w.go(nbd::kOptGo, "ns1", block_sizes ? std::vector<std::uint16_t>{nbd::kInfoBlockSize}
                                                 : std::vector<std::uint16_t>{});
    ok(w.b);
    REQUIRE(s.phase() == nbd::Phase::Transmission);
    out.clear();
  }
};

const Bytes kInfoExportNs1 = hex("0000 0000000000100000 016d");   // size 1 MiB, flags 0x16d
const Bytes kInfoBlockNs1 = hex("0003 00000200 00001000 00020000");  // 512 / 4096 / 128 KiB

}  // namespace

TEST_CASE("NBD greeting is NBDMAGIC, IHAVEOPT, FIXED_NEWSTYLE|NO_ZEROES", "[nbd]") {
  nbd::ServerSession s(exports());
  CHECK(s.greeting() == hex("4e42444d41474943 49484156454f5054 0003"));
  CHECK(s.phase() == nbd::Phase::Handshake);
}

TEST_CASE("NBD OPT_GO with NBD_INFO_BLOCK_SIZE: byte for byte, block sizes negotiated", "[nbd]") {
  Harness h;
  // Client flags FIXED_NEWSTYLE|NO_ZEROES; NBD_OPT_GO "ns1" with one info request (BLOCK_SIZE).
  h.ok(hex("00000003 49484156454f5054 00000007 0000000b 00000003 6e7331 0001 0003"));
  const Bytes expected = hex(
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
  Harness h;
  Wire w;
  // libnbd's full_info without request_block_size: NAME and DESCRIPTION, default export "".
  w.u32(3).go(nbd::kOptGo, "", {nbd::kInfoName, nbd::kInfoDescription, 0x7777 /* unknown: ignored */});
  h.ok(w.b);
  Bytes expected;
  for (const Bytes& part : {reply(7, nbd::kRepInfo, kInfoExportNs1), reply(7, nbd::kRepInfo, hex("0001 6e7331")),
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
    Harness h;
    h.ok(Wire().u32(3).option(nbd::kOptExportName, hex("6e7331")).b);
    CHECK(h.take() == hex("0000000000100000 016d"));
    CHECK(h.s.client_no_zeroes());
  }
  SECTION("client does not set NO_ZEROES") {
    Harness h;
    h.ok(Wire().u32(1).option(nbd::kOptExportName, hex("6e7331")).b);
    Bytes expected = hex("0000000000100000 016d");
    expected.resize(10 + 124, 0);
    CHECK(h.take() == expected);
  }
  SECTION("empty name is the default export; read-only flags") {
    nbd::ServerSession s({exports()[1]});
    Bytes out;
    std::vector<nbd::Request> reqs;
    REQUIRE(s.feed(Wire().u32(3).option(nbd::kOptExportName, {}).b, out, reqs));
    CHECK(out == hex("0000000000010000 0007"));  // HAS_FLAGS|READ_ONLY|SEND_FLUSH, no FUA/TRIM
  }
  Harness h;
  h.ok(Wire().u32(3).option(nbd::kOptExportName, hex("6e7331")).b);
  CHECK(h.s.phase() == nbd::Phase::Transmission);
  CHECK_FALSE(h.s.block_sizes_negotiated());
}

TEST_CASE("NBD OPT_LIST: one NBD_REP_SERVER per export, then ACK; data is invalid", "[nbd]") {
  Harness h;
  h.ok(Wire().u32(3).option(nbd::kOptList, {}).b);
  Bytes expected = reply(3, nbd::kRepServer, Wire().u32(3).str("ns1").str("nvme-mpath ns1").b);
  for (const Bytes& part : {reply(3, nbd::kRepServer, Wire().u32(2).str("ro").b), reply(3, nbd::kRepAck)}) {
    expected.insert(expected.end(), part.begin(), part.end());
  }
  CHECK(h.take() == expected);
  CHECK(h.s.phase() == nbd::Phase::Handshake);

  h.ok(Wire().option(nbd::kOptList, hex("00")).b);
  const Bytes out = h.take();
  REQUIRE(out.size() > 28);
  CHECK(Bytes(out.begin(), out.begin() + 16) == hex("0003e889045565a9 00000003 80000003"));
  CHECK(h.s.phase() == nbd::Phase::Handshake);
}

TEST_CASE("NBD OPT_INFO answers without leaving the handshake; GO follows", "[nbd]") {
  Harness h;
  h.ok(Wire().u32(3).go(nbd::kOptInfo, "ro", {nbd::kInfoBlockSize}).b);
  Bytes expected = reply(6, nbd::kRepInfo, hex("0000 0000000000010000 0007"));
  for (const Bytes& part : {reply(6, nbd::kRepInfo, hex("0003 00000001 00001000 02000000")), reply(6, nbd::kRepAck)}) {
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
  Harness h;
  h.ok(Wire().u32(3).option(nbd::kOptAbort, hex("01")).option(nbd::kOptList, {}).b);
  CHECK(h.take() == reply(2, nbd::kRepAck));
  CHECK(h.s.phase() == nbd::Phase::Closed);
  h.ok(hex("ffffffff"));
  CHECK(h.out.empty());
}

TEST_CASE("NBD unknown options and STARTTLS get NBD_REP_ERR_UNSUP and the handshake goes on", "[nbd]") {
  Harness h;
  h.ok(Wire().u32(3).option(0x1234, hex("aabbcc")).b);
  Bytes out = h.take();
  REQUIRE(out.size() >= 20);
  CHECK(Bytes(out.begin(), out.begin() + 16) == hex("0003e889045565a9 00001234 80000001"));
  const std::string msg(out.begin() + 20, out.end());
  CHECK(msg.find("4660") != std::string::npos);  // the message names the option

  for (std::uint32_t opt : {nbd::kOptStartTls, nbd::kOptStructuredReply, nbd::kOptExtendedHeaders,
                            nbd::kOptSetMetaContext, nbd::kOptListMetaContext}) {
    h.ok(Wire().option(opt, {}).b);
    out = h.take();
    REQUIRE(out.size() >= 20);
    CHECK(Bytes(out.begin(), out.begin() + 16) == Wire().u64(0x3e889045565a9ULL).u32(opt).u32(nbd::kRepErrUnsup).b);
  }
  h.go_ns1(true);
}

TEST_CASE("NBD unknown export: GO/INFO answer NBD_REP_ERR_UNKNOWN, EXPORT_NAME closes", "[nbd]") {
  Harness h;
  h.ok(Wire().u32(3).go(nbd::kOptGo, "nope", {}).b);
  Bytes out = h.take();
  REQUIRE(out.size() >= 20);
  CHECK(Bytes(out.begin() + 8, out.begin() + 16) == hex("00000007 80000006"));
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
    Harness h;
    h.ok(Wire().u32(3).u64(nbd::kIHaveOpt).u32(nbd::kOptGo).u32(100000).b);
    const Bytes chunk(1000, 0xab);
    for (int i = 0; i < 99; ++i) {
      h.ok(chunk);
      REQUIRE(h.out.empty());
    }
    h.ok(chunk);
    Bytes out = h.take();
    REQUIRE(out.size() >= 20);
    CHECK(Bytes(out.begin() + 8, out.begin() + 16) == hex("00000007 80000009"));
    h.go_ns1(true);  // the stream is still in step
  }
  SECTION("EXPORT_NAME longer than a string may be closes at once") {
    Harness h;
    auto r = h.feed(Wire().u32(3).u64(nbd::kIHaveOpt).u32(nbd::kOptExportName).u32(5000).b);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("5000") != std::string::npos);
  }
  SECTION("GO whose lengths disagree is NBD_REP_ERR_INVALID") {
    Harness h;
    h.ok(hex("00000003"));
    for (const Bytes& data : {hex("0000"), hex("00000009 6e7331 0000"), hex("00000003 6e7331 0002 0003"),
                              hex("00000003 6e7331 0000 00")}) {
      h.ok(Wire().option(nbd::kOptGo, data).b);
      Bytes out = h.take();
      REQUIRE(out.size() >= 16);
      CHECK(Bytes(out.begin() + 8, out.begin() + 16) == hex("00000007 80000003"));
      CHECK(h.s.phase() == nbd::Phase::Handshake);
    }
  }
  SECTION("too many options close the connection") {
    Harness h;
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
    Harness h;
    auto r = h.feed(hex("00000002"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("FIXED_NEWSTYLE") != std::string::npos);
  }
  SECTION("unknown client flag") {
    Harness h;
    auto r = h.feed(hex("00000007"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("0x7") != std::string::npos);
  }
  SECTION("option without IHAVEOPT") {
    Harness h;
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

TEST_CASE("NBD transmission: each command decoded", "[nbd]") {
  Harness h;
  h.go_ns1(true);
  Wire w;
  w.request(0, nbd::kCmdRead, 0x0102030405060708ULL, 4096, 8192);
  w.request(nbd::kCmdFlagFua, nbd::kCmdWrite, 2, 512, 1024).raw(Bytes(1024, 0x5a));
  w.request(0, nbd::kCmdFlush, 3, 0, 0);
  w.request(nbd::kCmdFlagFua, nbd::kCmdTrim, 4, 0, 65536);
  w.request(nbd::kCmdFlagNoHole, nbd::kCmdWriteZeroes, 5, 1 << 19, 1 << 19);
  w.request(0, nbd::kCmdRead, 6, 0, 0);  // zero length: legal, answered without I/O
  h.ok(w.b);
  CHECK(h.out.empty());  // replies are the caller's
  REQUIRE(h.reqs.size() == 6);
  const auto& rd = h.reqs[0];
  CHECK((rd.type == nbd::kCmdRead && rd.cookie == 0x0102030405060708ULL && rd.offset == 4096 && rd.length == 8192));
  CHECK((rd.error == 0 && !rd.unaligned && rd.data.empty() && !rd.fua()));
  const auto& wr = h.reqs[1];
  CHECK((wr.type == nbd::kCmdWrite && wr.cookie == 2 && wr.offset == 512 && wr.length == 1024 && wr.fua()));
  CHECK(wr.data == Bytes(1024, 0x5a));
  CHECK(wr.error == 0);
  CHECK((h.reqs[2].type == nbd::kCmdFlush && h.reqs[2].error == 0));
  CHECK((h.reqs[3].type == nbd::kCmdTrim && h.reqs[3].fua() && h.reqs[3].length == 65536 && h.reqs[3].error == 0));
  CHECK((h.reqs[4].type == nbd::kCmdWriteZeroes && h.reqs[4].flags == nbd::kCmdFlagNoHole && h.reqs[4].error == 0));
  CHECK((h.reqs[5].length == 0 && h.reqs[5].error == 0));
}

TEST_CASE("NBD WRITE gathered across 1-byte feeds", "[nbd]") {
  Harness h;
  h.go_ns1(true);
  Bytes payload(4096);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<std::uint8_t>(i * 7);
  }
  Wire w;
  w.request(0, nbd::kCmdWrite, 77, 8192, 4096).raw(payload).request(0, nbd::kCmdRead, 78, 0, 512);
  for (std::size_t i = 0; i < w.b.size(); ++i) {
    h.ok(Bytes{w.b[i]});
    const std::size_t write_end = nbd::kRequestHeaderLen + payload.size();
    CHECK(h.reqs.size() == (i + 1 < write_end ? 0u : i + 1 < w.b.size() ? 1u : 2u));
  }
  REQUIRE(h.reqs.size() == 2);
  CHECK(h.reqs[0].data == payload);
  CHECK(h.reqs[0].cookie == 77);
  CHECK(h.reqs[1].cookie == 78);

  // A zero-length WRITE completes with its header.
  h.reqs.clear();
  h.ok(Wire().request(0, nbd::kCmdWrite, 79, 0, 0).b);
  REQUIRE(h.reqs.size() == 1);
  CHECK((h.reqs[0].error == 0 && h.reqs[0].data.empty()));
}

TEST_CASE("NBD request with a bad magic is fatal", "[nbd]") {
  Harness h;
  h.go_ns1(true);
  const auto at = h.s.consumed();
  Wire w;
  w.request(0, nbd::kCmdRead, 1, 0, 512);
  w.b[0] = 0x12;  // the historic 0x12560953-ish magic
  auto r = h.feed(w.b);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == nvmemp::Errc::Malformed);
  CHECK(r.error().message.find("byte " + std::to_string(at)) != std::string::npos);
  CHECK(h.s.phase() == nbd::Phase::Closed);
  CHECK(h.reqs.empty());
  CHECK_FALSE(h.feed(Wire().request(0, nbd::kCmdRead, 2, 0, 512).b));
}

TEST_CASE("NBD read-only export: writes get EPERM, their payload is dropped", "[nbd]") {
  Harness h;
  h.ok(Wire().u32(3).go(nbd::kOptGo, "ro", {nbd::kInfoBlockSize}).b);
  Wire w;
  w.request(0, nbd::kCmdWrite, 1, 0, 4096).raw(Bytes(4096, 1));
  w.request(0, nbd::kCmdTrim, 2, 0, 4096);
  w.request(0, nbd::kCmdWriteZeroes, 3, 0, 4096);
  w.request(0, nbd::kCmdRead, 4, 0, 4096);
  w.request(nbd::kCmdFlagFua, nbd::kCmdRead, 5, 0, 4096);  // FUA was not announced here
  h.ok(w.b);
  REQUIRE(h.reqs.size() == 5);
  for (int i = 0; i < 3; ++i) {
    CHECK(h.reqs[i].error == nbd::kEPerm);
    CHECK(h.reqs[i].data.empty());
  }
  CHECK(h.reqs[3].error == 0);
  CHECK(h.reqs[4].error == nbd::kEInval);
}

TEST_CASE("NBD out of range: EINVAL for READ/TRIM, ENOSPC for WRITE/WRITE_ZEROES", "[nbd]") {
  Harness h;
  h.go_ns1(true);
  const std::uint64_t end = 1 << 20;
  Wire w;
  w.request(0, nbd::kCmdRead, 1, end - 512, 1024);
  w.request(0, nbd::kCmdWrite, 2, end, 512).raw(Bytes(512, 9));
  w.request(0, nbd::kCmdTrim, 3, end + 512, 512);
  w.request(0, nbd::kCmdWriteZeroes, 4, end - 512, 1024);
  w.request(0, nbd::kCmdRead, 5, ~std::uint64_t{0} - 511, 1024);  // offset + length wraps
  w.request(0, nbd::kCmdRead, 6, end - 512, 512);                  // the last block: fine
  w.request(0, nbd::kCmdRead, 7, end, 0);                          // empty at the end: fine
  h.ok(w.b);
  REQUIRE(h.reqs.size() == 7);
  CHECK(h.reqs[0].error == nbd::kEInval);
  CHECK(h.reqs[1].error == nbd::kENoSpc);
  CHECK(h.reqs[1].data.empty());
  CHECK(h.reqs[2].error == nbd::kEInval);
  CHECK(h.reqs[3].error == nbd::kENoSpc);
  CHECK(h.reqs[4].error == nbd::kEInval);
  CHECK(h.reqs[5].error == 0);
  CHECK(h.reqs[6].error == 0);
  CHECK(std::string(h.reqs[0].reason) == "beyond the end of the export");
}

TEST_CASE("NBD alignment, length limits, flags and unknown commands", "[nbd]") {
  SECTION("negotiated block sizes: unaligned is EINVAL") {
    Harness h;
    h.go_ns1(true);
    h.ok(Wire().request(0, nbd::kCmdRead, 1, 100, 512).request(0, nbd::kCmdTrim, 2, 512, 100).b);
    REQUIRE(h.reqs.size() == 2);
    CHECK((h.reqs[0].error == nbd::kEInval && !h.reqs[0].unaligned));
    CHECK(h.reqs[1].error == nbd::kEInval);
  }
  SECTION("not negotiated: unaligned is flagged, not refused") {
    Harness h;
    h.go_ns1(false);
    Wire w;
    w.request(0, nbd::kCmdWrite, 1, 100, 10).raw(Bytes(10, 3));
    h.ok(w.b);
    REQUIRE(h.reqs.size() == 1);
    CHECK((h.reqs[0].error == 0 && h.reqs[0].unaligned && h.reqs[0].data.size() == 10));
  }
  SECTION("lengths above max_block") {
    Harness h;
    h.go_ns1(true);
    Wire w;
    w.request(0, nbd::kCmdRead, 1, 0, 256 * 1024);
    w.request(0, nbd::kCmdWrite, 2, 0, 256 * 1024).raw(Bytes(256 * 1024, 4));
    w.request(0, nbd::kCmdWriteZeroes, 3, 0, 1 << 20);  // no payload: not bound by max_block
    w.request(0, nbd::kCmdTrim, 4, 0, 1 << 20);
    h.ok(w.b);
    REQUIRE(h.reqs.size() == 4);
    CHECK(h.reqs[0].error == nbd::kEInval);
    CHECK((h.reqs[1].error == nbd::kEInval && h.reqs[1].data.empty()));
    CHECK(h.reqs[2].error == 0);
    CHECK(h.reqs[3].error == 0);
    // A WRITE above 32 MiB is a denial of service the spec lets us close on.
    auto r = h.feed(Wire().request(0, nbd::kCmdWrite, 5, 0, nbd::kMaxPayload + 1).b);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("33554433") != std::string::npos);
  }
  SECTION("flags not allowed for the command, unknown commands, FLUSH fields") {
    Harness h;
    h.go_ns1(true);
    Wire w;
    w.request(0x80, nbd::kCmdRead, 1, 0, 512);
    w.request(nbd::kCmdFlagDf, nbd::kCmdRead, 2, 0, 512);
    w.request(nbd::kCmdFlagNoHole, nbd::kCmdWrite, 3, 0, 512).raw(Bytes(512, 0));
    w.request(nbd::kCmdFlagFastZero, nbd::kCmdWriteZeroes, 4, 0, 512);
    w.request(nbd::kCmdFlagReqOne, nbd::kCmdRead, 5, 0, 512);
    w.request(0, nbd::kCmdCache, 6, 0, 512);
    w.request(0, nbd::kCmdBlockStatus, 7, 0, 512);
    w.request(0, 99, 8, 0, 512);
    w.request(0, nbd::kCmdFlush, 9, 512, 0);
    w.request(nbd::kCmdFlagFua, nbd::kCmdRead, 10, 0, 512);  // FUA announced: accepted anywhere
    w.request(nbd::kCmdFlagFua, nbd::kCmdFlush, 11, 0, 0);
    h.ok(w.b);
    REQUIRE(h.reqs.size() == 11);
    for (int i = 0; i < 9; ++i) {
      INFO("request " << i << ": " << h.reqs[i].reason);
      CHECK(h.reqs[i].error == nbd::kEInval);
    }
    CHECK(h.reqs[2].data.empty());
    CHECK(h.reqs[9].error == 0);
    CHECK(h.reqs[10].error == 0);
  }
  SECTION("features not announced") {
    nbd::ExportInfo bare;
    bare.name = "bare";
    bare.size = 1 << 20;
    nbd::ServerSession s({bare});
    Bytes out;
    std::vector<nbd::Request> reqs;
    Wire w;
    w.u32(3).option(nbd::kOptExportName, {});
    w.request(0, nbd::kCmdFlush, 1, 0, 0).request(0, nbd::kCmdTrim, 2, 0, 512);
    w.request(0, nbd::kCmdWriteZeroes, 3, 0, 512).request(nbd::kCmdFlagFua, nbd::kCmdWrite, 4, 0, 1).raw({7});
    REQUIRE(s.feed(w.b, out, reqs));
    CHECK(out == hex("0000000000100000 0001"));
    REQUIRE(reqs.size() == 4);
    for (const auto& r : reqs) {
      CHECK(r.error == nbd::kEInval);
    }
  }
}

TEST_CASE("NBD DISC closes after the requests before it; nothing after counts", "[nbd]") {
  Harness h;
  h.go_ns1(true);
  Wire w;
  w.request(0, nbd::kCmdRead, 1, 0, 512).request(0, nbd::kCmdDisc, 2, 0, 0).request(0, nbd::kCmdRead, 3, 0, 512);
  h.ok(w.b);
  REQUIRE(h.reqs.size() == 1);
  CHECK(h.reqs[0].cookie == 1);
  CHECK(h.s.phase() == nbd::Phase::Closed);
  h.ok(hex("deadbeef"));
  CHECK(h.reqs.size() == 1);
}

TEST_CASE("NBD the outcome does not depend on how the stream is chunked", "[nbd]") {
  Wire w;
  w.u32(3).option(nbd::kOptList, {}).option(0x42, hex("0102")).go(nbd::kOptInfo, "ro", {1, 2, 3});
  w.go(nbd::kOptGo, "ns1", {nbd::kInfoBlockSize});
  for (int i = 0; i < 20; ++i) {
    w.request(i % 2 ? nbd::kCmdFlagFua : 0, nbd::kCmdWrite, i, 512 * i, 512 * (i % 3)).raw(Bytes(512 * (i % 3), 1));
    w.request(0, nbd::kCmdRead, 100 + i, 512 * i, 4096);
  }
  w.request(0, nbd::kCmdDisc, 999, 0, 0);
  Harness whole;
  whole.ok(w.b);
  REQUIRE(whole.reqs.size() == 40);
  for (std::size_t step : {1u, 3u, 7u, 29u, 500u}) {
    Harness chunked;
    for (std::size_t at = 0; at < w.b.size(); at += step) {
      chunked.ok(Bytes(w.b.begin() + static_cast<std::ptrdiff_t>(at),
                       w.b.begin() + static_cast<std::ptrdiff_t>(std::min(w.b.size(), at + step))));
    }
    CHECK(chunked.out == whole.out);
    CHECK(chunked.reqs == whole.reqs);
    CHECK(chunked.s.phase() == nbd::Phase::Closed);
  }
}

TEST_CASE("NBD simple reply encoding", "[nbd]") {
  Bytes out;
  const Bytes data = hex("a1a2a3");
  nbd::encode_simple_reply(0, 0x0102030405060708ULL, data, out);
  CHECK(out == hex("67446698 00000000 0102030405060708 a1a2a3"));
  out.clear();
  nbd::encode_simple_reply(nbd::kEInval, 0xffeeddccbbaa9988ULL, data, out);  // no data with an error
  CHECK(out == hex("67446698 00000016 ffeeddccbbaa9988"));
  std::uint8_t hdr[nbd::kSimpleReplyHeaderLen];
  nbd::encode_simple_reply_header(nbd::kENoSpc, 42, hdr);
  CHECK(Bytes(hdr, hdr + sizeof hdr) == hex("67446698 0000001c 000000000000002a"));
}

TEST_CASE("NBD error mapping from NVMe status and library errors", "[nbd]") {
  using nvmemp::Status;
  CHECK(nbd::error_from_status(Status(), nbd::kCmdRead) == 0);
  CHECK(nbd::error_from_status(Status::from_parts(0, 0x80), nbd::kCmdWrite) == nbd::kENoSpc);  // LBA range
  CHECK(nbd::error_from_status(Status::from_parts(0, 0x80), nbd::kCmdRead) == nbd::kEInval);
  CHECK(nbd::error_from_status(Status::from_parts(0, 0x81, true), nbd::kCmdWriteZeroes) == nbd::kENoSpc);
  CHECK(nbd::error_from_status(Status::from_parts(0, 0x20), nbd::kCmdWrite) == nbd::kEPerm);  // write protected
  CHECK(nbd::error_from_status(Status::from_parts(1, 0x82), nbd::kCmdWrite) == nbd::kEPerm);  // read-only range
  CHECK(nbd::error_from_status(Status::from_parts(2, 0x86), nbd::kCmdRead) == nbd::kEPerm);   // access denied
  CHECK(nbd::error_from_status(Status::from_parts(0, 0x02, true), nbd::kCmdTrim) == nbd::kEInval);
  CHECK(nbd::error_from_status(Status::from_parts(0, 0x01), nbd::kCmdWriteZeroes) == nbd::kEInval);
  CHECK(nbd::error_from_status(Status::from_parts(2, 0x81), nbd::kCmdRead) == nbd::kEIo);  // unrecovered read
  CHECK(nbd::error_from_status(Status::host_path_error(), nbd::kCmdRead) == nbd::kEIo);
  CHECK(nbd::error_from_status(Status::from_parts(0, 0x06), nbd::kCmdFlush) == nbd::kEIo);
  CHECK(nbd::error_from_status(Status::from_parts(3, 0x02), nbd::kCmdWrite) == nbd::kEIo);

  using nvmemp::Errc;
  CHECK(nbd::error_from_errc(Errc::InvalidArgument, 0) == nbd::kEInval);
  CHECK(nbd::error_from_errc(Errc::Unsupported, 0) == nbd::kEInval);
  CHECK(nbd::error_from_errc(Errc::Unsupported, nbd::kCmdFlagFastZero) == nbd::kENotSup);
  CHECK(nbd::error_from_errc(Errc::Timeout, 0) == nbd::kEIo);
  CHECK(nbd::error_from_errc(Errc::Io, 0) == nbd::kEIo);
  CHECK(std::string(nbd::error_name(nbd::kEShutdown)) == "NBD_ESHUTDOWN");
  CHECK(std::string(nbd::command_name(nbd::kCmdWriteZeroes)) == "NBD_CMD_WRITE_ZEROES");
  CHECK(std::string(nbd::option_name(nbd::kOptGo)) == "NBD_OPT_GO");
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
