// DH-HMAC-CHAP computations against tests/vectors/dhchap_vectors.json, which
// tests/vectors/dhchap_vectors.py (python3 stdlib, RFC 7919 primes) computed from the facts
// sheet, written by someone other than the author of auth/: key transforms for every XX and key
// length, and R1/R2 with the augmented challenge for every hash, null and every FFDHE group.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "auth/dh_group.h"
#include "auth/dhchap_response.h"
#include "auth/dhchap_secret.h"
#include "support/capture.h"

using namespace nvmemp;
using namespace nvmemp::auth;

namespace {

nlohmann::json load_vectors() {
  std::ifstream in(std::string(NVMEMP_VECTORS_DIR) + "/dhchap_vectors.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::vector<std::uint8_t> hex_field(const nlohmann::json& j) { return test::from_hex(j.get<std::string>()); }

DhchapHash hash_named(const std::string& n) {
  for (std::uint8_t id = 1; id <= 3; ++id) {
    if (n == hash_name(static_cast<DhchapHash>(id))) return static_cast<DhchapHash>(id);
  }
  FAIL("unknown hash " << n);
  return DhchapHash::None;
}

DhGroup group_named(const std::string& n) {
  for (std::uint8_t id = 0; id <= 5; ++id) {
    if (n == dh_group_name(static_cast<DhGroup>(id))) return static_cast<DhGroup>(id);
  }
  FAIL("unknown group " << n);
  return DhGroup::Null;
}

}  // namespace

TEST_CASE("DH-HMAC-CHAP key transform matches the independent script for XX 01-03 and every key length", "[dhchap][vectors]") {
  const auto v = load_vectors();
  REQUIRE(v.at("transform").size() == 9);
  for (const auto& t : v.at("transform")) {
    DhchapSecret s;
    s.transform = static_cast<DhchapHash>(t.at("xx").get<int>());
    s.key = SecretBuf(hex_field(t.at("key")));
    auto k = transform_key(s, t.at("nqn").get<std::string>());
    REQUIRE(k);
    INFO("xx " << t.at("xx").get<int>() << ", " << s.key.size() << "-byte key");
    CHECK(k->equals(hex_field(t.at("transformed"))));
  }
}

TEST_CASE("DH-HMAC-CHAP R1, R2 and the augmented challenge match the independent script", "[dhchap][vectors]") {
  const auto v = load_vectors();
  int ffdhe = 0;
  for (const auto& r : v.at("responses")) {
    const DhchapHash h = hash_named(r.at("hash"));
    const DhGroup g = group_named(r.at("group"));
    INFO(hash_name(h) << " " << dh_group_name(g));
    SecretBuf z;
    if (g != DhGroup::Null) {
      auto host = DhKeyPair::from_private(g, hex_field(r.at("host_private")));
      auto ctrl = DhKeyPair::from_private(g, hex_field(r.at("ctrl_private")));
      REQUIRE(host);
      REQUIRE(ctrl);
      CHECK(host->public_value() == hex_field(r.at("host_public")));
      CHECK(ctrl->public_value() == hex_field(r.at("ctrl_public")));
      auto zh = host->shared_secret(hex_field(r.at("ctrl_public")));
      auto zc = ctrl->shared_secret(hex_field(r.at("host_public")));
      REQUIRE(zh);
      REQUIRE(zc);
      CHECK(zh->equals(hex_field(r.at("z"))));
      CHECK(zc->equals(hex_field(r.at("z"))));
      z = std::move(*zh);
      ++ffdhe;
    }
    auto ca1 = augmented_challenge(h, hex_field(r.at("c1")), z.bytes());
    auto ca2 = augmented_challenge(h, hex_field(r.at("c2")), z.bytes());
    REQUIRE(ca1);
    REQUIRE(ca2);
    CHECK(ca1->equals(hex_field(r.at("ca1"))));
    CHECK(ca2->equals(hex_field(r.at("ca2"))));
    const auto kh = hex_field(r.at("host_key"));
    const auto kc = hex_field(r.at("ctrl_key"));
    const std::string hostnqn = r.at("hostnqn");
    const std::string subnqn = r.at("subnqn");
    const auto t_id = r.at("t_id").get<std::uint16_t>();
    auto r1 = host_response({h, kh, ca1->bytes(), r.at("s1").get<std::uint32_t>(), t_id, r.at("sc_c").get<std::uint8_t>(),
                             hostnqn, subnqn});
    auto r2 = controller_response({h, kc, ca2->bytes(), r.at("s2").get<std::uint32_t>(), t_id, 0, hostnqn, subnqn});
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(*r1 == hex_field(r.at("r1")));
    CHECK(*r2 == hex_field(r.at("r2")));
  }
  CHECK(ffdhe == 5);
}
