#include "auth/secret_buf.h"

#include <cstring>
#include <mutex>
#include <new>

#include <openssl/crypto.h>

#include "common/log.h"

namespace nvmemp::auth {

namespace {

// One secure arena per process, set up on first use and shared with OpenSSL's own secure
// allocations (DH private keys). 1 MiB holds the keys, DH secrets (up to 1 KiB each for
// ffdhe8192) and private keys of hundreds of queues authenticating at once. When it is full or
// could not be set up, OPENSSL_secure_zalloc falls back to the normal heap: the bytes are still
// wiped on free but could appear in a core dump, which is said once.
void init_secure_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (CRYPTO_secure_malloc_initialized() == 0 && CRYPTO_secure_malloc_init(1024 * 1024, 16) == 0) {
      log(LogLevel::Warn, "OpenSSL's secure heap could not be set up: authentication keys are kept in the normal "
                          "heap (wiped after use, but a core dump could hold them)");
    }
  });
}

void warn_if_not_secure(const void* p) {
  static std::once_flag once;
  if (CRYPTO_secure_allocated(p) == 0) {
    std::call_once(once, [] {
      log(LogLevel::Warn, "OpenSSL's secure heap is full or missing: some authentication secrets are in the normal "
                          "heap (wiped after use, but a core dump could hold them)");
    });
  }
}

}  // namespace

SecretBuf::SecretBuf(std::size_t n) {
  if (n == 0) return;
  init_secure_heap();
  p_ = static_cast<std::uint8_t*>(OPENSSL_secure_zalloc(n));
  if (p_ == nullptr) throw std::bad_alloc();
  n_ = n;
  warn_if_not_secure(p_);
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

void wipe(std::span<char> bytes) noexcept {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

void wipe(std::string& s) noexcept {
  wipe(std::span<char>(s.data(), s.size()));
  s.clear();
}

}  // namespace nvmemp::auth
