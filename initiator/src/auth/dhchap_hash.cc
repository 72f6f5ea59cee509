#include "auth/dhchap_hash.h"

#include <memory>

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace nvmemp::auth {

namespace {

const char* openssl_name(DhchapHash h) noexcept {
  switch (h) {
    case DhchapHash::Sha256: return "SHA256";
    case DhchapHash::Sha384: return "SHA384";
    case DhchapHash::Sha512: return "SHA512";
    case DhchapHash::None: break;
  }
  return nullptr;
}

struct MacDeleter {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

}  // namespace

tl::unexpected<Error> openssl_failure(Errc code, std::string message) {
  ERR_clear_error();
  return make_error(code, std::move(message));
}

std::size_t hash_length(DhchapHash h) noexcept {
  switch (h) {
    case DhchapHash::Sha256: return 32;
    case DhchapHash::Sha384: return 48;
    case DhchapHash::Sha512: return 64;
    case DhchapHash::None: break;
  }
  return 0;
}

const char* hash_name(DhchapHash h) noexcept {
  switch (h) {
    case DhchapHash::None: return "none";
    case DhchapHash::Sha256: return "sha256";
    case DhchapHash::Sha384: return "sha384";
    case DhchapHash::Sha512: return "sha512";
  }
  return "unknown";
}

bool hash_known(std::uint8_t id) noexcept { return id >= 1 && id <= 3; }

Result<void> hmac(DhchapHash h, std::span<const std::uint8_t> key,
                  std::initializer_list<std::span<const std::uint8_t>> parts, std::span<std::uint8_t> out) {
  const char* name = openssl_name(h);
  if (name == nullptr || out.size() != hash_length(h)) {
    return make_error(Errc::InvalidArgument, fmt::format("HMAC: hash {} with a {}-byte output", hash_name(h), out.size()));
  }
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // thread-safe once fetched
  if (mac == nullptr) {
    return openssl_failure(Errc::Unsupported, "HMAC: OpenSSL has no HMAC implementation (EVP_MAC_fetch)");
  }
  std::unique_ptr<EVP_MAC_CTX, MacDeleter> ctx(EVP_MAC_CTX_new(mac));
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(name), 0),
                         OSSL_PARAM_construct_end()};
  // A zero-length key is legal HMAC; OpenSSL wants a non-null pointer for it.
  static const std::uint8_t kEmpty = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.empty() ? &kEmpty : key.data(), key.size(), params) != 1) {
    return openssl_failure(Errc::Io, fmt::format("HMAC-{}: OpenSSL EVP_MAC_init failed", hash_name(h)));
  }
  for (const auto& p : parts) {
    if (!p.empty() && EVP_MAC_update(ctx.get(), p.data(), p.size()) != 1) {
      return openssl_failure(Errc::Io, fmt::format("HMAC-{}: OpenSSL EVP_MAC_update failed", hash_name(h)));
    }
  }
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    return openssl_failure(Errc::Io, fmt::format("HMAC-{}: OpenSSL EVP_MAC_final failed", hash_name(h)));
  }
  return {};
}

Result<void> digest(DhchapHash h, std::span<const std::uint8_t> data, std::span<std::uint8_t> out) {
  const char* name = openssl_name(h);
  if (name == nullptr || out.size() != hash_length(h)) {
    return make_error(Errc::InvalidArgument, fmt::format("digest: hash {} with a {}-byte output", hash_name(h), out.size()));
  }
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_get_digestbyname(name), nullptr) != 1 ||
      len != out.size()) {
    return openssl_failure(Errc::Io, fmt::format("{}: OpenSSL EVP_Digest failed", hash_name(h)));
  }
  return {};
}

}  // namespace nvmemp::auth
