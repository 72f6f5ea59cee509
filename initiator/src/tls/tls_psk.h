// NVMe/TCP TLS pre-shared keys (NVMe TCP transport specification 3.6.1.3; auth-tls-facts.md
// section 4): the "NVMeTLSkey-1:HH:<base64>:" interchange format, the retained PSK, the PSK
// identity (v0 "NVMe0Rhh <hostnqn> <subnqn>", v1 "NVMe1Rhh <hostnqn> <subnqn> <digest>") and the
// TLS PSK that the TLS 1.3 handshake uses as its external PSK.
//
//   configured PSK --HKDF-Expand-Label("HostNQN", hostnqn)--> retained PSK   (HH 00: itself)
//   retained PSK   --HMAC(hostnqn " " subnqn " NVMe-over-Fabrics"), base64--> digest (v1)
//   retained PSK   --HKDF-Expand-Label("nvme-tls-psk", v0: identity, v1: "hh digest")--> TLS PSK
//
// HKDF-Expand-Label as RFC 8446 writes it (BE16 length, length-prefixed "tls13 " label and
// context), with HKDF-Extract's salt all zeros. libnvme before its fix wrote the label another
// way (LE16 length, no length bytes): HkdfEncoding::LibnvmeCompat reproduces that for peers set
// up with keys derived by such an nvme-cli.
//
// Secrets stay in SecretBuf; no message here ever holds a key's bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/secret_buf.h"
#include "nvmemp/result.h"

namespace nvmemp::tls {

// HH of the interchange format and hh of an identity: the hash, and so the TLS cipher suite
// (01: SHA-256, TLS_AES_128_GCM_SHA256; 02: SHA-384, TLS_AES_256_GCM_SHA384). 00 in the
// interchange format: the key is used as it is (no retained-PSK step).
enum class PskHash : std::uint8_t { None = 0, Sha256 = 1, Sha384 = 2 };

enum class HkdfEncoding : std::uint8_t { Rfc8446, LibnvmeCompat };
enum class IdentityVersion : std::uint8_t { V0 = 0, V1 = 1 };

struct ConfiguredPsk {
  PskHash transform = PskHash::None;  // HH
  auth::SecretBuf key;                // 32 or 48 bytes (HH 01: 32, HH 02: 48)
};

// Parses `text` (surrounding whitespace ignored). `what` names its source for errors ("the TLS
// key in [host] tls_key").
[[nodiscard]] Result<ConfiguredPsk> parse_tls_key(std::string_view text, std::string_view what);

// The interchange form of `key` (tests and `gen-tls-key`-like tools; the result is a secret).
std::string format_tls_key(PskHash transform, std::span<const std::uint8_t> key);

// The hash of the identity and the cipher suite: HH, or for HH 00 the one the key's length
// gives (32: SHA-256, 48: SHA-384), as libnvme picks it.
PskHash identity_hash(const ConfiguredPsk& psk) noexcept;
std::size_t psk_hash_length(PskHash h) noexcept;  // 32 or 48 (0 for None)
const char* psk_hash_name(PskHash h) noexcept;      // "sha256", "sha384", "none"

// RFC 8446 7.1 HKDF-Expand-Label(HKDF-Extract(0, ikm), label, context, out.size()) with `h`.
[[nodiscard]] Result<void> hkdf_expand_label(PskHash h, std::span<const std::uint8_t> ikm, std::string_view label,
                                             std::string_view context, HkdfEncoding enc, std::span<std::uint8_t> out);

// HH 00: the key itself; else HKDF-Expand-Label(..., "HostNQN", hostnqn, len(key)).
[[nodiscard]] Result<auth::SecretBuf> retained_psk(const ConfiguredPsk& psk, std::string_view hostnqn,
                                                   HkdfEncoding enc);

// base64(HMAC_h(psk, hostnqn " " subnqn " NVMe-over-Fabrics")): 44 characters (SHA-256), 64 (SHA-384).
[[nodiscard]] Result<std::string> psk_digest(PskHash h, std::span<const std::uint8_t> psk, std::string_view hostnqn,
                                             std::string_view subnqn);

// "NVMe0Rhh <hostnqn> <subnqn>" / "NVMe1Rhh <hostnqn> <subnqn> <digest>".
std::string psk_identity(IdentityVersion v, PskHash h, std::string_view hostnqn, std::string_view subnqn,
                         std::string_view digest = {});

// HKDF-Expand-Label(..., "nvme-tls-psk", context, len(psk)), context v0: the identity, v1:
// "hh digest".
[[nodiscard]] Result<auth::SecretBuf> derive_tls_psk(PskHash h, std::span<const std::uint8_t> psk,
                                                     std::string_view context, HkdfEncoding enc);

// What one TLS connection of a host to a subsystem offers: the identity and the TLS PSK.
struct TlsPsk {
  std::string identity;
  auth::SecretBuf key;
  PskHash hash = PskHash::Sha256;  // the cipher suite's
};

// The whole chain for `hostnqn` connecting to `subnqn`.
[[nodiscard]] Result<TlsPsk> make_tls_psk(const ConfiguredPsk& psk, std::string_view hostnqn,
                                          std::string_view subnqn, IdentityVersion v, HkdfEncoding enc);

}  // namespace nvmemp::tls
