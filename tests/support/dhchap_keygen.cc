#include "support/dhchap_keygen.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>
#include <isa-l/crc.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace nvmemp::test {

namespace {

// A random key of `len` bytes with its base64 body (key, then its CRC-32 little-endian), as
// DHHC-1 and NVMeTLSkey-1 both write it.
TestDhchapKey random_key(std::size_t len) {
  TestDhchapKey k;
  k.key.resize(len);
  if (RAND_bytes(k.key.data(), static_cast<int>(len)) != 1) throw std::runtime_error("RAND_bytes failed");
  std::vector<unsigned char> body = k.key;
  const std::uint32_t crc = crc32_gzip_refl(0, k.key.data(), len);
  for (int i = 0; i < 4; ++i) body.push_back(static_cast<unsigned char>(crc >> (8 * i)));
  std::string b64(4 * ((body.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), body.data(), static_cast<int>(body.size()));
  b64.resize(static_cast<std::size_t>(n));
  k.base64 = b64;
  return k;
}

}  // namespace

TestDhchapKey make_test_dhchap_key(int xx, std::size_t len) {
  if (len == 0) len = xx == 2 ? 48 : xx == 3 ? 64 : 32;
  TestDhchapKey k = random_key(len);
  k.text = fmt::format("DHHC-1:{:02x}:{}:", xx, k.base64);
  return k;
}

TestDhchapKey make_test_tls_key(int hh) {
  TestDhchapKey k = random_key(hh == 2 ? 48 : 32);
  k.text = fmt::format("NVMeTLSkey-1:{:02}:{}:", hh, k.base64);
  return k;
}

std::string hex_of(const std::vector<unsigned char>& bytes) {
  std::string s;
  for (unsigned char b : bytes) s += fmt::format("{:02x}", b);
  return s;
}

std::string find_key_leak(const std::string& output, const TestDhchapKey& k,
                          const std::vector<unsigned char>& transformed) {
  std::string upper_out = output;
  std::transform(upper_out.begin(), upper_out.end(), upper_out.begin(), [](unsigned char c) { return std::toupper(c); });
  auto upper = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
  };
  if (output.find(k.text) != std::string::npos) return "the key text";
  // The body without its last characters, so a truncated echo counts too.
  if (output.find(k.base64.substr(0, 24)) != std::string::npos) return "the key's base64 body";
  if (upper_out.find(upper(hex_of(k.key)).substr(0, 32)) != std::string::npos) return "the key bytes in hex";
  if (!transformed.empty() && upper_out.find(upper(hex_of(transformed)).substr(0, 32)) != std::string::npos) {
    return "the transformed key in hex";
  }
  return {};
}

}  // namespace nvmemp::test
