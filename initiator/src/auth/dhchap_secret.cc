#include "auth/dhchap_secret.h"

#include <array>

#include <fmt/format.h>
#include <isa-l/crc.h>
#include <openssl/evp.h>

#include "common/bytes.h"

namespace nvmemp::auth {

namespace {

constexpr std::string_view kPrefix = "DHHC-1:";
constexpr std::size_t kCrcLen = 4;
constexpr std::size_t kMaxDecoded = 64 + kCrcLen;

bool is_b64(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<DhchapSecret> parse_dhchap_secret(std::string_view text, std::string_view what) {
  const std::string_view s = trim(text);
  auto bad = [&](std::string_view rule) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: not a usable DH-HMAC-CHAP secret: {} (expected DHHC-1:XX:<base64>:, as "
                                  "`nvme gen-dhchap-key` prints it)",
                                  what, rule));
  };
  if (s.substr(0, kPrefix.size()) != kPrefix) return bad("it does not start with DHHC-1:");
  std::string_view rest = s.substr(kPrefix.size());
  if (rest.size() < 3 || rest[2] != ':') return bad("the hash indicator XX after DHHC-1: is not two digits and a ':'");
  const int hi = hex_digit(rest[0]);
  const int lo = hex_digit(rest[1]);
  if (hi < 0 || lo < 0 || hi * 16 + lo > 3) {
    return bad("the hash indicator XX must be 00 (none), 01 (SHA-256), 02 (SHA-384) or 03 (SHA-512)");
  }
  const auto xx = static_cast<DhchapHash>(hi * 16 + lo);
  rest.remove_prefix(3);
  if (rest.empty() || rest.back() != ':') return bad("the base64 key does not end with ':'");
  rest.remove_suffix(1);
  // Strict base64: the alphabet, a multiple of 4 characters, '=' padding only at the end.
  std::size_t pad = 0;
  while (pad < 2 && pad < rest.size() && rest[rest.size() - 1 - pad] == '=') ++pad;
  if (rest.empty() || rest.size() % 4 != 0) return bad(fmt::format("the key is {} base64 characters, not a multiple of 4", rest.size()));
  for (std::size_t i = 0; i + pad < rest.size(); ++i) {
    if (!is_b64(rest[i])) return bad(fmt::format("character {} of the key is not base64", i + 1));
  }
  const std::size_t decoded_len = rest.size() / 4 * 3 - pad;
  if (decoded_len != 32 + kCrcLen && decoded_len != 48 + kCrcLen && decoded_len != 64 + kCrcLen) {
    return bad(fmt::format("the key decodes to {} bytes; it must be a 32, 48 or 64-byte key and a 4-byte CRC",
                           decoded_len));
  }
  std::array<std::uint8_t, kMaxDecoded + 3> buf{};  // EVP_DecodeBlock writes the padding bytes too
  const int n = EVP_DecodeBlock(buf.data(), reinterpret_cast<const unsigned char*>(rest.data()),
                                static_cast<int>(rest.size()));
  if (n < 0 || static_cast<std::size_t>(n) != decoded_len + pad) {
    wipe(buf);
    return bad("the key is not valid base64");
  }
  const std::size_t key_len = decoded_len - kCrcLen;
  const std::uint32_t want = load_le32(Bytes(buf.data(), decoded_len), key_len);
  const std::uint32_t got = crc32_gzip_refl(0, buf.data(), key_len);
  if (want != got) {
    wipe(buf);
    return bad("its CRC-32 does not match the key (a character was changed or lost: copy the secret again)");
  }
  DhchapSecret out;
  out.transform = xx;
  out.key = SecretBuf(Bytes(buf.data(), key_len));
  out.length_mismatch = xx != DhchapHash::None && key_len != hash_length(xx);
  wipe(buf);
  return out;
}

Result<SecretBuf> transform_key(const DhchapSecret& secret, std::string_view nqn) {
  if (secret.transform == DhchapHash::None) return SecretBuf(secret.key.bytes());
  static constexpr std::string_view kLabel = "NVMe-over-Fabrics";
  SecretBuf out(hash_length(secret.transform));
  auto r = hmac(secret.transform, secret.key.bytes(),
                {Bytes(reinterpret_cast<const std::uint8_t*>(nqn.data()), nqn.size()),
                 Bytes(reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size())},
                out.mut_bytes());
  if (!r) return tl::unexpected(r.error());
  return out;
}

}  // namespace nvmemp::auth
