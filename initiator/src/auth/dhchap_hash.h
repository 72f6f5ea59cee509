// The DH-HMAC-CHAP hash functions: their wire IDs (HASHID in a Challenge, the XX of a
// "DHHC-1:XX:" secret), lengths and names, and HMAC over them (OpenSSL 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "auth/secret_buf.h"
#include "nvmemp/result.h"

namespace nvmemp::auth {

// IDs as the NVMe base specification numbers them (include/linux/nvme.h NVME_AUTH_HASH_*).
enum class DhchapHash : std::uint8_t { None = 0, Sha256 = 1, Sha384 = 2, Sha512 = 3 };

// Digest length in bytes: 32, 48, 64 (0 for None or an unknown ID).
std::size_t hash_length(DhchapHash h) noexcept;
// "sha256", "sha384", "sha512"; "none"; "unknown" for an ID outside the list.
const char* hash_name(DhchapHash h) noexcept;
// True for SHA-256/384/512.
bool hash_known(std::uint8_t id) noexcept;

// HMAC_H(key, parts...) into `out` (hash_length(h) bytes). Errors (an OpenSSL failure) name the
// hash, never the key.
Result<void> hmac(DhchapHash h, std::span<const std::uint8_t> key,
                  std::initializer_list<std::span<const std::uint8_t>> parts, std::span<std::uint8_t> out);

// An error after an OpenSSL call failed: clears this thread's OpenSSL error queue first, so a
// hostile peer's bad value leaves nothing behind for a later call (TLS) to misread.
tl::unexpected<Error> openssl_failure(Errc code, std::string message);

// H(data) into `out` (hash_length(h) bytes).
Result<void> digest(DhchapHash h, std::span<const std::uint8_t> data, std::span<std::uint8_t> out);

}  // namespace nvmemp::auth
