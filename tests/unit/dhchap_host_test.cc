// The host side of DH-HMAC-CHAP (auth/dhchap_host.h): replaying nvmet 6.12's captured sessions
// byte for byte, every hash x group against a controller built from the codec, and the faults.
#include "auth/dhchap_host.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "auth/dhchap_response.h"
#include "auth/dhchap_secret.h"
#include "support/dhchap_capture.h"

using namespace nvmemp;
using namespace nvmemp::auth;
using Verdict = DhchapStep::Verdict;

namespace {

using Keys = test::DhchapCaptureKeys;
constexpr const char* kHostNqn = test::kDhchapHostNqn;
constexpr const char* kSubNqn = test::kDhchapSubNqn;

DhchapHostConfig config(const Keys& k, bool bidirectional) {
  DhchapHostConfig c;
  c.hostnqn = kHostNqn;
  c.subnqn = kSubNqn;
  c.host_key = k.kh.bytes();
  if (bidirectional) c.ctrl_key = k.kc.bytes();
  return c;
}

// A controller made of the codec and the response functions: answers one exchange.
struct TestController {
  TestController(const Keys& k, DhchapHash h, DhGroup g) : keys(k), hash(h), group(g) {}
  const Keys& keys;
  DhchapHash hash;
  DhGroup group;
  std::uint16_t t_id = 0;
  std::optional<DhKeyPair> kp;
  Challenge ch;

  std::vector<std::uint8_t> challenge(std::span<const std::uint8_t> negotiate) {
    auto n = decode_negotiate(negotiate);
    REQUIRE(n);
    t_id = n->t_id;
    ch.t_id = t_id;
    ch.hash = hash;
    ch.group = group;
    ch.seqnum = 0x11223344;
    ch.c1.assign(hash_length(hash), 0x5A);
    if (group != DhGroup::Null) {
      auto k = DhKeyPair::generate(group);
      REQUIRE(k);
      kp.emplace(std::move(*k));
      ch.dh_value = kp->public_value();
    }
    return encode_challenge(ch);
  }
  // Checks R1 and answers with R2 when asked (or with `r2_override`).
  std::vector<std::uint8_t> success1(std::span<const std::uint8_t> reply_bytes) {
    auto r = decode_reply(reply_bytes, hash_length(hash));
    REQUIRE(r);
    SecretBuf z;
    if (kp) {
      auto zz = kp->shared_secret(r->dh_value);
      REQUIRE(zz);
      z = std::move(*zz);
    }
    auto ca1 = augmented_challenge(hash, ch.c1, z.bytes());
    REQUIRE(ca1);
    auto r1 = host_response({hash, keys.kh.bytes(), ca1->bytes(), ch.seqnum, t_id, 0, kHostNqn, kSubNqn});
    REQUIRE(r1);
    if (*r1 != r->r1) return encode_failure1(t_id, AuthFailure::Failed);
    Success1 s{t_id, static_cast<std::uint8_t>(hash_length(hash)), false, {}};
    if (r->cvalid) {
      auto ca2 = augmented_challenge(hash, r->c2, z.bytes());
      REQUIRE(ca2);
      auto r2 = controller_response({hash, keys.kc.bytes(), ca2->bytes(), r->seqnum, t_id, 0, kHostNqn, kSubNqn});
      REQUIRE(r2);
      s.rvalid = true;
      s.r2 = *r2;
    }
    return encode_success1(s);
  }
};

}  // namespace

TEST_CASE("DH-HMAC-CHAP host: replays nvmet 6.12's null-group session byte for byte", "[dhchap][capture]") {
  const Keys keys = test::dhchap_capture_keys();
  int queues = 0;
  for (const auto& conn : test::split_connections(test::load_capture("nvmet-6.12-dhchap-null.jsonl"))) {
    const auto msgs = test::auth_messages(conn);
    if (msgs.empty()) continue;
    INFO(conn.label);
    REQUIRE(msgs.size() == 5);
    auto neg = decode_negotiate(msgs[0]);
    auto reply = decode_reply(msgs[2], 32);
    REQUIRE(neg);
    REQUIRE(reply);
    DhchapHostExchange x(config(keys, true), neg->t_id, DhchapNonces{reply->c2, reply->seqnum});
    CHECK(x.negotiate() == msgs[0]);
    DhchapStep s = x.on_challenge(msgs[1]);
    REQUIRE(s.verdict == Verdict::Continue);
    CHECK(s.send == msgs[2]);  // our Reply is the one nvmet accepted
    s = x.on_success1(msgs[3]);
    INFO(s.error.message);
    REQUIRE(s.verdict == Verdict::Done);  // nvmet's R2 verified
    CHECK(s.send == msgs[4]);
    CHECK(x.negotiated() == "dhchap sha256 null");
    ++queues;
  }
  CHECK(queues == 4);
}

TEST_CASE("DH-HMAC-CHAP host: every hash and group, one- and two-way, against a codec-built controller", "[dhchap]") {
  const Keys keys = test::dhchap_capture_keys();
  for (std::uint8_t h = 1; h <= 3; ++h) {
    for (std::uint8_t g = 0; g <= 5; ++g) {
      for (bool bidi : {false, true}) {
        TestController ctrl(keys, static_cast<DhchapHash>(h), static_cast<DhGroup>(g));
        DhchapHostExchange x(config(keys, bidi), static_cast<std::uint16_t>(100 + h * 10 + g));
        INFO(hash_name(ctrl.hash) << " " << dh_group_name(ctrl.group) << (bidi ? " bidirectional" : ""));
        DhchapStep s = x.on_challenge(ctrl.challenge(x.negotiate()));
        REQUIRE(s.verdict == Verdict::Continue);
        s = x.on_success1(ctrl.success1(s.send));
        INFO(s.error.message);
        REQUIRE(s.verdict == Verdict::Done);
        CHECK(s.send == (bidi ? encode_success2(ctrl.t_id) : std::vector<std::uint8_t>{}));
        CHECK(x.negotiated() == fmt::format("dhchap {} {}", hash_name(ctrl.hash), dh_group_name(ctrl.group)));
      }
    }
  }
}

TEST_CASE("DH-HMAC-CHAP host: faults end in a named failure, with a Failure2 where one is due", "[dhchap]") {
  const Keys keys = test::dhchap_capture_keys();
  auto fresh = [&](bool bidi) { return DhchapHostExchange(config(keys, bidi), 7); };
  TestController ctrl(keys, DhchapHash::Sha384, DhGroup::Ffdhe2048);

  SECTION("Failure1 instead of a Challenge: refused, reason named, nothing sent") {
    auto x = fresh(false);
    auto s = x.on_challenge(encode_failure1(7, AuthFailure::DhGroupUnusable));
    CHECK(s.verdict == Verdict::Failed);
    CHECK(s.error.code == Errc::Refused);
    CHECK(s.error.message.find("DH group unusable") != std::string::npos);
    CHECK(s.send.empty());
  }
  SECTION("wrong T_ID, a group or hash not offered: Failure2 with the matching reason") {
    auto x = fresh(false);
    auto ch_bytes = ctrl.challenge(x.negotiate());
    auto wrong = ch_bytes;
    wrong[4] ^= 1;
    auto s = x.on_challenge(wrong);
    CHECK(s.verdict == Verdict::Failed);
    CHECK(s.error.message.find("T_ID") != std::string::npos);
    CHECK(s.send == encode_failure2(7, AuthFailure::IncorrectPayload));

    DhchapHostConfig narrow = config(keys, false);
    narrow.groups = {DhGroup::Null};
    DhchapHostExchange y(narrow, 7);
    s = y.on_challenge(ch_bytes);
    CHECK(s.error.message.find("ffdhe2048, which was not offered") != std::string::npos);
    CHECK(s.send == encode_failure2(7, AuthFailure::DhGroupUnusable));
    narrow.groups = config(keys, false).groups;
    narrow.hashes = {DhchapHash::Sha256};
    DhchapHostExchange z(narrow, 7);
    s = z.on_challenge(ch_bytes);
    CHECK(s.send == encode_failure2(7, AuthFailure::HashUnusable));
  }
  SECTION("bidirectional: Success1 without R2, or a wrong R2, fails with Failure2") {
    for (int variant = 0; variant < 2; ++variant) {
      auto x = fresh(true);
      auto s = x.on_challenge(ctrl.challenge(x.negotiate()));
      REQUIRE(s.verdict == Verdict::Continue);
      auto good = ctrl.success1(s.send);
      auto d = decode_success1(good);
      REQUIRE(d);
      Success1 bad = d->success;
      if (variant == 0) {
        bad.rvalid = false;
        bad.r2.clear();
      } else {
        bad.r2[0] ^= 0xFF;
      }
      s = x.on_success1(encode_success1(bad));
      CHECK(s.verdict == Verdict::Failed);
      CHECK(s.error.message.find(variant == 0 ? "RVALID 0" : "does not hold the controller key") != std::string::npos);
      CHECK(s.send == encode_failure2(7, AuthFailure::Failed));
    }
  }
  SECTION("a rejected key: Failure1 after the Reply names the host key, never its bytes") {
    auto x = fresh(false);
    auto s = x.on_challenge(ctrl.challenge(x.negotiate()));
    REQUIRE(s.verdict == Verdict::Continue);
    s = x.on_success1(encode_failure1(7, AuthFailure::Failed));
    CHECK(s.verdict == Verdict::Failed);
    CHECK(s.error.message.find("host key (dhchap_secret)") != std::string::npos);
    // Neither the transformed key's bytes nor their hex appear.
    const std::string raw(reinterpret_cast<const char*>(keys.kh.data()), keys.kh.size());
    std::string hex;
    for (std::size_t i = 0; i < keys.kh.size(); ++i) hex += fmt::format("{:02x}", keys.kh.data()[i]);
    CHECK(s.error.message.find(raw.substr(0, 8)) == std::string::npos);
    CHECK(s.error.message.find(hex.substr(0, 16)) == std::string::npos);
    CHECK(s.send.empty());
  }
  SECTION("an unpadded DH value in the Challenge (as SPDK sends) is taken") {
    auto x = fresh(true);
    auto ch = decode_challenge(ctrl.challenge(x.negotiate()));
    REQUIRE(ch);
    auto small = DhKeyPair::from_private(DhGroup::Ffdhe2048, std::vector<std::uint8_t>{0x08});
    REQUIRE(small);
    ctrl.kp.emplace(std::move(*small));
    Challenge c = ch->challenge;
    c.dh_value = {0x01, 0x00};  // 2^8, unpadded
    auto s = x.on_challenge(encode_challenge(c));
    REQUIRE(s.verdict == Verdict::Continue);
    s = x.on_success1(ctrl.success1(s.send));
    INFO(s.error.message);
    CHECK(s.verdict == Verdict::Done);
  }
  SECTION("a Challenge naming an unknown hash or group, or another message, gets the matching Failure2") {
    auto x = fresh(false);
    const auto good = ctrl.challenge(x.negotiate());
    struct Row {
      std::size_t at;
      std::uint8_t value;
      AuthFailure why;
    };
    for (const Row& row : {Row{8, 9, AuthFailure::HashUnusable}, Row{6, 64, AuthFailure::HashUnusable},
                           Row{9, 7, AuthFailure::DhGroupUnusable}, Row{1, kIdSuccess1, AuthFailure::IncorrectProtocolMessage},
                           Row{12, 0, AuthFailure::IncorrectPayload}}) {
      auto bad = good;
      bad[row.at] = row.value;
      if (row.at == 12) bad[13] = bad[14] = bad[15] = 0;  // SEQNUM 0
      auto y = fresh(false);
      auto s = y.on_challenge(bad);
      INFO("byte " << row.at);
      CHECK(s.verdict == Verdict::Failed);
      CHECK(s.send == encode_failure2(7, row.why));
    }
  }
  SECTION("one-way: a Success1 of 16 + HL bytes with RVALID 0 is success; a broken one gets Failure2") {
    auto x = fresh(false);
    auto s = x.on_challenge(ctrl.challenge(x.negotiate()));
    REQUIRE(s.verdict == Verdict::Continue);
    std::vector<std::uint8_t> with_hl = encode_success1(Success1{7, 48, false, {}});
    with_hl.resize(16 + 48, 0);
    s = x.on_success1(with_hl);
    CHECK(s.verdict == Verdict::Done);
    CHECK(s.send.empty());

    auto y = fresh(false);
    s = y.on_challenge(ctrl.challenge(y.negotiate()));
    REQUIRE(s.verdict == Verdict::Continue);
    s = y.on_success1(std::vector<std::uint8_t>{0x01, 0x03, 0, 0, 7, 0});  // a Success1 cut short
    CHECK(s.verdict == Verdict::Failed);
    CHECK(s.error.code == Errc::Malformed);
    CHECK(s.send == encode_failure2(7, AuthFailure::IncorrectPayload));
  }
  SECTION("no host key: refused before answering") {
    DhchapHostConfig none = config(keys, false);
    none.host_key = {};
    DhchapHostExchange x(none, 7);
    auto s = x.on_challenge(ctrl.challenge(x.negotiate()));
    CHECK(s.verdict == Verdict::Failed);
    CHECK(s.error.message.find("no host key") != std::string::npos);
  }
  SECTION("garbage in place of the Challenge; a Success1 before any Challenge") {
    auto x = fresh(true);
    auto s = x.on_challenge(std::vector<std::uint8_t>(40, 0xEE));
    CHECK(s.verdict == Verdict::Failed);
    CHECK(s.error.code == Errc::Malformed);
    CHECK(s.send == encode_failure2(7, AuthFailure::IncorrectProtocolMessage));
    auto y = fresh(true);
    CHECK(y.on_success1(std::vector<std::uint8_t>(16, 0)).verdict == Verdict::Failed);
  }
}
