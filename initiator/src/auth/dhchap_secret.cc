#include "auth/dhchap_secret.h"

#include <fmt/format.h>

#include "auth/key_text.h"
#include "common/bytes.h"

namespace nvmemp::auth {

namespace {
constexpr std::string_view kPrefix = "DHHC-1:";
}  // namespace

Result<DhchapSecret> parse_dhchap_secret(std::string_view text, std::string_view what) {
  const std::string_view s = trim_key_text(text);
  auto bad = [&](std::string_view rule) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: not a usable DH-HMAC-CHAP secret: {} (expected DHHC-1:XX:<base64>:, as "
                                  "`nvme gen-dhchap-key` prints it)",
                                  what, rule));
  };
  if (s.substr(0, kPrefix.size()) != kPrefix) return bad("it does not start with DHHC-1:");
  std::string_view rest = s.substr(kPrefix.size());
  if (rest.size() < 3 || rest[2] != ':') return bad("the hash indicator XX after DHHC-1: is not two digits and a ':'");
  const int hi = key_hex_digit(rest[0]);
  const int lo = key_hex_digit(rest[1]);
  if (hi < 0 || lo < 0 || hi * 16 + lo > 3) {
    return bad("the hash indicator XX must be 00 (none), 01 (SHA-256), 02 (SHA-384) or 03 (SHA-512)");
  }
  const auto xx = static_cast<DhchapHash>(hi * 16 + lo);
  rest.remove_prefix(3);
  if (rest.empty() || rest.back() != ':') return bad("the base64 key does not end with ':'");
  rest.remove_suffix(1);
  DhchapSecret out;
  if (auto r = decode_key_with_crc(rest, {32, 48, 64}, out.key); !r) return bad(r.error().message);
  out.transform = xx;
  out.length_mismatch = xx != DhchapHash::None && out.key.size() != hash_length(xx);
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
