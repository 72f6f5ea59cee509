#include "auth/dh_group.h"

#include "auth/dhchap_hash.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

namespace nvmemp::auth {

namespace {

const char* openssl_group(DhGroup g) noexcept {
  switch (g) {
    case DhGroup::Ffdhe2048: return "ffdhe2048";
    case DhGroup::Ffdhe3072: return "ffdhe3072";
    case DhGroup::Ffdhe4096: return "ffdhe4096";
    case DhGroup::Ffdhe6144: return "ffdhe6144";
    case DhGroup::Ffdhe8192: return "ffdhe8192";
    case DhGroup::Null: break;
  }
  return nullptr;
}

struct Free {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, Free>;

}  // namespace

bool dh_group_known(std::uint8_t id) noexcept { return id <= 5; }

const char* dh_group_name(DhGroup g) noexcept {
  if (g == DhGroup::Null) return "null";
  const char* n = openssl_group(g);
  return n != nullptr ? n : "unknown";
}

std::size_t dh_value_length(DhGroup g) noexcept {
  switch (g) {
    case DhGroup::Null: return 0;
    case DhGroup::Ffdhe2048: return 256;
    case DhGroup::Ffdhe3072: return 384;
    case DhGroup::Ffdhe4096: return 512;
    case DhGroup::Ffdhe6144: return 768;
    case DhGroup::Ffdhe8192: return 1024;
  }
  return 0;
}

void DhKeyPair::KeyDeleter::operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }

DhKeyPair::DhKeyPair(DhGroup g, EVP_PKEY* key, std::vector<std::uint8_t> pub) noexcept
    : group_(g), key_(key), public_(std::move(pub)) {}

DhKeyPair::~DhKeyPair() = default;

Result<DhKeyPair> DhKeyPair::generate(DhGroup g) {
  const char* name = openssl_group(g);
  if (name == nullptr) {
    return make_error(Errc::InvalidArgument, fmt::format("DH group {} has no key pair", dh_group_name(g)));
  }
  Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(name), 0),
                         OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_params(ctx.get(), params) != 1 ||
      EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL could not generate a key pair", name));
  }
  Owned<EVP_PKEY> key(raw);
  BIGNUM* pub_raw = nullptr;
  if (EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, &pub_raw) != 1) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL gave no public value", name));
  }
  Owned<BIGNUM> pub(pub_raw);
  std::vector<std::uint8_t> value(dh_value_length(g));
  if (BN_bn2binpad(pub.get(), value.data(), static_cast<int>(value.size())) < 0) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: the public value does not fit {} bytes", name, value.size()));
  }
  return DhKeyPair(g, key.release(), std::move(value));
}

Result<DhKeyPair> DhKeyPair::from_private(DhGroup g, std::span<const std::uint8_t> x) {
  const char* name = openssl_group(g);
  if (name == nullptr || x.empty()) {
    return make_error(Errc::InvalidArgument, fmt::format("DH group {}: no private value", dh_group_name(g)));
  }
  // y = 2^x mod p, computed here: OpenSSL derives no public key from fromdata(). The private
  // value lives in the secure heap and is cleared when freed.
  std::unique_ptr<BIGNUM, decltype(&BN_clear_free)> priv(BN_secure_new(), &BN_clear_free);
  if (priv && BN_bin2bn(x.data(), static_cast<int>(x.size()), priv.get()) == nullptr) priv.reset();
  if (priv) BN_set_flags(priv.get(), BN_FLG_CONSTTIME);
  Owned<EVP_PKEY_CTX> pctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  OSSL_PARAM gp[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(name), 0),
                     OSSL_PARAM_construct_end()};
  EVP_PKEY* params_raw = nullptr;
  if (!priv || !pctx || EVP_PKEY_paramgen_init(pctx.get()) != 1 || EVP_PKEY_CTX_set_params(pctx.get(), gp) != 1 ||
      EVP_PKEY_generate(pctx.get(), &params_raw) != 1) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL could not set up the group", name));
  }
  Owned<EVP_PKEY> params(params_raw);
  BIGNUM* p_raw = nullptr;
  BIGNUM* g_raw = nullptr;
  if (EVP_PKEY_get_bn_param(params.get(), OSSL_PKEY_PARAM_FFC_P, &p_raw) != 1 ||
      EVP_PKEY_get_bn_param(params.get(), OSSL_PKEY_PARAM_FFC_G, &g_raw) != 1) {
    BN_free(p_raw);
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL gave no modulus", name));
  }
  Owned<BIGNUM> p(p_raw);
  Owned<BIGNUM> gen(g_raw);
  Owned<BIGNUM> y(BN_new());
  std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> bctx(BN_CTX_new(), &BN_CTX_free);
  Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!y || !bctx || !bld || BN_mod_exp(y.get(), gen.get(), priv.get(), p.get(), bctx.get()) != 1 ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, name, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) != 1) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL could not build the key", name));
  }
  // The builder puts a secure BIGNUM's bytes in the secure heap; OSSL_PARAM_free clears them.
  Owned<OSSL_PARAM> kp(OSSL_PARAM_BLD_to_param(bld.get()));
  Owned<EVP_PKEY_CTX> fctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY* key_raw = nullptr;
  if (!kp || !fctx || EVP_PKEY_fromdata_init(fctx.get()) != 1 ||
      EVP_PKEY_fromdata(fctx.get(), &key_raw, EVP_PKEY_KEYPAIR, kp.get()) != 1) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL could not take the key", name));
  }
  std::vector<std::uint8_t> value(dh_value_length(g));
  if (BN_bn2binpad(y.get(), value.data(), static_cast<int>(value.size())) < 0) {
    EVP_PKEY_free(key_raw);
    return openssl_failure(Errc::Io, fmt::format("DH {}: the public value does not fit", name));
  }
  return DhKeyPair(g, key_raw, std::move(value));
}

Result<SecretBuf> DhKeyPair::shared_secret(std::span<const std::uint8_t> peer) const {
  const char* name = openssl_group(group_);
  const std::size_t plen = dh_value_length(group_);
  if (name == nullptr || !key_) {
    return make_error(Errc::InvalidArgument, "DH: no key pair to derive a shared secret with");
  }
  if (peer.empty() || peer.size() > plen) {
    return make_error(Errc::Malformed, fmt::format("DH {}: the peer's public value is {} bytes; the group's modulus "
                                                   "is {} bytes",
                                                   name, peer.size(), plen));
  }
  Owned<BIGNUM> y(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
  Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!y || !bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, name, 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, y.get()) != 1) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL could not take the peer's public value", name));
  }
  Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  Owned<EVP_PKEY_CTX> fctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr));
  EVP_PKEY* peer_raw = nullptr;
  if (!params || !fctx || EVP_PKEY_fromdata_init(fctx.get()) != 1 ||
      EVP_PKEY_fromdata(fctx.get(), &peer_raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return openssl_failure(Errc::Malformed, fmt::format("DH {}: the peer's public value is not usable", name));
  }
  Owned<EVP_PKEY> peer_key(peer_raw);
  Owned<EVP_PKEY_CTX> dctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
  if (!dctx || EVP_PKEY_derive_init(dctx.get()) != 1 || EVP_PKEY_CTX_set_dh_pad(dctx.get(), 1) != 1) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL could not set up the derivation", name));
  }
  // validate_peer = 1: the public key check (1 < y < p-1, and y^q = 1 for these safe primes).
  if (EVP_PKEY_derive_set_peer_ex(dctx.get(), peer_key.get(), 1) != 1) {
    return openssl_failure(Errc::Malformed,
                           fmt::format("DH {}: the peer's public value is not a valid element of the group", name));
  }
  SecretBuf z(plen);
  std::size_t zlen = z.size();
  if (EVP_PKEY_derive(dctx.get(), z.data(), &zlen) != 1 || zlen != plen) {
    return openssl_failure(Errc::Io, fmt::format("DH {}: OpenSSL could not derive the shared secret", name));
  }
  return z;
}

}  // namespace nvmemp::auth
