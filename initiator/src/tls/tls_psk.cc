#include "tls/tls_psk.h"

#include <array>
#include <cstdio>
#include <vector>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "auth/dhchap_hash.h"
#include "auth/key_text.h"
#include "common/bytes.h"

namespace nvmemp::tls {

namespace {

constexpr std::string_view kPrefix = "NVMeTLSkey-1:";

auth::DhchapHash as_auth_hash(PskHash h) noexcept {
  return h == PskHash::Sha384 ? auth::DhchapHash::Sha384 : auth::DhchapHash::Sha256;
}

Bytes as_bytes(std::string_view s) noexcept { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

}  // namespace

std::size_t psk_hash_length(PskHash h) noexcept {
  return h == PskHash::Sha256 ? 32 : h == PskHash::Sha384 ? 48 : 0;
}

const char* psk_hash_name(PskHash h) noexcept {
  return h == PskHash::Sha256 ? "sha256" : h == PskHash::Sha384 ? "sha384" : "none";
}

PskHash identity_hash(const ConfiguredPsk& psk) noexcept {
  if (psk.transform != PskHash::None) return psk.transform;
  return psk.key.size() == 48 ? PskHash::Sha384 : PskHash::Sha256;
}

Result<ConfiguredPsk> parse_tls_key(std::string_view text, std::string_view what) {
  const std::string_view s = auth::trim_key_text(text);
  auto bad = [&](std::string_view rule) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: not a usable TLS PSK: {} (expected NVMeTLSkey-1:HH:<base64>:, as "
                                  "`nvme gen-tls-key` prints it)",
                                  what, rule));
  };
  if (s.substr(0, kPrefix.size()) != kPrefix) return bad("it does not start with NVMeTLSkey-1:");
  std::string_view rest = s.substr(kPrefix.size());
  if (rest.size() < 3 || rest[2] != ':') return bad("the hash indicator HH after NVMeTLSkey-1: is not two digits and a ':'");
  const int hi = auth::key_hex_digit(rest[0]);
  const int lo = auth::key_hex_digit(rest[1]);
  if (hi != 0 || lo < 0 || lo > 2) return bad("the hash indicator HH must be 00 (none), 01 (SHA-256) or 02 (SHA-384)");
  const auto hh = static_cast<PskHash>(lo);
  rest.remove_prefix(3);
  if (rest.empty() || rest.back() != ':') return bad("the base64 key does not end with ':'");
  rest.remove_suffix(1);
  ConfiguredPsk out;
  out.transform = hh;
  if (auto r = auth::decode_key_with_crc(rest, {32, 48}, out.key); !r) return bad(r.error().message);
  if (hh != PskHash::None && out.key.size() != psk_hash_length(hh)) {
    return bad(fmt::format("a key with HH {:02} must be {} bytes, this one is {}", lo, psk_hash_length(hh),
                           out.key.size()));
  }
  return out;
}

std::string format_tls_key(PskHash transform, std::span<const std::uint8_t> key) {
  return fmt::format("{}{:02}:{}:", kPrefix, static_cast<int>(transform), auth::encode_key_with_crc(key));
}

Result<void> hkdf_expand_label(PskHash h, std::span<const std::uint8_t> ikm, std::string_view label,
                               std::string_view context, HkdfEncoding enc, std::span<std::uint8_t> out) {
  // HkdfLabel: RFC 8446 section 7.1, or libnvme's former encoding.
  const std::string full_label = "tls13 " + std::string(label);
  std::vector<std::uint8_t> info;
  const auto len = static_cast<std::uint16_t>(out.size());
  if (enc == HkdfEncoding::Rfc8446) {
    info.push_back(static_cast<std::uint8_t>(len >> 8));
    info.push_back(static_cast<std::uint8_t>(len & 0xff));
    info.push_back(static_cast<std::uint8_t>(full_label.size()));
    info.insert(info.end(), full_label.begin(), full_label.end());
    info.push_back(static_cast<std::uint8_t>(context.size()));
  } else {
    info.push_back(static_cast<std::uint8_t>(len & 0xff));
    info.push_back(static_cast<std::uint8_t>(len >> 8));
    info.insert(info.end(), full_label.begin(), full_label.end());
  }
  info.insert(info.end(), context.begin(), context.end());

  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
  EVP_KDF_CTX* ctx = kdf != nullptr ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return auth::openssl_failure(Errc::Io, "HKDF is not available in this OpenSSL");
  char digest[8];
  std::snprintf(digest, sizeof digest, "%s", h == PskHash::Sha384 ? "SHA384" : "SHA256");
  // Extract's salt left out: HMAC pads the key with zeros, so that is HashLen zeros (RFC 5869).
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end(),
  };
  const int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return auth::openssl_failure(Errc::Io, fmt::format("HKDF-{} failed", psk_hash_name(h)));
  return {};
}

Result<auth::SecretBuf> retained_psk(const ConfiguredPsk& psk, std::string_view hostnqn, HkdfEncoding enc) {
  if (psk.transform == PskHash::None) return auth::SecretBuf(psk.key.bytes());
  auth::SecretBuf out(psk.key.size());
  if (auto r = hkdf_expand_label(psk.transform, psk.key.bytes(), "HostNQN", hostnqn, enc, out.mut_bytes()); !r) {
    return tl::unexpected(r.error());
  }
  return out;
}

Result<std::string> psk_digest(PskHash h, std::span<const std::uint8_t> psk, std::string_view hostnqn,
                               std::string_view subnqn) {
  std::array<std::uint8_t, 48> mac{};
  const std::span<std::uint8_t> out(mac.data(), psk_hash_length(h));
  static constexpr std::string_view kSuffix = " NVMe-over-Fabrics";
  static constexpr std::string_view kSpace = " ";
  if (auto r = auth::hmac(as_auth_hash(h), psk, {as_bytes(hostnqn), as_bytes(kSpace), as_bytes(subnqn), as_bytes(kSuffix)}, out);
      !r) {
    return tl::unexpected(r.error());
  }
  std::string text(4 * ((out.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), out.data(), static_cast<int>(out.size()));
  text.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return text;
}

std::string psk_identity(IdentityVersion v, PskHash h, std::string_view hostnqn, std::string_view subnqn,
                         std::string_view digest) {
  if (v == IdentityVersion::V0) return fmt::format("NVMe0R{:02} {} {}", static_cast<int>(h), hostnqn, subnqn);
  return fmt::format("NVMe1R{:02} {} {} {}", static_cast<int>(h), hostnqn, subnqn, digest);
}

Result<auth::SecretBuf> derive_tls_psk(PskHash h, std::span<const std::uint8_t> psk, std::string_view context,
                                       HkdfEncoding enc) {
  auth::SecretBuf out(psk.size());
  if (auto r = hkdf_expand_label(h, psk, "nvme-tls-psk", context, enc, out.mut_bytes()); !r) {
    return tl::unexpected(r.error());
  }
  return out;
}

Result<TlsPsk> make_tls_psk(const ConfiguredPsk& psk, std::string_view hostnqn, std::string_view subnqn,
                            IdentityVersion v, HkdfEncoding enc) {
  const PskHash h = identity_hash(psk);
  if (psk.key.size() != psk_hash_length(h)) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("a {}-byte TLS PSK cannot be used with {} (identity hash {:02})", psk.key.size(),
                                  psk_hash_name(h), static_cast<int>(h)));
  }
  auto retained = retained_psk(psk, hostnqn, enc);
  if (!retained) return tl::unexpected(retained.error());
  TlsPsk out;
  out.hash = h;
  std::string context;
  if (v == IdentityVersion::V0) {
    out.identity = psk_identity(v, h, hostnqn, subnqn);
    context = out.identity;
  } else {
    auto digest = psk_digest(h, retained->bytes(), hostnqn, subnqn);
    if (!digest) return tl::unexpected(digest.error());
    out.identity = psk_identity(v, h, hostnqn, subnqn, *digest);
    context = fmt::format("{:02} {}", static_cast<int>(h), *digest);
  }
  auto key = derive_tls_psk(h, retained->bytes(), context, enc);
  if (!key) return tl::unexpected(key.error());
  out.key = std::move(*key);
  return out;
}

}  // namespace nvmemp::tls
