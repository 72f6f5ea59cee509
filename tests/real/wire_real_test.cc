// Our wire codec against the Linux kernel's NVMe/TCP target: a target nobody here wrote.
#include <catch2/catch.hpp>

#include <chrono>

#include "real/real_target.h"
#include "support/tcp_client.h"
#include "wire/pdu_codec.h"
#include "wire/rx_parser.h"

using namespace nvmemp;
using namespace nvmemp::wire;
using namespace std::chrono_literals;

namespace {

// Reads from `conn` until the parser yields one PDU; copies it out. Bounded by 50 reads.
std::vector<std::uint8_t> read_one_pdu(test::TcpClient& conn, RxParser& parser) {
  std::vector<std::uint8_t> got;
  for (int i = 0; i < 50 && got.empty(); ++i) {
    auto chunk = conn.recv_some(10s);
    REQUIRE(chunk.has_value());
    REQUIRE_FALSE(chunk->empty());  // EOF: the target closed the connection
    auto fed = parser.feed(*chunk, [&](const Pdu& p) {
      if (got.empty()) got.assign(p.raw.begin(), p.raw.end());
    });
    INFO((fed ? std::string() : fed.error().to_string()));
    REQUIRE(fed.has_value());
  }
  REQUIRE_FALSE(got.empty());
  return got;
}

}  // namespace

TEST_CASE("nvmet answers our ICReq with an ICResp our decoder accepts", "[real][wire]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  const bool digests = GENERATE(false, true);
  auto conn = test::TcpClient::connect("127.0.0.1", rt.port1, 5s);
  REQUIRE(conn.has_value());
  IcReq req;
  req.hdgst = digests;
  req.ddgst = digests;
  REQUIRE(conn->send_all(encode_pdu(req)).has_value());
  RxParser parser(RxParams{});
  const auto bytes = read_one_pdu(*conn, parser);
  auto pdu = decode_pdu(bytes, RxParams{});
  REQUIRE(pdu.has_value());
  const auto* resp = std::get_if<IcResp>(&pdu->body);
  REQUIRE(resp != nullptr);
  CHECK(resp->pfv == 0);
  CHECK(resp->cpda == 0);
  CHECK(resp->hdgst == digests);
  CHECK(resp->ddgst == digests);
  CHECK(resp->maxh2cdata == 4u << 20);
}
