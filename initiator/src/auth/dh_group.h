// Finite-field Diffie-Hellman for DH-HMAC-CHAP: the RFC 7919 groups ffdhe2048..8192 by their
// NVMe IDs (DHGID), through OpenSSL 3. A fresh key pair per exchange; public values and the
// shared secret are big-endian integers left-padded to the modulus length, as the kernel and
// SPDK send and hash them (auth-tls-facts.md 1.4, 2, pitfall 4). The private key stays inside
// OpenSSL (freed with EVP_PKEY_free, which clears it); the shared secret comes back in a
// SecretBuf.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "auth/secret_buf.h"
#include "nvmemp/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace nvmemp::auth {

// DHGID values (include/linux/nvme.h NVME_AUTH_DHGROUP_*).
enum class DhGroup : std::uint8_t { Null = 0, Ffdhe2048 = 1, Ffdhe3072 = 2, Ffdhe4096 = 3, Ffdhe6144 = 4, Ffdhe8192 = 5 };

// True for the six IDs above.
bool dh_group_known(std::uint8_t id) noexcept;
// "null", "ffdhe2048", ...; "unknown" outside the list.
const char* dh_group_name(DhGroup g) noexcept;
// Modulus length in bytes: 0 (null), 256, 384, 512, 768, 1024.
std::size_t dh_value_length(DhGroup g) noexcept;

class DhKeyPair {
 public:
  // A new ephemeral key pair in `g` (not Null). ffdhe8192 takes milliseconds: call it off the
  // I/O threads' ring loops.
  [[nodiscard]] static Result<DhKeyPair> generate(DhGroup g);
  // The key pair of a given private exponent (big-endian): for test vectors only; an exchange
  // always uses generate().
  [[nodiscard]] static Result<DhKeyPair> from_private(DhGroup g, std::span<const std::uint8_t> x);

  DhGroup group() const noexcept { return group_; }
  // g^x mod p, padded to dh_value_length(group()).
  const std::vector<std::uint8_t>& public_value() const noexcept { return public_; }
  // (peer)^x mod p, padded to the modulus length. `peer` may be shorter than the modulus (SPDK
  // sends it unpadded); a value outside 2..p-2 is refused (OpenSSL's public key check).
  [[nodiscard]] Result<SecretBuf> shared_secret(std::span<const std::uint8_t> peer) const;

  DhKeyPair(DhKeyPair&&) noexcept = default;
  DhKeyPair& operator=(DhKeyPair&&) noexcept = default;
  ~DhKeyPair();

 private:
  struct KeyDeleter {
    void operator()(EVP_PKEY* k) const noexcept;
  };
  DhKeyPair(DhGroup g, EVP_PKEY* key, std::vector<std::uint8_t> pub) noexcept;
  DhGroup group_ = DhGroup::Null;
  std::unique_ptr<EVP_PKEY, KeyDeleter> key_;
  std::vector<std::uint8_t> public_;
};

}  // namespace nvmemp::auth
