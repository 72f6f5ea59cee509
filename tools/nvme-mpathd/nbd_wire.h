// Internal to the NBD codec (nbd_proto.cc, nbd_handshake.cc): NBD's big-endian fields, option
// replies as the handshake sends them, and client-supplied text made fit for a message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "nbd_proto.h"

namespace nvmemp::nbd::detail {

// NBD is big-endian on the wire (bytes.h has only the little-endian NVMe helpers).
inline void put_be16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}
inline void put_be64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  put_be32(out, static_cast<std::uint32_t>(v >> 32));
  put_be32(out, static_cast<std::uint32_t>(v));
}
inline void put_bytes(std::vector<std::uint8_t>& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

inline std::uint16_t get_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
inline std::uint32_t get_be32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | p[3];
}
inline std::uint64_t get_be64(const std::uint8_t* p) {
  return (static_cast<std::uint64_t>(get_be32(p)) << 32) | get_be32(p + 4);
}

inline void option_reply(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint32_t type,
                  std::string_view data = {}) {
  put_be64(out, kOptReplyMagic);
  put_be32(out, option);
  put_be32(out, type);
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  put_bytes(out, data);
}

// Error replies carry a message for the user; the spec caps strings at 4096 bytes.
inline void option_error(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint32_t type, std::string message) {
  if (message.size() > kMaxStringLen) {
    message.resize(kMaxStringLen);
  }
  option_reply(out, option, type, message);
}

// Client-supplied names go into messages: keep them short and printable.
inline std::string printable(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > kMax) {
    out += "...";
  }
  return out;
}

}  // namespace nvmemp::nbd::detail
