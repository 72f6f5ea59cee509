// DH-HMAC-CHAP message encoders against byte layouts (include/linux/nvme.h, auth-tls-facts.md
// 1.4) and the decoders against broken input: each refusal names the message and the field.
#include "auth/dhchap_messages.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace nvmemp;
using namespace nvmemp::auth;

TEST_CASE("DH-HMAC-CHAP Negotiate, Reply, Success2, Failure2 are laid out as the kernel sends them", "[dhchap]") {
  Negotiate n;
  n.t_id = 0x1234;
  n.hashes = {DhchapHash::Sha256, DhchapHash::Sha384, DhchapHash::Sha512};
  n.groups = {DhGroup::Null, DhGroup::Ffdhe2048, DhGroup::Ffdhe3072, DhGroup::Ffdhe4096, DhGroup::Ffdhe6144,
              DhGroup::Ffdhe8192};
  const auto b = encode_negotiate(n);
  REQUIRE(b.size() == 72);
  CHECK(std::vector<std::uint8_t>(b.begin(), b.begin() + 12) ==
        std::vector<std::uint8_t>{0x00, 0x00, 0, 0, 0x34, 0x12, 0x00, 0x01, 0x01, 0x00, 3, 6});
  CHECK(std::vector<std::uint8_t>(b.begin() + 12, b.begin() + 15) == std::vector<std::uint8_t>{1, 2, 3});
  CHECK(std::vector<std::uint8_t>(b.begin() + 42, b.begin() + 48) == std::vector<std::uint8_t>{0, 1, 2, 3, 4, 5});
  CHECK(std::all_of(b.begin() + 15, b.begin() + 42, [](std::uint8_t x) { return x == 0; }));
  CHECK(std::all_of(b.begin() + 48, b.end(), [](std::uint8_t x) { return x == 0; }));

  Reply r;
  r.t_id = 7;
  r.seqnum = 0x01020304;
  r.r1.assign(32, 0xAA);
  r.c2.assign(32, 0xBB);
  r.dh_value.assign(256, 0xCC);
  r.cvalid = false;  // C2 present but zeroed when not bidirectional
  const auto rb = encode_reply(r);
  REQUIRE(rb.size() == 16 + 2 * 32 + 256);
  CHECK(rb[0] == 0x01);
  CHECK(rb[1] == 0x02);
  CHECK(rb[6] == 32);
  CHECK(rb[8] == 0);
  CHECK(rb[10] == 0x00);
  CHECK(rb[11] == 0x01);  // DHVLEN 256 LE
  CHECK(rb[12] == 0x04);  // S2 LE
  CHECK(rb[16] == 0xAA);
  CHECK(rb[48] == 0x00);  // C2 zeroed
  CHECK(rb[80] == 0xCC);

  CHECK(encode_success2(9) == std::vector<std::uint8_t>{0x01, 0x04, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(encode_failure2(9, AuthFailure::DhGroupUnusable) == std::vector<std::uint8_t>{0x00, 0xF0, 0, 0, 9, 0, 0x01, 0x05});
}

TEST_CASE("DH-HMAC-CHAP decoders refuse broken messages naming the field, and read Failure1", "[dhchap]") {
  Challenge c;
  c.t_id = 3;
  c.hash = DhchapHash::Sha256;
  c.group = DhGroup::Ffdhe2048;
  c.seqnum = 11;
  c.c1.assign(32, 0x11);
  c.dh_value.assign(256, 0x22);
  const auto good = encode_challenge(c);
  {
    auto padded = good;
    padded.resize(4096, 0);  // a whole Receive buffer
    auto d = decode_challenge(padded);
    REQUIRE(d);
    CHECK(d->challenge.dh_value.size() == 256);
    CHECK(d->challenge.seqnum == 11);
  }
  struct Row {
    std::size_t at;
    std::uint8_t value;
    const char* says;
  };
  for (const Row& row : {Row{6, 48, "HL 48 for sha256"}, Row{8, 9, "HASHID 9"}, Row{9, 7, "DHGID 7"},
                         Row{11, 0x02, "DHVLEN 512"}, Row{12, 0, "SEQNUM 0"}}) {
    auto bad = good;
    bad[row.at] = row.value;
    if (row.at == 12) bad[13] = bad[14] = bad[15] = 0;
    auto d = decode_challenge(bad);
    REQUIRE_FALSE(d);
    INFO(d.error().message);
    CHECK(d.error().message.find("Challenge") != std::string::npos);
    CHECK(d.error().message.find(row.says) != std::string::npos);
  }
  {
    Challenge no_dh = c;  // ffdhe2048 named, no DH value
    no_dh.dh_value.clear();
    auto d = decode_challenge(encode_challenge(no_dh));
    REQUIRE_FALSE(d);
    CHECK(d.error().message.find("DHVLEN 0 for DH group ffdhe2048") != std::string::npos);
    Challenge null_with_dh = c;  // null group with a DH value
    null_with_dh.group = DhGroup::Null;
    d = decode_challenge(encode_challenge(null_with_dh));
    REQUIRE_FALSE(d);
    CHECK(d.error().message.find("DHVLEN 256 for DH group null") != std::string::npos);
  }
  auto truncated = decode_challenge(std::vector<std::uint8_t>(good.begin(), good.end() - 1));
  REQUIRE_FALSE(truncated);
  CHECK(truncated.error().message.find("make 304") != std::string::npos);

  auto f = decode_challenge(encode_failure1(3, AuthFailure::Failed));
  REQUIRE(f);
  CHECK(f->failed);
  CHECK(f->failure.rce == 0x01);
  CHECK(std::string(auth_failure_text(f->failure.rce)).find("key was rejected") != std::string::npos);

  Success1 s;
  s.t_id = 3;
  s.hl = 32;
  s.rvalid = true;
  s.r2.assign(32, 0x33);
  auto sb = encode_success1(s);
  auto sd = decode_success1(sb);
  REQUIRE(sd);
  CHECK(sd->success.r2 == s.r2);
  sb.resize(20);  // RVALID but R2 cut short
  CHECK_FALSE(decode_success1(sb));
  Success1 no_r2{3, 32, false, {}};
  auto nd = decode_success1(encode_success1(no_r2));
  REQUIRE(nd);
  CHECK_FALSE(nd->success.rvalid);
  CHECK_FALSE(decode_success1(std::vector<std::uint8_t>(10, 0)));
  CHECK_FALSE(decode_negotiate(std::vector<std::uint8_t>(71, 0)));
  CHECK_FALSE(decode_reply(std::vector<std::uint8_t>(16 + 64, 0), 32));
}
