// Command identifiers: a 12-bit tag (the request slot) and a 4-bit generation that changes
// each time the slot is reused, so a late or duplicated completion for an earlier command in
// the same slot is caught as a protocol error instead of completing the wrong command (the
// kernel does the same, drivers/nvme/host/nvme.h nvme_cid()).
#pragma once

#include <cstdint>

namespace nvmemp::transport {

inline constexpr std::uint16_t kMaxTags = 4096;  // 12 bits

constexpr std::uint16_t make_cid(std::uint16_t tag, std::uint8_t gen) noexcept {
  return static_cast<std::uint16_t>(((gen & 0xFu) << 12) | (tag & 0xFFFu));
}
constexpr std::uint16_t cid_tag(std::uint16_t cid) noexcept { return cid & 0xFFFu; }
constexpr std::uint8_t cid_gen(std::uint16_t cid) noexcept { return static_cast<std::uint8_t>(cid >> 12); }

}  // namespace nvmemp::transport
