// SecretBuf: bytes of a secret (a DH-HMAC-CHAP key, a transformed key, a DH private value, a TLS
// PSK). They live in OpenSSL's secure heap (mmap'ed, locked where RLIMIT_MEMLOCK allows, marked
// MADV_DONTDUMP so a core dump never holds them) and are wiped when freed. Move-only: a secret
// is never copied by accident. Nothing here formats or logs the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace nvmemp::auth {

class SecretBuf {
 public:
  SecretBuf() noexcept = default;
  // `n` zero bytes. Allocation failure is fatal (std::bad_alloc), as for any other buffer.
  explicit SecretBuf(std::size_t n);
  SecretBuf(std::span<const std::uint8_t> bytes);  // copies, e.g. out of a decode buffer
  ~SecretBuf();
  SecretBuf(SecretBuf&& o) noexcept;
  SecretBuf& operator=(SecretBuf&& o) noexcept;
  SecretBuf(const SecretBuf&) = delete;
  SecretBuf& operator=(const SecretBuf&) = delete;

  std::uint8_t* data() noexcept { return p_; }
  const std::uint8_t* data() const noexcept { return p_; }
  std::size_t size() const noexcept { return n_; }
  bool empty() const noexcept { return n_ == 0; }
  std::span<const std::uint8_t> bytes() const noexcept { return {p_, n_}; }
  std::span<std::uint8_t> mut_bytes() noexcept { return {p_, n_}; }
  // Constant-time comparison (a received response against the expected one).
  bool equals(std::span<const std::uint8_t> other) const noexcept;

 private:
  void release() noexcept;
  std::uint8_t* p_ = nullptr;
  std::size_t n_ = 0;
};

// Wipes a buffer that held secret bytes outside a SecretBuf (a base64 decode, an OpenSSL
// output): the compiler may not drop it as a dead store.
void wipe(std::span<std::uint8_t> bytes) noexcept;
void wipe(std::span<char> bytes) noexcept;
// The same for a string that held a key (its text, a copy), which is then emptied.
void wipe(std::string& s) noexcept;

}  // namespace nvmemp::auth
