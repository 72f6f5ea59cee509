// DH-HMAC-CHAP against Linux nvmet 6.12: the captured authenticated sessions
// (../shared/real-target/captures, nvmet-6.12-dhchap-*.jsonl). With the null group every R1 the
// host sent and every R2 nvmet sent is recomputed from the capture and the test keys; every
// message decodes and re-encodes byte for byte.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "auth/dhchap_messages.h"
#include "auth/dhchap_response.h"
#include "auth/dhchap_secret.h"
#include "common/bytes.h"
#include "support/dhchap_capture.h"
#include "wire/sqe.h"

using namespace nvmemp;
using namespace nvmemp::auth;
using nvmemp::test::CapturedConnection;

namespace {

// One queue's exchange, decoded; each Send re-encodes byte for byte.
struct Exchange {
  Negotiate negotiate;
  Challenge challenge;
  Reply reply;
  Success1 success1;
};
Exchange decode_exchange(const std::vector<std::vector<std::uint8_t>>& msgs) {
  REQUIRE(msgs.size() == 5);  // Negotiate, Challenge, Reply, Success1, Success2
  Exchange x;
  auto neg = decode_negotiate(msgs[0]);
  REQUIRE(neg);
  CHECK(encode_negotiate(*neg) == msgs[0]);
  x.negotiate = *neg;
  auto ch = decode_challenge(msgs[1]);
  REQUIRE(ch);
  REQUIRE_FALSE(ch->failed);
  x.challenge = ch->challenge;
  CHECK(x.challenge.t_id == x.negotiate.t_id);
  auto reply = decode_reply(msgs[2], hash_length(x.challenge.hash));
  REQUIRE(reply);
  CHECK(encode_reply(*reply) == msgs[2]);
  x.reply = *reply;
  auto s1 = decode_success1(msgs[3]);
  REQUIRE(s1);
  REQUIRE_FALSE(s1->failed);
  x.success1 = s1->success;
  CHECK(msgs[4] == encode_success2(x.challenge.t_id));
  return x;
}

}  // namespace

TEST_CASE("DH-HMAC-CHAP: every R1 and R2 of the nvmet 6.12 null-group session recomputes", "[dhchap][capture]") {
  const auto keys = test::dhchap_capture_keys();
  int queues = 0;
  for (const auto& conn : test::split_connections(test::load_capture("nvmet-6.12-dhchap-null.jsonl"))) {
    const auto msgs = test::auth_messages(conn);
    if (msgs.empty()) continue;
    INFO(conn.label);
    const Exchange x = decode_exchange(msgs);
    const Challenge& c = x.challenge;
    CHECK(c.group == DhGroup::Null);
    CHECK(x.reply.cvalid);  // bidirectional: the host asked nvmet to prove itself

    auto ca1 = augmented_challenge(c.hash, c.c1, {});
    REQUIRE(ca1);
    auto r1 = host_response({c.hash, keys.kh.bytes(), ca1->bytes(), c.seqnum, c.t_id, 0, test::kDhchapHostNqn, test::kDhchapSubNqn});
    REQUIRE(r1);
    CHECK(*r1 == x.reply.r1);

    REQUIRE(x.success1.rvalid);
    auto ca2 = augmented_challenge(c.hash, x.reply.c2, {});
    REQUIRE(ca2);
    auto r2 = controller_response({c.hash, keys.kc.bytes(), ca2->bytes(), x.reply.seqnum, c.t_id, 0, test::kDhchapHostNqn, test::kDhchapSubNqn});
    REQUIRE(r2);
    CHECK(*r2 == x.success1.r2);
    ++queues;
  }
  CHECK(queues == 4);  // admin and I/O queue on both ports
}

TEST_CASE("DH-HMAC-CHAP: the nvmet 6.12 ffdhe2048 session's messages decode and re-encode", "[dhchap][capture]") {
  int queues = 0;
  for (const auto& conn : test::split_connections(test::load_capture("nvmet-6.12-dhchap-ffdhe2048.jsonl"))) {
    const auto msgs = test::auth_messages(conn);
    if (msgs.empty()) continue;
    INFO(conn.label);
    const Exchange x = decode_exchange(msgs);
    CHECK(x.challenge.hash == DhchapHash::Sha384);
    CHECK(x.challenge.group == DhGroup::Ffdhe2048);
    CHECK(x.challenge.dh_value.size() == 256);
    // The Receive buffer is AL (4096) bytes; the message re-encodes to its own length.
    const auto re = encode_challenge(x.challenge);
    CHECK(std::vector<std::uint8_t>(msgs[1].begin(), msgs[1].begin() + static_cast<std::ptrdiff_t>(re.size())) == re);
    CHECK(x.reply.dh_value.size() == 256);
    CHECK(x.success1.rvalid);
    CHECK(x.success1.r2.size() == 48);
    ++queues;
  }
  CHECK(queues == 4);
}

TEST_CASE("Authentication Send/Receive SQEs are the ones the captured host sent nvmet", "[dhchap][capture]") {
  int checked = 0;
  for (const auto& p : test::load_capture("nvmet-6.12-dhchap-null.jsonl")) {
    if (!p.h2c || p.name != "CapsuleCmd") continue;
    const bool send = p.note.rfind("Authentication Send", 0) == 0;
    const bool recv = p.note.rfind("Authentication Receive", 0) == 0;
    if (!send && !recv) continue;
    std::vector<std::uint8_t> captured(p.bytes.begin() + 8, p.bytes.begin() + 72);
    captured[2] = captured[3] = 0;  // the CID is the queue's business
    const std::uint32_t len = load_le32(Bytes(captured), 44);
    const wire::Sqe ours = send ? wire::make_auth_send(len, 8192) : wire::make_auth_receive();
    INFO(p.note);
    CHECK(std::vector<std::uint8_t>(ours.bytes.begin(), ours.bytes.end()) == captured);
    ++checked;
  }
  CHECK(checked == 20);  // per queue three Sends (Negotiate, Reply, Success2) and two Receives; 4 queues
}
