#include "support/dhchap_capture.h"

#include <catch2/catch.hpp>

#include "auth/dhchap_secret.h"

namespace nvmemp::test {

DhchapCaptureKeys dhchap_capture_keys() {
  auto hk = auth::parse_dhchap_secret(kDhchapHostKey, "HK");
  auto ck = auth::parse_dhchap_secret(kDhchapCtrlKey, "CK");
  REQUIRE(hk);
  REQUIRE(ck);
  auto kh = auth::transform_key(*hk, kDhchapHostNqn);
  auto kc = auth::transform_key(*ck, kDhchapSubNqn);
  REQUIRE(kh);
  REQUIRE(kc);
  return DhchapCaptureKeys{std::move(*kh), std::move(*kc)};
}

std::vector<std::vector<std::uint8_t>> auth_messages(const CapturedConnection& c) {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& p : c.pdus) {
    const bool send = p.h2c && p.name == "CapsuleCmd" && p.note.rfind("Authentication Send", 0) == 0;
    const bool recv = !p.h2c && p.name == "C2HData" && p.note.find("(Authentication Receive") != std::string::npos;
    if (!send && !recv) continue;
    const std::size_t pdo = p.bytes[3];
    const std::size_t ddgst = (p.bytes[1] & 0x02) != 0 ? 4 : 0;
    out.emplace_back(p.bytes.begin() + static_cast<std::ptrdiff_t>(pdo),
                     p.bytes.end() - static_cast<std::ptrdiff_t>(ddgst));
  }
  return out;
}

}  // namespace nvmemp::test
