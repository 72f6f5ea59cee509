// NVMe/TCP PDUs (NVMe/TCP Transport Specification 1.0, section 3.6). libnvme 1.3 has no
// NVMe/TCP structures, so the PDUs are defined here: wire constants with their byte offsets,
// and decoded forms whose spans point into the received bytes (valid while those bytes are).
#pragma once

#include <cstdint>
#include <variant>

#include "common/bytes.h"

namespace nvmemp::wire {

enum class PduType : std::uint8_t {
  IcReq = 0x00,
  IcResp = 0x01,
  H2CTermReq = 0x02,
  C2HTermReq = 0x03,
  CapsuleCmd = 0x04,
  CapsuleResp = 0x05,
  H2CData = 0x06,
  C2HData = 0x07,
  R2T = 0x09,
};

const char* pdu_type_name(std::uint8_t type) noexcept;

// Common header flags (byte 1).
inline constexpr std::uint8_t kFlagHdgst = 0x01;    // HDGSTF: a header digest follows the header
inline constexpr std::uint8_t kFlagDdgst = 0x02;    // DDGSTF: a data digest follows the data
inline constexpr std::uint8_t kFlagLastPdu = 0x04;  // H2CData/C2HData: last PDU of the transfer
inline constexpr std::uint8_t kFlagSuccess = 0x08;  // C2HData: command done, no CapsuleResp

// Common header (8 bytes): type@0 flags@1 hlen@2 pdo@3 plen@4 (u32).
inline constexpr std::size_t kChLen = 8;
inline constexpr std::size_t kOffType = 0, kOffFlags = 1, kOffHlen = 2, kOffPdo = 3, kOffPlen = 4;

// Header lengths (HLEN, without digest) per PDU type.
inline constexpr std::uint8_t kIcHlen = 128;         // ICReq, ICResp; PLEN is 128 too
inline constexpr std::uint8_t kTermReqHlen = 24;     // H2CTermReq, C2HTermReq
inline constexpr std::uint32_t kTermReqMaxPlen = 152;  // 24 + up to 128 bytes of the bad header
inline constexpr std::uint8_t kCapsuleCmdHlen = 72;  // 8 + 64-byte SQE
inline constexpr std::uint8_t kCapsuleRespHlen = 24; // 8 + 16-byte CQE
inline constexpr std::uint8_t kDataHlen = 24;        // H2CData, C2HData
inline constexpr std::uint8_t kR2THlen = 24;
inline constexpr std::size_t kDigestLen = 4;
inline constexpr std::size_t kSqeLen = 64;
inline constexpr std::size_t kCqeLen = 16;
// Largest header section a PDU can have: HLEN 128 + digest, padded to PDO (an 8-bit field).
inline constexpr std::size_t kMaxHeaderSection = 256;

// PDU-specific header field offsets (from the start of the PDU).
inline constexpr std::size_t kOffPfv = 8, kOffPda = 10, kOffDgst = 11, kOffMaxr2t = 12;  // ICReq
inline constexpr std::size_t kOffMaxh2cdata = 12;                                         // ICResp
inline constexpr std::size_t kOffFes = 8, kOffFei = 10;                                   // TermReq
inline constexpr std::size_t kOffCccid = 8, kOffTtag = 10, kOffDatao = 12, kOffDatal = 16;  // data
inline constexpr std::size_t kOffR2to = 12, kOffR2tl = 16;                                // R2T
inline constexpr std::uint8_t kDgstHdr = 0x01, kDgstData = 0x02;                          // DGST bits

// Fatal Error Status of a TermReq (NVMe/TCP 1.0, figure 22/25).
enum class Fes : std::uint16_t {
  None = 0,
  InvalidHeaderField = 0x01,
  PduSequenceError = 0x02,
  HeaderDigestError = 0x03,
  DataOutOfRange = 0x04,
  DataTransferLimitExceeded = 0x05,  // R2T limit exceeded
  UnsupportedParameter = 0x06,
};
const char* fes_name(std::uint16_t fes) noexcept;

struct CommonHeader {
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint8_t hlen = 0;
  std::uint8_t pdo = 0;
  std::uint32_t plen = 0;
};
CommonHeader load_common_header(Bytes b);  // b.size() >= kChLen

// ---- decoded PDUs (host byte order; spans point into the PDU's bytes) ----

struct IcReq {
  std::uint16_t pfv = 0;     // PDU format version: 0
  std::uint8_t hpda = 0;     // host PDU data alignment, 0's based dwords (0..31)
  bool hdgst = false;        // header digest requested
  bool ddgst = false;        // data digest requested
  std::uint32_t maxr2t = 0;  // max outstanding R2Ts per command, 0's based
};

struct IcResp {
  std::uint16_t pfv = 0;
  std::uint8_t cpda = 0;           // controller PDU data alignment, 0's based dwords
  bool hdgst = false;              // header digest enabled
  bool ddgst = false;              // data digest enabled
  std::uint32_t maxh2cdata = 0;    // bytes of data in one H2CData PDU, >= 4096, multiple of 4
};

struct TermReq {
  std::uint16_t fes = 0;  // Fes
  std::uint32_t fei = 0;  // field error information (byte offset for InvalidHeaderField)
  Bytes data;             // the header of the PDU in error, up to 128 bytes
};
struct H2CTermReq : TermReq {};
struct C2HTermReq : TermReq {};

struct CapsuleCmd {
  Bytes sqe;   // 64 bytes
  Bytes data;  // in-capsule data (may be empty)
};

struct CapsuleResp {
  Bytes cqe;  // 16 bytes
};

struct H2CData {
  std::uint16_t cccid = 0;  // command capsule CID
  std::uint16_t ttag = 0;   // transfer tag from the R2T
  std::uint32_t datao = 0;  // offset of this data in the command's buffer
  bool last = false;        // LAST_PDU
  Bytes data;               // DATAL bytes
};

struct C2HData {
  std::uint16_t cccid = 0;
  std::uint32_t datao = 0;
  bool last = false;     // LAST_PDU
  bool success = false;  // SUCCESS: no CapsuleResp follows (only with LAST_PDU)
  Bytes data;
};

struct R2T {
  std::uint16_t cccid = 0;
  std::uint16_t ttag = 0;
  std::uint32_t r2to = 0;  // offset requested
  std::uint32_t r2tl = 0;  // length requested
};

using PduBody =
    std::variant<IcReq, IcResp, H2CTermReq, C2HTermReq, CapsuleCmd, CapsuleResp, H2CData, C2HData, R2T>;

struct Pdu {
  CommonHeader ch;
  PduBody body;
  Bytes raw;  // the whole PDU, PLEN bytes
  // False when the data digest did not match: the receiver fails the command this data
  // belongs to (Transient Transport Error), not the connection.
  bool data_digest_ok = true;
};

}  // namespace nvmemp::wire
