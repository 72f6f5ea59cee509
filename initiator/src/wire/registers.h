// Controller properties read and written by Property Get/Set (NVMe Base 2.0 section 3.1.4):
// offsets and bit fields of CAP, VS, CC and CSTS, through libnvme's NVME_CAP_* / NVME_CC_* /
// NVME_CSTS_* / NVME_VS_* helpers.
#pragma once

#include <cstdint>

#include "wire/libnvme_types.h"

namespace nvmemp::wire {

inline constexpr std::uint32_t kRegCap = NVME_REG_CAP;    // 0x00, 8 bytes
inline constexpr std::uint32_t kRegVs = NVME_REG_VS;      // 0x08, 4 bytes
inline constexpr std::uint32_t kRegCc = NVME_REG_CC;      // 0x14, 4 bytes
inline constexpr std::uint32_t kRegCsts = NVME_REG_CSTS;  // 0x1C, 4 bytes
static_assert(kRegCap == 0x00 && kRegVs == 0x08 && kRegCc == 0x14 && kRegCsts == 0x1C);

// ---- CAP: Controller Capabilities ----
// Maximum Queue Entries Supported, 0's based (bits 15:0).
constexpr std::uint16_t cap_mqes(std::uint64_t cap) noexcept { return static_cast<std::uint16_t>(NVME_CAP_MQES(cap)); }
// Entries of an I/O queue the host may create: what it wants, at most CAP.MQES + 1 (MQES is
// 0's based) and at most Identify Controller MAXCMD when that is set (fabrics: the most
// commands outstanding on one queue), and at least 2 (the smallest queue, SQSIZE 1).
constexpr std::uint16_t io_queue_entries(std::uint16_t wanted, std::uint16_t mqes, std::uint16_t maxcmd) noexcept {
  std::uint32_t n = wanted;
  if (n > std::uint32_t{mqes} + 1u) n = std::uint32_t{mqes} + 1u;
  if (maxcmd != 0 && n > maxcmd) n = maxcmd;
  return static_cast<std::uint16_t>(n < 2 ? 2 : n);
}
// Contiguous Queues Required (bit 16).
constexpr bool cap_cqr(std::uint64_t cap) noexcept { return NVME_CAP_CQR(cap) != 0; }
// Timeout (bits 31:24), in 500 ms units: the longest CSTS.RDY may take to follow CC.EN.
constexpr std::uint8_t cap_to(std::uint64_t cap) noexcept { return static_cast<std::uint8_t>(NVME_CAP_TO(cap)); }
constexpr std::uint32_t cap_timeout_ms(std::uint64_t cap) noexcept { return cap_to(cap) * 500u; }
// Command Sets Supported (bits 44:37): bit 0 NVM, bit 6 I/O command sets (CSI), bit 7 admin only.
constexpr std::uint8_t cap_css(std::uint64_t cap) noexcept { return static_cast<std::uint8_t>(NVME_CAP_CSS(cap)); }
// Memory page size min/max (bits 51:48, 55:52): 2 ^ (12 + value) bytes.
constexpr std::uint8_t cap_mpsmin(std::uint64_t cap) noexcept { return static_cast<std::uint8_t>(NVME_CAP_MPSMIN(cap)); }
constexpr std::uint8_t cap_mpsmax(std::uint64_t cap) noexcept { return static_cast<std::uint8_t>(NVME_CAP_MPSMAX(cap)); }

// ---- VS: Version (major 31:16, minor 15:8, tertiary 7:0) ----
constexpr std::uint16_t vs_major(std::uint32_t vs) noexcept { return static_cast<std::uint16_t>(NVME_VS_MJR(vs)); }
constexpr std::uint8_t vs_minor(std::uint32_t vs) noexcept { return static_cast<std::uint8_t>(NVME_VS_MNR(vs)); }
constexpr std::uint8_t vs_tertiary(std::uint32_t vs) noexcept { return static_cast<std::uint8_t>(NVME_VS_TER(vs)); }

// ---- CC: Controller Configuration ----
constexpr bool cc_en(std::uint32_t cc) noexcept { return NVME_CC_EN(cc) != 0; }
constexpr std::uint8_t cc_css(std::uint32_t cc) noexcept { return static_cast<std::uint8_t>(NVME_CC_CSS(cc)); }
constexpr std::uint8_t cc_mps(std::uint32_t cc) noexcept { return static_cast<std::uint8_t>(NVME_CC_MPS(cc)); }
constexpr std::uint8_t cc_ams(std::uint32_t cc) noexcept { return static_cast<std::uint8_t>(NVME_CC_AMS(cc)); }
constexpr std::uint8_t cc_shn(std::uint32_t cc) noexcept { return static_cast<std::uint8_t>(NVME_CC_SHN(cc)); }
constexpr std::uint8_t cc_iosqes(std::uint32_t cc) noexcept { return static_cast<std::uint8_t>(NVME_CC_IOSQES(cc)); }
constexpr std::uint8_t cc_iocqes(std::uint32_t cc) noexcept { return static_cast<std::uint8_t>(NVME_CC_IOCQES(cc)); }

// What the host writes to enable the controller: EN, I/O SQ entry 2^6 = 64 bytes, I/O CQ
// entry 2^4 = 16 bytes; CSS 0 (NVM), MPS 0 (4 KiB), AMS 0 (round robin), SHN 0 = 0x460001.
// The kernel writes CSS 6 instead when CAP.CSS bit 6 is set; both targets accept 0.
constexpr std::uint32_t cc_enable_value() noexcept {
  return static_cast<std::uint32_t>(NVME_SET(1, CC_EN) | NVME_SET(6, CC_IOSQES) | NVME_SET(4, CC_IOCQES));
}
static_assert(cc_enable_value() == 0x460001);
// `cc` with SHN = 01b (normal shutdown notification); then wait for CSTS.SHST = 10b.
constexpr std::uint32_t cc_shutdown_value(std::uint32_t cc) noexcept {
  return (cc & ~static_cast<std::uint32_t>(NVME_SET(NVME_CC_SHN_MASK, CC_SHN))) |
         static_cast<std::uint32_t>(NVME_SET(NVME_CC_SHN_NORMAL, CC_SHN));
}

// ---- CSTS: Controller Status ----
constexpr bool csts_rdy(std::uint32_t csts) noexcept { return NVME_CSTS_RDY(csts) != 0; }
constexpr bool csts_cfs(std::uint32_t csts) noexcept { return NVME_CSTS_CFS(csts) != 0; }
// Shutdown status (bits 3:2): 0 normal operation, 1 shutdown occurring, 2 shutdown complete.
constexpr std::uint8_t csts_shst(std::uint32_t csts) noexcept { return static_cast<std::uint8_t>(NVME_CSTS_SHST(csts)); }
inline constexpr std::uint8_t kShstNormal = NVME_CSTS_SHST_NORMAL;
inline constexpr std::uint8_t kShstOccurring = NVME_CSTS_SHST_OCCUR;
inline constexpr std::uint8_t kShstComplete = NVME_CSTS_SHST_CMPLT;

}  // namespace nvmemp::wire
