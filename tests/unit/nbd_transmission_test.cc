// NBD server codec, transmission phase: request decoding and validation (read-only, range,
// alignment, lengths, flags), DISC, chunking of the stream, reply encoding and error mapping.
// The Wire builder and SessionHarness are in nbd_fixtures.h.
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

TEST_CASE("NBD transmission: each command decoded", "[nbd]") {
  SessionHarness h;
  h.go_ns1(true);
  Wire w;
  w.request(0, nbd::kCmdRead, 0x0102030405060708ULL, 4096, 8192);
  w.request(nbd::kCmdFlagFua, nbd::kCmdWrite, 2, 512, 1024).raw(ByteVec(1024, 0x5a));
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
  CHECK(wr.data == ByteVec(1024, 0x5a));
  CHECK(wr.error == 0);
  CHECK((h.reqs[2].type == nbd::kCmdFlush && h.reqs[2].error == 0));
  CHECK((h.reqs[3].type == nbd::kCmdTrim && h.reqs[3].fua() && h.reqs[3].length == 65536 && h.reqs[3].error == 0));
  CHECK((h.reqs[4].type == nbd::kCmdWriteZeroes && h.reqs[4].flags == nbd::kCmdFlagNoHole && h.reqs[4].error == 0));
  CHECK((h.reqs[5].length == 0 && h.reqs[5].error == 0));
}

TEST_CASE("NBD WRITE gathered across 1-byte feeds", "[nbd]") {
  SessionHarness h;
  h.go_ns1(true);
  ByteVec payload(4096);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<std::uint8_t>(i * 7);
  }
  Wire w;
  w.request(0, nbd::kCmdWrite, 77, 8192, 4096).raw(payload).request(0, nbd::kCmdRead, 78, 0, 512);
  for (std::size_t i = 0; i < w.b.size(); ++i) {
    h.ok(ByteVec{w.b[i]});
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
  SessionHarness h;
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
  SessionHarness h;
  h.ok(Wire().u32(3).go(nbd::kOptGo, "ro", {nbd::kInfoBlockSize}).b);
  Wire w;
  w.request(0, nbd::kCmdWrite, 1, 0, 4096).raw(ByteVec(4096, 1));
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
  SessionHarness h;
  h.go_ns1(true);
  const std::uint64_t end = 1 << 20;
  Wire w;
  w.request(0, nbd::kCmdRead, 1, end - 512, 1024);
  w.request(0, nbd::kCmdWrite, 2, end, 512).raw(ByteVec(512, 9));
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
    SessionHarness h;
    h.go_ns1(true);
    h.ok(Wire().request(0, nbd::kCmdRead, 1, 100, 512).request(0, nbd::kCmdTrim, 2, 512, 100).b);
    REQUIRE(h.reqs.size() == 2);
    CHECK((h.reqs[0].error == nbd::kEInval && !h.reqs[0].unaligned));
    CHECK(h.reqs[1].error == nbd::kEInval);
  }
  SECTION("not negotiated: unaligned is flagged, not refused") {
    SessionHarness h;
    h.go_ns1(false);
    Wire w;
    w.request(0, nbd::kCmdWrite, 1, 100, 10).raw(ByteVec(10, 3));
    h.ok(w.b);
    REQUIRE(h.reqs.size() == 1);
    CHECK((h.reqs[0].error == 0 && h.reqs[0].unaligned && h.reqs[0].data.size() == 10));
  }
  SECTION("lengths above max_block") {
    SessionHarness h;
    h.go_ns1(true);
    Wire w;
    w.request(0, nbd::kCmdRead, 1, 0, 256 * 1024);
    w.request(0, nbd::kCmdWrite, 2, 0, 256 * 1024).raw(ByteVec(256 * 1024, 4));
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
    SessionHarness h;
    h.go_ns1(true);
    Wire w;
    w.request(0x80, nbd::kCmdRead, 1, 0, 512);
    w.request(nbd::kCmdFlagDf, nbd::kCmdRead, 2, 0, 512);
    w.request(nbd::kCmdFlagNoHole, nbd::kCmdWrite, 3, 0, 512).raw(ByteVec(512, 0));
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
    ByteVec out;
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

TEST_CASE("NBD DISC closes after the requests before it, nothing after counts", "[nbd]") {
  SessionHarness h;
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
    w.request(i % 2 ? nbd::kCmdFlagFua : 0, nbd::kCmdWrite, i, 512 * i, 512 * (i % 3)).raw(ByteVec(512 * (i % 3), 1));
    w.request(0, nbd::kCmdRead, 100 + i, 512 * i, 4096);
  }
  w.request(0, nbd::kCmdDisc, 999, 0, 0);
  SessionHarness whole;
  whole.ok(w.b);
  REQUIRE(whole.reqs.size() == 40);
  for (std::size_t step : {1u, 3u, 7u, 29u, 500u}) {
    SessionHarness chunked;
    for (std::size_t at = 0; at < w.b.size(); at += step) {
      chunked.ok(ByteVec(w.b.begin() + static_cast<std::ptrdiff_t>(at),
                       w.b.begin() + static_cast<std::ptrdiff_t>(std::min(w.b.size(), at + step))));
    }
    CHECK(chunked.out == whole.out);
    CHECK(chunked.reqs == whole.reqs);
    CHECK(chunked.s.phase() == nbd::Phase::Closed);
  }
}

TEST_CASE("NBD simple reply encoding", "[nbd]") {
  ByteVec out;
  const ByteVec data = hex("a1a2a3");
  nbd::encode_simple_reply(0, 0x0102030405060708ULL, data, out);
  CHECK(out == hex("67446698 00000000 0102030405060708 a1a2a3"));
  out.clear();
  nbd::encode_simple_reply(nbd::kEInval, 0xffeeddccbbaa9988ULL, data, out);  // no data with an error
  CHECK(out == hex("67446698 00000016 ffeeddccbbaa9988"));
  std::uint8_t hdr[nbd::kSimpleReplyHeaderLen];
  nbd::encode_simple_reply_header(nbd::kENoSpc, 42, hdr);
  CHECK(ByteVec(hdr, hdr + sizeof hdr) == hex("67446698 0000001c 000000000000002a"));
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
