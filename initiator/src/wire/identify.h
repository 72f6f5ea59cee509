// Parsers of Identify data (NVMe Base 2.0, Identify command): Identify Controller (CNS 01h),
// Identify Namespace (CNS 00h), the active namespace list (CNS 02h) and the Namespace
// Identification Descriptor list (CNS 03h). Pure functions over bytes received from a
// controller: they check every length before reading, never throw, and return an Error that
// says what, where and why. They decode; policy (SUBNQN must match the connected NQN, SGL
// support required, ...) is the caller's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "nvmemp/result.h"

namespace nvmemp::wire {

// Every Identify data structure the host reads is 4096 bytes (NVMe Base 2.0, Identify command).
inline constexpr std::size_t kIdentifyDataSize = 4096;

// Identify Controller (CNS 01h), the fields the host uses. Names are the spec's.
struct IdentifyController {
  std::uint16_t vid = 0;    // PCI vendor id (0 on nvmet)
  std::uint16_t ssvid = 0;  // PCI subsystem vendor id
  std::string sn;           // serial number, trailing spaces removed
  std::string mn;           // model number, trailing spaces removed
  std::string fr;           // firmware revision, trailing spaces removed
  std::uint32_t ieee = 0;   // IEEE OUI, 24 bits (bytes 73..75 read little-endian)
  std::uint8_t cmic = 0;    // b0 multi-port, b1 multi-controller, b3 ANA reporting
  std::uint8_t mdts = 0;    // max data transfer, 2^mdts units of CAP.MPSMIN; 0 = no limit
  std::uint16_t cntlid = 0;
  std::uint32_t ver = 0;     // major 31:16, minor 15:8, tertiary 7:0
  std::uint32_t oaes = 0;    // optional asynchronous events supported (b11 ANA change)
  std::uint32_t ctratt = 0;  // controller attributes (b6 TBKAS)
  std::array<std::uint16_t, 3> crdt{};  // CRDT1..CRDT3, command retry delay in 100 ms units
  std::uint8_t acl = 0;   // abort command limit, 0-based
  std::uint8_t aerl = 0;  // async event request limit, 0-based
  std::uint8_t lpa = 0;   // log page attributes
  std::uint16_t kas = 0;  // keep-alive granularity, 100 ms units (0: keep-alive unsupported)
  std::uint8_t anatt = 0;         // ANA transition time, seconds
  std::uint8_t anacap = 0;        // b0-4 states reported, b6 grpid fixed, b7 grpid != 0
  std::uint32_t anagrpmax = 0;    // largest ANA group id
  std::uint32_t nanagrpid = 0;    // number of ANA group ids
  // Command Quiesce Time (bytes 387:386, added after NVMe Base 2.0; 0: not reported): the
  // worst-case time, in milliseconds, the controller needs to quiesce its outstanding
  // commands after a keep-alive timeout or other loss of communication.
  std::uint16_t cqt_ms = 0;
  std::uint8_t sqes = 0;          // 3:0 required, 7:4 max SQ entry size, log2 bytes
  std::uint8_t cqes = 0;          // 3:0 required, 7:4 max CQ entry size, log2 bytes
  std::uint16_t maxcmd = 0;       // max outstanding commands per queue (fabrics)
  std::uint32_t nn = 0;           // number of namespaces (largest valid NSID)
  std::uint16_t oncs = 0;         // optional NVM commands supported
  std::uint16_t fuses = 0;        // fused operations supported
  std::uint8_t vwc = 0;           // volatile write cache
  std::uint32_t sgls = 0;         // SGL support (1:0 != 0: SGLs supported)
  std::uint32_t mnan = 0;         // max number of allowed namespaces
  std::string subnqn;             // NVM subsystem NQN, up to the first NUL
  std::uint32_t ioccsz = 0;       // I/O queue command capsule size, 16-byte units
  std::uint32_t iorcsz = 0;       // I/O queue response capsule size, 16-byte units
  std::uint16_t icdoff = 0;       // in-capsule data offset, 16-byte units
  std::uint8_t fcatt = 0;         // fabrics controller attributes (b0 dynamic model)
  std::uint8_t msdbd = 0;         // max SGL data block descriptors

  bool multi_ctrl() const { return (cmic & 0x02) != 0; }
  bool ana_supported() const { return (cmic & 0x08) != 0; }
  bool tbkas() const { return (ctratt & (1u << 6)) != 0; }  // traffic-based keep-alive
  bool sgl_supported() const { return (sgls & 0x3) != 0; }
};

// One entry of the LBA format table (NVM Command Set 1.0, "LBA Format Data Structure").
struct LbaFormat {
  std::uint16_t ms = 0;    // metadata bytes per LBA
  std::uint8_t lbads = 0;  // LBA data size, log2 bytes
  std::uint8_t rp = 0;     // relative performance, bits 1:0
};

// Identify Namespace (CNS 00h; NVM Command Set 1.0, "Identify Namespace Data Structure").
// nsze 0 means the NSID is inactive: the controller returns zeros; the LBA fields of the format
// in use are then 0 unless the data names a valid one.
struct IdentifyNamespace {
  std::uint64_t nsze = 0;  // size in logical blocks
  std::uint64_t ncap = 0;
  std::uint64_t nuse = 0;
  std::uint8_t nsfeat = 0;
  std::uint8_t nlbaf = 0;  // number of LBA formats, 0-based
  std::uint8_t flbas = 0;  // 3:0 format index, 4 metadata at end of LBA, 6:5 index bits 5:4
  std::uint8_t nmic = 0;   // b0 shared (may be attached to several controllers)
  std::uint32_t anagrpid = 0;
  std::array<std::uint8_t, 16> nguid{};  // all zeros: none reported
  std::array<std::uint8_t, 8> eui64{};   // all zeros: none reported
  std::vector<LbaFormat> lbaf;           // nlbaf + 1 entries
  std::uint8_t lbaf_index = 0;           // the format in use (from flbas)
  std::uint8_t lbads = 0;                // of the format in use, 9..31 on an active namespace
  std::uint16_t ms = 0;                  // of the format in use

  bool active() const { return nsze != 0; }
  bool shared() const { return (nmic & 0x01) != 0; }
  bool extended_lba() const { return (flbas & 0x10) != 0; }
  std::uint64_t lba_size() const { return lbads == 0 ? 0 : std::uint64_t{1} << lbads; }
  bool has_nguid() const;
  bool has_eui64() const;
};

// Namespace Identification Descriptor list (CNS 03h; NVMe Base 2.0, "Namespace Identification
// Descriptor"): each type at most once.
struct NsIdDescriptors {
  std::optional<std::array<std::uint8_t, 8>> eui64;   // NIDT 1
  std::optional<std::array<std::uint8_t, 16>> nguid;  // NIDT 2
  std::optional<std::array<std::uint8_t, 16>> uuid;   // NIDT 3
  std::optional<std::uint8_t> csi;                    // NIDT 4 (0 = NVM command set)
};

// CNS 01h. Needs at least 4096 bytes (reads the first 4096).
[[nodiscard]] Result<IdentifyController> parse_identify_controller(Bytes data);

// CNS 00h. Needs at least 4096 bytes. Checks nlbaf <= 63, the flbas index <= nlbaf and, on an
// active namespace, lbads in 9..31.
[[nodiscard]] Result<IdentifyNamespace> parse_identify_namespace(Bytes data);

// CNS 03h: walks {NIDT@0, NIDL@1, NID@4} until NIDT 0 or the end of `data`. Known types must
// have their own length (1:8, 2:16, 3:16, 4:1); unknown types are skipped by NIDL; a type seen
// twice or a descriptor running past the end is an error.
[[nodiscard]] Result<NsIdDescriptors> parse_ns_id_descriptors(Bytes data);

// CNS 02h: NSIDs up to the first 0, strictly increasing, none 0xFFFFFFFF. `data` must be a
// multiple of 4 bytes.
[[nodiscard]] Result<std::vector<std::uint32_t>> parse_active_ns_list(Bytes data);

// Index of the LBA format in use (NVM Command Set 1.0, FLBAS; the kernel's nvme_lbaf_index()):
// bits 6:5 are the upper index bits only when nlbaf > 16.
std::uint8_t flbas_index(std::uint8_t flbas, std::uint8_t nlbaf);

// "9c0b5e2a-6f1d-4c3b-8a7e-000000000001": RFC 4122 text of a UUID NID (bytes in wire order).
std::string format_uuid(const std::array<std::uint8_t, 16>& uuid);

}  // namespace nvmemp::wire
