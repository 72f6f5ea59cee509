// Little-endian loads and stores over byte spans. NVMe and NVMe/TCP are little-endian on the
// wire; these helpers never assume alignment and never read past the span they are given
// (callers check the length first; the asserts catch programming errors in debug builds).
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace nvmemp {

using Bytes = std::span<const std::uint8_t>;
using MutBytes = std::span<std::uint8_t>;

inline std::uint8_t load_u8(Bytes b, std::size_t off) {
  assert(off + 1 <= b.size());
  return b[off];
}
inline std::uint16_t load_le16(Bytes b, std::size_t off) {
  assert(off + 2 <= b.size());
  return static_cast<std::uint16_t>(b[off] | (b[off + 1] << 8));
}
inline std::uint32_t load_le32(Bytes b, std::size_t off) {
  assert(off + 4 <= b.size());
  return static_cast<std::uint32_t>(b[off]) | (static_cast<std::uint32_t>(b[off + 1]) << 8) |
         (static_cast<std::uint32_t>(b[off + 2]) << 16) |
         (static_cast<std::uint32_t>(b[off + 3]) << 24);
}
inline std::uint64_t load_le64(Bytes b, std::size_t off) {
  return static_cast<std::uint64_t>(load_le32(b, off)) |
         (static_cast<std::uint64_t>(load_le32(b, off + 4)) << 32);
}

inline void store_u8(MutBytes b, std::size_t off, std::uint8_t v) {
  assert(off + 1 <= b.size());
  b[off] = v;
}
inline void store_le16(MutBytes b, std::size_t off, std::uint16_t v) {
  assert(off + 2 <= b.size());
  b[off] = static_cast<std::uint8_t>(v);
  b[off + 1] = static_cast<std::uint8_t>(v >> 8);
}
inline void store_le32(MutBytes b, std::size_t off, std::uint32_t v) {
  assert(off + 4 <= b.size());
  for (int i = 0; i < 4; ++i) {
    b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
}
inline void store_le64(MutBytes b, std::size_t off, std::uint64_t v) {
  store_le32(b, off, static_cast<std::uint32_t>(v));
  store_le32(b, off + 4, static_cast<std::uint32_t>(v >> 32));
}

// Copies s into a fixed-size field of b, zero-filling the rest (NQNs in Connect data).
// Returns false when s does not fit (with room for one terminating NUL).
inline bool store_cstr(MutBytes b, std::size_t off, std::size_t field_len, std::string_view s) {
  assert(off + field_len <= b.size());
  if (s.size() >= field_len) {
    return false;
  }
  std::memset(b.data() + off, 0, field_len);
  std::memcpy(b.data() + off, s.data(), s.size());
  return true;
}

// A fixed-size text field: up to the first NUL, trailing spaces removed (Identify sn/mn/fr are
// space-padded ASCII, discovery TRADDR/TRSVCID are space-padded, NQNs are NUL-terminated).
inline std::string load_text(Bytes b, std::size_t off, std::size_t field_len) {
  assert(off + field_len <= b.size());
  std::size_t n = 0;
  while (n < field_len && b[off + n] != 0) {
    ++n;
  }
  while (n > 0 && (b[off + n - 1] == ' ')) {
    --n;
  }
  return std::string(reinterpret_cast<const char*>(b.data() + off), n);
}

// Lower-case hex of a byte span ("0a1b..."), for identifiers and messages.
std::string to_hex(Bytes b);

}  // namespace nvmemp
