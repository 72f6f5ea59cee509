// The body shared by the two key interchange formats, "DHHC-1:XX:<base64>:" (DH-HMAC-CHAP) and
// "NVMeTLSkey-1:HH:<base64>:" (TLS PSK): strict base64 of key || CRC-32 (IEEE, zlib's crc32,
// appended little-endian). Nothing here ever formats the key: a failure says which rule broke.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "auth/secret_buf.h"
#include "nvmemp/result.h"

namespace nvmemp::auth {

// Surrounding spaces, tabs and line ends (a file's last newline) removed.
std::string_view trim_key_text(std::string_view s) noexcept;

// 0-15 for a hex digit, else -1.
int key_hex_digit(char c) noexcept;

// Decodes `b64` (without the trailing ':') into `out`. The key must be one of `key_lengths`
// bytes long. On failure returns the broken rule in words ("the key is not valid base64") and
// leaves `out` empty; every intermediate buffer is wiped either way.
[[nodiscard]] Result<void> decode_key_with_crc(std::string_view b64, std::initializer_list<std::size_t> key_lengths,
                                               SecretBuf& out);

// The inverse, for tests and key generation: base64(key || CRC-32).
std::string encode_key_with_crc(std::span<const std::uint8_t> key);

// Reads a key file (one line of at most 1 KiB) into secure memory. Warns (logs) when users
// other than the owner may read it; refuses what is not a regular file (a FIFO does not hang
// the caller). `kind` names the format in the too-large error ("DHHC-1").
[[nodiscard]] Result<SecretBuf> read_key_file(const std::string& path, std::string_view what, std::string_view kind);

}  // namespace nvmemp::auth
