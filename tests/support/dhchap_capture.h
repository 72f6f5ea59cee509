// The DH-HMAC-CHAP captures' fixed test keys and NQNs (../shared/real-target/captures/README.md)
// and the authentication messages of one captured connection.
#pragma once

#include <cstdint>
#include <vector>

#include "auth/secret_buf.h"
#include "support/capture.h"

namespace nvmemp::test {

inline constexpr const char* kDhchapHostNqn = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-0000000ca9e0";
inline constexpr const char* kDhchapSubNqn = "nqn.2026-01.io.example:mpath-test";
// HK: bytes 0x10..0x2f, SHA-256 transform; CK: bytes 0x80..0xaf, SHA-384 transform.
inline constexpr const char* kDhchapHostKey = "DHHC-1:01:EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi9A/ow7:";
inline constexpr const char* kDhchapCtrlKey =
    "DHHC-1:02:gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vkk6Jzw==:";

// HK and CK parsed and transformed (Kh' with the host NQN, Kc' with the subsystem NQN).
struct DhchapCaptureKeys {
  auth::SecretBuf kh;
  auth::SecretBuf kc;
};
DhchapCaptureKeys dhchap_capture_keys();

// The authentication messages of one connection in wire order: the data each Authentication
// Send carried in its capsule and each Authentication Receive got by C2HData (the whole AL
// buffer), sliced by PDO, PLEN and the digest flag alone.
std::vector<std::vector<std::uint8_t>> auth_messages(const CapturedConnection& c);

}  // namespace nvmemp::test
