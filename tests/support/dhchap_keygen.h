// DH-HMAC-CHAP (and TLS) test keys made fresh for a test: the "DHHC-1:XX:<base64>:" text nvme
// gen-dhchap-key prints (random key, CRC-32 appended little-endian), and the forms of it a leak
// check searches outputs for.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace nvmemp::test {

struct TestDhchapKey {
  std::string text;                // DHHC-1:XX:<base64>:
  std::string base64;              // the base64 body alone
  std::vector<unsigned char> key;  // the raw key bytes
};

// XX 0..3; `len` 32, 48 or 64 (0: XX's digest length, 32 for XX 0).
TestDhchapKey make_test_dhchap_key(int xx, std::size_t len = 0);

// A TLS PSK as `nvme gen-tls-key` prints it, "NVMeTLSkey-1:HH:<base64>:" (HH 01: 32 bytes,
// 02: 48), random; find_key_leak() takes it too.
TestDhchapKey make_test_tls_key(int hh = 1);

// Lower-case hex of `bytes`.
std::string hex_of(const std::vector<unsigned char>& bytes);

// Why `output` leaks `k`, or "" when it holds none of: the text, its base64 body, the key in hex
// (lower and upper case) and, when given, the transformed key in hex.
std::string find_key_leak(const std::string& output, const TestDhchapKey& k,
                          const std::vector<unsigned char>& transformed = {});

}  // namespace nvmemp::test
