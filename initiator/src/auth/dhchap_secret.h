// DH-HMAC-CHAP secrets in the "DHHC-1:XX:<base64>:" form nvme-cli, libnvme and the kernel use
// (NVMe base specification 8.13.5.8; auth-tls-facts.md section 3), and the key transform.
//
// XX names the hash the consumer applies to the secret before use (00: none, 01/02/03:
// SHA-256/384/512). The base64 body decodes to key || CRC-32 (IEEE, zlib's crc32, appended
// little-endian) with a 32, 48 or 64-byte key. Kernels since 6.7 accept any of the three
// lengths with any XX; 6.1 rejects a length other than XX's digest length, so that mix parses
// here with `length_mismatch` set for the caller to warn about.
//
// No error message ever contains the secret or any part of it: they name the source (`what`)
// and the rule broken.
#pragma once

#include <string_view>

#include "auth/dhchap_hash.h"
#include "auth/secret_buf.h"
#include "nvmemp/result.h"

namespace nvmemp::auth {

struct DhchapSecret {
  DhchapHash transform = DhchapHash::None;  // XX
  SecretBuf key;                            // 32, 48 or 64 bytes
  bool length_mismatch = false;             // XX != 00 and the key length is not XX's digest length
};

// Parses `text` (surrounding whitespace, e.g. a file's final newline, is ignored). `what` names
// where it came from for the error ("the host key in [host] dhchap_secret").
[[nodiscard]] Result<DhchapSecret> parse_dhchap_secret(std::string_view text, std::string_view what);

// The key as both ends use it: XX 00, the key itself; otherwise
// HMAC_{H(XX)}(key, nqn || "NVMe-over-Fabrics"), no separator and no terminator. `nqn` is the
// host NQN for a host key, the subsystem NQN for a controller key.
[[nodiscard]] Result<SecretBuf> transform_key(const DhchapSecret& secret, std::string_view nqn);

}  // namespace nvmemp::auth
