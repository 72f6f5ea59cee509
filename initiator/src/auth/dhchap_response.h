// The DH-HMAC-CHAP computations (NVMe base specification 8.13.5.5; auth-tls-facts.md 2):
//   Ca = C with the null group, else HMAC_H(H(Z), C)     (Z: the DH shared secret, padded)
//   R1 = HMAC_H(Kh', Ca1 || LE32(S1) || LE16(T_ID) || SC_C || "HostHost" || NQNh || 0x00 || NQNc)
//   R2 = HMAC_H(Kc', Ca2 || LE32(S2) || LE16(T_ID) || 0x00 || "Controller" || NQNc || 0x00 || NQNh)
// H is the negotiated hash; Kh' / Kc' the transformed host / controller keys (dhchap_secret.h).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "auth/dhchap_hash.h"
#include "auth/secret_buf.h"
#include "nvmemp/result.h"

namespace nvmemp::auth {

// `z` empty: the null group (Ca = C). A secret like the key: with Ca and R1 a host key could be
// searched for offline, so it comes back in a SecretBuf.
[[nodiscard]] Result<SecretBuf> augmented_challenge(DhchapHash h, std::span<const std::uint8_t> c,
                                                    std::span<const std::uint8_t> z);

struct ResponseInput {
  DhchapHash hash = DhchapHash::None;
  std::span<const std::uint8_t> key;        // Kh' for R1, Kc' for R2
  std::span<const std::uint8_t> augmented;  // Ca1 for R1, Ca2 for R2
  std::uint32_t seqnum = 0;                 // S1 for R1, S2 for R2
  std::uint16_t t_id = 0;
  std::uint8_t sc_c = 0;                    // R1 only (0 without secure channel concatenation)
  std::string_view hostnqn;
  std::string_view subnqn;
};

[[nodiscard]] Result<std::vector<std::uint8_t>> host_response(const ResponseInput& in);        // R1
[[nodiscard]] Result<std::vector<std::uint8_t>> controller_response(const ResponseInput& in);  // R2

}  // namespace nvmemp::auth
