#include "auth/secret_buf.h"

#include <cstring>
#include <mutex>
#include <new>

#include <openssl/crypto.h>

namespace nvmemp::auth {

namespace {

// One secure arena per process, set up on first use. 64 KiB holds hundreds of keys; when it is
// full (or could not be set up) OPENSSL_secure_zalloc falls back to the normal heap, and the
// bytes are still wiped on free.
void init_secure_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (CRYPTO_secure_malloc_initialized() == 0) {
      (void)CRYPTO_secure_malloc_init(64 * 1024, 16);
    }
  });
}

}  // namespace

SecretBuf::SecretBuf(std::size_t n) {
  if (n == 0) return;
  init_secure_heap();
  p_ = static_cast<std::uint8_t*>(OPENSSL_secure_zalloc(n));
  if (p_ == nullptr) throw std::bad_alloc();
  n_ = n;
}

SecretBuf::SecretBuf(std::span<const std::uint8_t> bytes) : SecretBuf(bytes.size()) {
  if (!bytes.empty()) std::memcpy(p_, bytes.data(), bytes.size());
}

SecretBuf::~SecretBuf() { release(); }

SecretBuf::SecretBuf(SecretBuf&& o) noexcept : p_(o.p_), n_(o.n_) {
  o.p_ = nullptr;
  o.n_ = 0;
}

SecretBuf& SecretBuf::operator=(SecretBuf&& o) noexcept {
  if (this != &o) {
    release();
    p_ = o.p_;
    n_ = o.n_;
    o.p_ = nullptr;
    o.n_ = 0;
  }
  return *this;
}

void SecretBuf::release() noexcept {
  if (p_ != nullptr) OPENSSL_secure_clear_free(p_, n_);
  p_ = nullptr;
  n_ = 0;
}

bool SecretBuf::equals(std::span<const std::uint8_t> other) const noexcept {
  return other.size() == n_ && (n_ == 0 || CRYPTO_memcmp(p_, other.data(), n_) == 0);
}

void wipe(std::span<std::uint8_t> bytes) noexcept {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

}  // namespace nvmemp::auth
