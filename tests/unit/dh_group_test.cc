// FFDHE key agreement for DH-HMAC-CHAP: both sides of every group agree, values are padded to
// the modulus, a short (unpadded) peer value works, values outside the group are refused.
#include "auth/dh_group.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace nvmemp;
using namespace nvmemp::auth;

TEST_CASE("FFDHE: both ends of every group derive the same padded secret", "[dhchap]") {
  for (std::uint8_t id = 1; id <= 5; ++id) {
    const auto g = static_cast<DhGroup>(id);
    INFO(dh_group_name(g));
    auto a = DhKeyPair::generate(g);
    auto b = DhKeyPair::generate(g);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->public_value().size() == dh_value_length(g));
    CHECK(a->public_value() != b->public_value());  // fresh per exchange
    auto za = a->shared_secret(b->public_value());
    auto zb = b->shared_secret(a->public_value());
    REQUIRE(za);
    REQUIRE(zb);
    CHECK(za->size() == dh_value_length(g));
    CHECK(za->equals(zb->bytes()));
  }
}

TEST_CASE("FFDHE: an unpadded peer value is accepted, values outside the group are refused", "[dhchap]") {
  auto a = DhKeyPair::generate(DhGroup::Ffdhe2048);
  REQUIRE(a);
  // Private value 8: public value 2^8 = 256, padded 254 zero bytes then 01 00; SPDK's host would
  // send just the two bytes.
  auto b = DhKeyPair::from_private(DhGroup::Ffdhe2048, std::vector<std::uint8_t>{0x08});
  REQUIRE(b);
  std::vector<std::uint8_t> padded(256, 0);
  padded[254] = 0x01;
  CHECK(b->public_value() == padded);
  auto full = a->shared_secret(padded);
  auto shortv = a->shared_secret(std::vector<std::uint8_t>{0x01, 0x00});
  auto other = b->shared_secret(a->public_value());
  REQUIRE(full);
  REQUIRE(shortv);
  REQUIRE(other);
  CHECK(shortv->equals(full->bytes()));
  CHECK(other->equals(full->bytes()));
  CHECK(full->size() == 256);

  for (const std::vector<std::uint8_t>& bad :
       {std::vector<std::uint8_t>{}, std::vector<std::uint8_t>{0x01}, std::vector<std::uint8_t>{0x00},
        std::vector<std::uint8_t>(257, 0x01), std::vector<std::uint8_t>(256, 0xff)}) {
    auto r = a->shared_secret(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("ffdhe2048") != std::string::npos);
  }
  CHECK_FALSE(DhKeyPair::generate(DhGroup::Null));
}
