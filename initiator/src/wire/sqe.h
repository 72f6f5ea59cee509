// NVMe submission and completion queue entries as they travel in NVMe/TCP capsules, and
// builders for the commands nvme-mpath sends. Pure: no I/O, no allocation except where a
// function returns a vector or an error.
//
// Every builder returns an SQE with CID 0 (the queue pair sets it), PSDT = SGL (flags 0x40:
// NVMe/TCP always describes data by SGL, NVMe/TCP 1.0 section 3.3.1) and SGL1 chosen as the
// Linux kernel host does (drivers/nvme/host/tcp.c, nvme_tcp_map_data()):
//   - no data:        SglDescriptor::null()            (0x5A, length 0: nvme_tcp_set_sg_null)
//   - controller to host (Read, Identify, Get Log Page): SglDescriptor::transport(len)
//     (0x5A: the data comes in C2HData PDUs)
//   - host to controller (Write, Dataset Management): sgl_for_write(len, max_icd): in the
//     capsule (0x01, offset 0) when len <= max_icd, else transport(len) (R2T / H2CData).
//     The caller passes max_icd: max_in_capsule_data(IOCCSZ) on I/O queues,
//     kAdminInCapsuleData on the admin queue.
//   - Connect: its 1024 bytes of Connect data always travel in the capsule.
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "nvmemp/result.h"
#include "nvmemp/status.h"
#include "wire/pdu.h"  // kSqeLen, kCqeLen

namespace nvmemp::wire {

// ---- SGL descriptor (NVMe Base 2.0 section 4.1.8, 16 bytes) ----

// addr@0 (u64), length@8 (u32), bytes 12-14 reserved, SGL identifier@15 (type 7:4,
// subtype 3:0). Decoded form; encode()/decode() move it to and from the SQE's DPTR.
struct SglDescriptor {
  static constexpr std::uint8_t kIdDataBlockOffset = 0x01;  // type 0 Data Block, subtype 1 Offset
  static constexpr std::uint8_t kIdTransportDataBlock = 0x5A;  // type 5 Transport Data Block, subtype A
  static constexpr std::size_t kLen = 16;

  std::uint64_t addr = 0;
  std::uint32_t length = 0;
  std::uint8_t id = 0;

  // Data in the command capsule, `offset` bytes after the SQE (ICDOFF; the kernel host and
  // target require 0).
  static constexpr SglDescriptor in_capsule(std::uint32_t len, std::uint32_t offset = 0) noexcept {
    return SglDescriptor{offset, len, kIdDataBlockOffset};
  }
  // Data moved by the transport: C2HData for reads, R2T + H2CData for writes.
  static constexpr SglDescriptor transport(std::uint32_t len) noexcept {
    return SglDescriptor{0, len, kIdTransportDataBlock};
  }
  // No data: the kernel host's nvme_tcp_set_sg_null().
  static constexpr SglDescriptor null() noexcept { return transport(0); }

  constexpr std::uint8_t type() const noexcept { return static_cast<std::uint8_t>(id >> 4); }
  constexpr std::uint8_t subtype() const noexcept { return static_cast<std::uint8_t>(id & 0xF); }

  void encode(MutBytes out) const;  // out.size() >= 16; writes 16 bytes, reserved bytes zero
  static SglDescriptor decode(Bytes in);  // in.size() >= 16

  friend constexpr bool operator==(const SglDescriptor&, const SglDescriptor&) noexcept = default;
};

// ---- Submission queue entry (NVMe Base 2.0 section 4.2, 64 bytes) ----

// opcode@0, flags@1 (FUSE 1:0, PSDT 7:6), CID@2, NSID@4 (FCTYPE@4 in Fabrics commands),
// CDW2@8, CDW3@12, MPTR@16, DPTR (SGL1)@24, CDW10@40 ... CDW15@60: CDWn is at byte 4n.
struct Sqe {
  static constexpr std::uint8_t kFlagsPsdtSgl = 0x40;  // PSDT 01b: SGLs, MPTR a single address
  static constexpr std::size_t kOffOpcode = 0, kOffFlags = 1, kOffCid = 2, kOffNsid = 4, kOffFctype = 4,
                               kOffMptr = 16, kOffDptr = 24;

  std::array<std::uint8_t, kSqeLen> bytes{};

  // An SQE with the opcode, flags 0x40, the NSID and a null SGL: the start of every builder.
  static Sqe with_opcode(std::uint8_t opcode, std::uint32_t nsid = 0) noexcept;
  // Copies the first 64 bytes of `b` (a CapsuleCmd's SQE); fails when fewer are given.
  static Result<Sqe> from_bytes(Bytes b);

  std::uint8_t opcode() const noexcept { return bytes[kOffOpcode]; }
  std::uint8_t flags() const noexcept { return bytes[kOffFlags]; }
  std::uint16_t cid() const noexcept { return load_le16(bytes, kOffCid); }
  void set_cid(std::uint16_t cid) noexcept { store_le16(bytes, kOffCid, cid); }
  std::uint32_t nsid() const noexcept { return load_le32(bytes, kOffNsid); }
  void set_nsid(std::uint32_t nsid) noexcept { store_le32(bytes, kOffNsid, nsid); }
  // Fabrics command type: byte 4 of a Fabrics command (opcode 0x7F) only.
  std::uint8_t fctype() const noexcept { return bytes[kOffFctype]; }
  // Command dword n (0..15) at byte 4n: 2, 3 and 10..15 are the command-specific ones.
  std::uint32_t cdw(unsigned n) const noexcept {
    assert(n < 16);
    return load_le32(bytes, 4 * (n & 15));
  }
  void set_cdw(unsigned n, std::uint32_t v) noexcept {
    assert(n < 16);
    store_le32(bytes, 4 * (n & 15), v);
  }
  SglDescriptor sgl1() const noexcept { return SglDescriptor::decode(Bytes(bytes).subspan(kOffDptr)); }
  void set_sgl1(const SglDescriptor& sgl) noexcept { sgl.encode(MutBytes(bytes).subspan(kOffDptr)); }

  friend bool operator==(const Sqe&, const Sqe&) noexcept = default;
};

// ---- Data placement ----

// The kernel host sends up to 8 KiB of admin command data in the capsule (NVME_TCP_ADMIN_CCSZ).
inline constexpr std::uint32_t kAdminInCapsuleData = 8192;
// In-capsule data bytes an I/O queue takes: IOCCSZ (Identify Controller, 16-byte units)
// x 16 minus the 64-byte SQE; 0 when IOCCSZ is below its minimum of 4.
std::uint32_t max_in_capsule_data(std::uint32_t ioccsz) noexcept;
// SGL1 of a host-to-controller transfer of `len` bytes: in the capsule if it fits.
SglDescriptor sgl_for_write(std::uint32_t len, std::uint32_t max_icd) noexcept;

// ---- Fabrics commands (opcode 0x7F; NVMe over Fabrics 1.1 section 3) ----

inline constexpr std::uint8_t kOpcodeFabrics = 0x7F;
inline constexpr std::uint16_t kCntlidDynamic = 0xFFFF;  // admin Connect: any controller
inline constexpr std::uint8_t kCattrDisableSqFlowControl = 0x04;  // Connect CATTR bit 2
inline constexpr std::size_t kConnectDataLen = 1024;
inline constexpr std::size_t kNqnMaxLen = 223;  // NVMF_NQN_SIZE: bytes, without the NUL
inline constexpr std::size_t kNqnFieldLen = 256;

// Connect SQE fields: RECFMT@40 (0), QID@42, SQSIZE@44, CATTR@46, KATO@48.
struct ConnectParams {
  std::uint16_t qid = 0;     // 0 = admin queue
  std::uint16_t sqsize = 0;  // 0's based: entries - 1 (kernel admin queue: 31)
  std::uint8_t cattr = 0;    // bit 2: disable SQ flow control (when the port's TREQ allows)
  std::uint32_t kato_ms = 0; // keep-alive timeout, admin queue only; 0 = none
  friend bool operator==(const ConnectParams&, const ConnectParams&) = default;
};

using HostId = std::array<std::uint8_t, 16>;

// Connect data, 1024 bytes: HOSTID@0, CNTLID@16, SUBNQN@256, HOSTNQN@512 (libnvme
// struct nvmf_connect_data).
struct ConnectData {
  HostId hostid{};
  std::uint16_t cntlid = kCntlidDynamic;  // 0xFFFF on the admin queue, the admin's on I/O queues
  std::string subnqn;
  std::string hostnqn;
  friend bool operator==(const ConnectData&, const ConnectData&) = default;
};

// SGL in_capsule(1024): the Connect data follows the SQE in the capsule.
Sqe make_connect(const ConnectParams& p) noexcept;
// NQNs must be 1..223 bytes without NUL bytes.
Result<std::array<std::uint8_t, kConnectDataLen>> encode_connect_data(const HostId& hostid, std::uint16_t cntlid,
                                                                      std::string_view subnqn,
                                                                      std::string_view hostnqn);
// Target side: read what a host sent. parse_connect checks opcode, FCTYPE and RECFMT 0;
// parse_connect_data wants exactly 1024 bytes with NUL-terminated NQNs of 1..223 bytes.
Result<ConnectParams> parse_connect(const Sqe& sqe);
Result<ConnectData> parse_connect_data(Bytes data);

// Connect response DW0 on success: CNTLID 15:0 and AUTHREQ, whose bits are ATR (bit 17:
// authentication transaction required) and ASCR (bit 18: authentication and secure
// channel required); bit 16 is obsolete (NVMe Base 2.0 Connect response; kernel
// NVME_CONNECT_AUTHREQ_ATR/ASCR = 1 << 17 / 1 << 18, nvmet sets ATR the same way).
constexpr std::uint16_t connect_cntlid(std::uint32_t dw0) noexcept { return static_cast<std::uint16_t>(dw0); }
constexpr bool connect_authreq_atr(std::uint32_t dw0) noexcept { return (dw0 >> 17) & 1; }
constexpr bool connect_authreq_ascr(std::uint32_t dw0) noexcept { return (dw0 >> 18) & 1; }

inline constexpr std::uint8_t kScConnectInvalidParameters = 0x82;  // SCT 1h: Connect Invalid Parameters
// Connect response DW0 when the status is Connect Invalid Parameters (SCT 1h SC 82h): IATTR
// (bit 16: 0 = the parameter is in the SQE, 1 = in the Connect data) and IPO (bits 15:0: the
// byte offset of the parameter). Names the field, like the kernel's nvmf_log_connect_error():
// "SQSIZE (SQE byte 44)", "HOSTNQN (Connect data byte 512)", "byte 9 of the SQE".
std::string connect_invalid_param(std::uint32_t dw0);
// A refused Connect's status in words, with the invalid parameter named when the status is
// Connect Invalid Parameters: "Connect Invalid Parameters (...): SQSIZE (SQE byte 44)".
std::string connect_status_text(const Status& st, std::uint32_t dw0);

// Property Get/Set: ATTRIB@40 (bit 0: 0 = 4 bytes, 1 = 8 bytes), OFST@44, VALUE@48 (Set).
// A 4-byte Set writes the low 32 bits of `value`. Offsets: registers.h (kRegCap, ...).
Sqe make_property_get(std::uint32_t offset, bool eight_bytes) noexcept;
Sqe make_property_set(std::uint32_t offset, std::uint64_t value, bool eight_bytes) noexcept;
// Disconnect (FCTYPE 0x08, RECFMT 0): ends the association of an I/O queue (NVMe-oF 1.1 3.4).
Sqe make_disconnect() noexcept;
// Authentication Send / Receive (FCTYPE 0x05 / 0x06) for DH-HMAC-CHAP: SPSP0 = SPSP1 = 0x01
// @41/@42, SECP = 0xE9 @43, TL (Send) / AL (Receive) @44 (include/linux/nvme.h
// nvmf_auth_send_command). The Send carries `tl` bytes, in the capsule when they fit max_icd
// (sgl_for_write); the Receive takes `al` bytes by C2HData. Both targets require TL/AL to be the
// transferred length.
inline constexpr std::uint32_t kAuthReceiveLen = 4096;  // what the kernel and SPDK hosts ask for
Sqe make_auth_send(std::uint32_t tl, std::uint32_t max_icd) noexcept;
Sqe make_auth_receive(std::uint32_t al = kAuthReceiveLen) noexcept;

// ---- Admin commands (NVMe Base 2.0 section 5) ----

// Identify (0x06): CDW10 CNS 7:0, CNTID 31:16; CDW11 CSI 31:24; `len` bytes by C2HData.
Sqe make_identify(std::uint8_t cns, std::uint32_t nsid, std::uint16_t cntid = 0, std::uint8_t csi = 0,
                  std::uint32_t len = 4096) noexcept;
// Get Log Page (0x02): CDW10 LID 7:0, LSP 14:8, RAE 15, NUMDL 31:16; CDW11 NUMDU 15:0;
// CDW12/13 LPOL/LPOU (byte offset). NUMD = len/4 - 1. Fails unless len is a non-zero
// multiple of 4, the offset a multiple of 4 and LSP fits in 7 bits.
Result<Sqe> make_get_log_page(std::uint8_t lid, std::uint32_t nsid, std::uint64_t offset_bytes,
                              std::uint32_t len_bytes, std::uint8_t lsp = 0, bool rae = false);
// Set Features (0x09): CDW10 FID 7:0, SV bit 31; CDW11 feature specific. No data.
Sqe make_set_features(std::uint8_t fid, std::uint32_t cdw11, bool save = false) noexcept;
// Get Features (0x0A): CDW10 FID 7:0, SEL 10:8 (0 current, 1 default, 2 saved, 3 capabilities).
// No data: for the features whose value comes back in DW0.
Sqe make_get_features(std::uint8_t fid, std::uint8_t sel = 0, std::uint32_t cdw11 = 0) noexcept;
Sqe make_keep_alive() noexcept;            // 0x18
Sqe make_async_event_request() noexcept;   // 0x0C

// ---- NVM commands (NVM Command Set 1.0 section 3) ----

// NLB is given as a count (1..65536) and encoded 0's based in CDW12 15:0.
inline constexpr std::uint32_t kMaxNlb = 65536;
inline constexpr std::uint32_t kCdw12Fua = 1u << 30;
inline constexpr std::uint32_t kCdw12Deac = 1u << 25;  // Write Zeroes: deallocate

// Read (0x02): SLBA CDW10/11, NLB CDW12 15:0; `len_bytes` (NLB x LBA size) by C2HData.
Result<Sqe> make_read(std::uint32_t nsid, std::uint64_t slba, std::uint32_t nlb, std::uint32_t len_bytes);
// Write (0x01): as Read, FUA CDW12 bit 30; data in the capsule when len_bytes <= max_icd.
Result<Sqe> make_write(std::uint32_t nsid, std::uint64_t slba, std::uint32_t nlb, std::uint32_t len_bytes,
                       std::uint32_t max_icd, bool fua = false);
Sqe make_flush(std::uint32_t nsid) noexcept;  // 0x00
// Write Zeroes (0x08): no data; DEAC CDW12 bit 25, FUA bit 30.
Result<Sqe> make_write_zeroes(std::uint32_t nsid, std::uint64_t slba, std::uint32_t nlb, bool deallocate = false,
                              bool fua = false);

// Dataset Management (0x09) with AD (deallocate, CDW11 bit 2): CDW10 NR 7:0 = ranges - 1;
// the data is nr_ranges x 16 bytes (encode_dsm_ranges), placed by sgl_for_write().
inline constexpr std::size_t kDsmRangeLen = 16;
inline constexpr std::size_t kDsmMaxRanges = 256;
inline constexpr std::uint32_t kDsmAttrDeallocate = 1u << 2;
struct DsmRange {
  std::uint64_t slba = 0;
  std::uint32_t nlb = 0;  // a count, not 0's based (Dataset Management range: LENGTH)
};
Result<Sqe> make_dataset_management_deallocate(std::uint32_t nsid, std::size_t nr_ranges, std::uint32_t max_icd);
// Range i at 16i: CATTR u32@0 (0), NLB u32@4, SLBA u64@8. The count is the builder's check.
std::vector<std::uint8_t> encode_dsm_ranges(std::span<const DsmRange> ranges);

// ---- Completion queue entry (NVMe Base 2.0 section 4.2.1, 16 bytes) ----

// DW0@0, DW1@4, SQHD@8, SQID@10, CID@12, status field + phase tag@14 (phase bit 0).
struct Cqe {
  std::uint32_t dw0 = 0;
  std::uint32_t dw1 = 0;
  std::uint16_t sqhd = 0;
  std::uint16_t sqid = 0;
  std::uint16_t cid = 0;
  Status status;
  bool phase = false;  // meaningless on fabrics, kept for a byte-exact round trip
  friend bool operator==(const Cqe&, const Cqe&) noexcept = default;
};
// `b` must hold at least 16 bytes (a decoded CapsuleResp does); a shorter span is a
// programming error (asserted) and reads as if zero-padded, never past its end.
Cqe decode_cqe(Bytes b) noexcept;
std::array<std::uint8_t, kCqeLen> encode_cqe(const Cqe& c) noexcept;
// Property Get result: DW0 (low) and DW1 (high).
constexpr std::uint64_t property_value(const Cqe& c) noexcept {
  return static_cast<std::uint64_t>(c.dw0) | (static_cast<std::uint64_t>(c.dw1) << 32);
}

// ---- Asynchronous events (NVMe Base 2.0 section 5.2) ----

// AER completion DW0: event type 2:0, event information 15:8, log page 23:16.
struct AsyncEvent {
  std::uint8_t type = 0;      // 2 = notice
  std::uint8_t info = 0;      // for notices: 0x00 NS attribute, 0x03 ANA, 0xF0 discovery log
  std::uint8_t log_page = 0;  // read it (RAE 0) to re-arm the event
  friend constexpr bool operator==(const AsyncEvent&, const AsyncEvent&) noexcept = default;
};
constexpr AsyncEvent decode_async_event(std::uint32_t dw0) noexcept {
  return AsyncEvent{static_cast<std::uint8_t>(dw0 & 0x7), static_cast<std::uint8_t>(dw0 >> 8),
                    static_cast<std::uint8_t>(dw0 >> 16)};
}
inline constexpr std::uint32_t kAenAnaChange = 0x000C0302;          // notice, ANA change, log 0x0C
inline constexpr std::uint32_t kAenNsAttrChanged = 0x00040002;      // notice, NS attribute, log 0x04
inline constexpr std::uint32_t kAenDiscoveryLogChange = 0x0070F002; // notice, discovery, log 0x70
// Set Features 0x0B (Asynchronous Event Configuration) CDW11 bits.
inline constexpr std::uint8_t kFidAsyncEventConfig = 0x0B;
inline constexpr std::uint32_t kAecNsAttr = 1u << 8;
inline constexpr std::uint32_t kAecAna = 1u << 11;
inline constexpr std::uint32_t kAecDiscoveryLogChange = 1u << 31;

}  // namespace nvmemp::wire
