#include "wire/identify.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "wire/libnvme_types.h"  // libnvme 1.3 spec structs, as a system header

namespace nvmemp::wire {
namespace {

// libnvme 1.3's structs give the offsets; pin them to the spec so a libnvme change that moved
// a field breaks the build rather than the parse (offsets from NVMe Base 2.0 / NVM CS 1.0).
static_assert(sizeof(struct nvme_id_ctrl) == kIdentifyDataSize);
static_assert(offsetof(struct nvme_id_ctrl, ieee) == 73);
static_assert(offsetof(struct nvme_id_ctrl, cmic) == 76);
static_assert(offsetof(struct nvme_id_ctrl, cntlid) == 78);
static_assert(offsetof(struct nvme_id_ctrl, oaes) == 92);
static_assert(offsetof(struct nvme_id_ctrl, ctratt) == 96);
static_assert(offsetof(struct nvme_id_ctrl, crdt1) == 128);
static_assert(offsetof(struct nvme_id_ctrl, kas) == 320);
static_assert(offsetof(struct nvme_id_ctrl, anatt) == 342);
static_assert(offsetof(struct nvme_id_ctrl, nanagrpid) == 348);
// CQT is newer than libnvme 1.3, which still has bytes 384..511 reserved: its offset is the
// spec's (the kernel's struct nvme_id_ctrl has it at the same place), pinned inside that gap.
constexpr std::size_t kCqtOffset = 386;
static_assert(offsetof(struct nvme_id_ctrl, rsvd384) == 384 && kCqtOffset + 2 <= 384 + sizeof(nvme_id_ctrl::rsvd384));
static_assert(offsetof(struct nvme_id_ctrl, maxcmd) == 514);
static_assert(offsetof(struct nvme_id_ctrl, sgls) == 536);
static_assert(offsetof(struct nvme_id_ctrl, mnan) == 540);
static_assert(offsetof(struct nvme_id_ctrl, subnqn) == 768);
static_assert(offsetof(struct nvme_id_ctrl, ioccsz) == 1792);
static_assert(offsetof(struct nvme_id_ctrl, icdoff) == 1800);
static_assert(offsetof(struct nvme_id_ctrl, msdbd) == 1803);

static_assert(sizeof(struct nvme_id_ns) == kIdentifyDataSize);
static_assert(offsetof(struct nvme_id_ns, flbas) == 26);
static_assert(offsetof(struct nvme_id_ns, nmic) == 30);
static_assert(offsetof(struct nvme_id_ns, anagrpid) == 92);
static_assert(offsetof(struct nvme_id_ns, nguid) == 104);
static_assert(offsetof(struct nvme_id_ns, eui64) == 120);
static_assert(offsetof(struct nvme_id_ns, lbaf) == 128);
static_assert(sizeof(struct nvme_lbaf) == 4 && offsetof(struct nvme_lbaf, ds) == 2);

// NVMe 2.0 widened the LBA format table to 64 entries (nlbaf is 0-based, so at most 63).
constexpr std::size_t kMaxLbaFormats = sizeof(nvme_id_ns::lbaf) / sizeof(nvme_lbaf);
static_assert(kMaxLbaFormats == 64);

// Namespace Identification Descriptor header: NIDT@0, NIDL@1, reserved@2, NID@4.
constexpr std::size_t kNsIdDescHeader = offsetof(struct nvme_ns_id_desc, nid);
static_assert(kNsIdDescHeader == 4);

constexpr std::uint32_t kNsidBroadcast = NVME_NSID_ALL;

template <std::size_t N>
std::array<std::uint8_t, N> load_array(Bytes b, std::size_t off) {
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), b.data() + off, N);  // callers checked off + N <= b.size()
  return out;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t v) { return v == 0; });
}

Result<void> require_identify_size(const char* what, Bytes data) {
  if (data.size() < kIdentifyDataSize) {
    return make_error(Errc::Truncated, fmt::format("{}: {} bytes of data, the structure is {}",
                                                   what, data.size(), kIdentifyDataSize));
  }
  return {};
}

const char* nidt_name(std::uint8_t nidt) {
  switch (nidt) {
    case NVME_NIDT_EUI64: return "EUI-64";
    case NVME_NIDT_NGUID: return "NGUID";
    case NVME_NIDT_UUID: return "UUID";
    case NVME_NIDT_CSI: return "CSI";
    default: return "unknown";
  }
}

}  // namespace

Result<IdentifyController> parse_identify_controller(Bytes data) {
  if (auto ok = require_identify_size("Identify Controller", data); !ok) {
    return tl::unexpected(ok.error());
  }
  // From here every field lies inside the first 4096 bytes (static_asserts above).
  const Bytes b = data.first(kIdentifyDataSize);
  using C = struct nvme_id_ctrl;
  IdentifyController c;
  c.vid = load_le16(b, offsetof(C, vid));
  c.ssvid = load_le16(b, offsetof(C, ssvid));
  c.sn = load_text(b, offsetof(C, sn), sizeof(C::sn));
  c.mn = load_text(b, offsetof(C, mn), sizeof(C::mn));
  c.fr = load_text(b, offsetof(C, fr), sizeof(C::fr));
  // IEEE OUI: 3 bytes, least significant first (SPDK's Intel OUI 5C-D2-E4 is e4 d2 5c).
  const std::size_t ieee = offsetof(C, ieee);
  c.ieee = static_cast<std::uint32_t>(b[ieee]) | (static_cast<std::uint32_t>(b[ieee + 1]) << 8) |
           (static_cast<std::uint32_t>(b[ieee + 2]) << 16);
  c.cmic = load_u8(b, offsetof(C, cmic));
  c.mdts = load_u8(b, offsetof(C, mdts));
  c.cntlid = load_le16(b, offsetof(C, cntlid));
  c.ver = load_le32(b, offsetof(C, ver));
  c.oaes = load_le32(b, offsetof(C, oaes));
  c.ctratt = load_le32(b, offsetof(C, ctratt));
  c.crdt = {load_le16(b, offsetof(C, crdt1)), load_le16(b, offsetof(C, crdt2)),
            load_le16(b, offsetof(C, crdt3))};
  c.acl = load_u8(b, offsetof(C, acl));
  c.aerl = load_u8(b, offsetof(C, aerl));
  c.lpa = load_u8(b, offsetof(C, lpa));
  c.kas = load_le16(b, offsetof(C, kas));
  c.anatt = load_u8(b, offsetof(C, anatt));
  c.anacap = load_u8(b, offsetof(C, anacap));
  c.anagrpmax = load_le32(b, offsetof(C, anagrpmax));
  c.nanagrpid = load_le32(b, offsetof(C, nanagrpid));
  c.cqt_ms = load_le16(b, kCqtOffset);
  c.sqes = load_u8(b, offsetof(C, sqes));
  c.cqes = load_u8(b, offsetof(C, cqes));
  c.maxcmd = load_le16(b, offsetof(C, maxcmd));
  c.nn = load_le32(b, offsetof(C, nn));
  c.oncs = load_le16(b, offsetof(C, oncs));
  c.fuses = load_le16(b, offsetof(C, fuses));
  c.vwc = load_u8(b, offsetof(C, vwc));
  c.sgls = load_le32(b, offsetof(C, sgls));
  c.mnan = load_le32(b, offsetof(C, mnan));
  c.subnqn = load_text(b, offsetof(C, subnqn), sizeof(C::subnqn));
  c.ioccsz = load_le32(b, offsetof(C, ioccsz));
  c.iorcsz = load_le32(b, offsetof(C, iorcsz));
  c.icdoff = load_le16(b, offsetof(C, icdoff));
  c.fcatt = load_u8(b, offsetof(C, fcatt));
  c.msdbd = load_u8(b, offsetof(C, msdbd));
  return c;
}

bool IdentifyNamespace::has_nguid() const { return !all_zero(nguid); }
bool IdentifyNamespace::has_eui64() const { return !all_zero(eui64); }

std::uint8_t flbas_index(std::uint8_t flbas, std::uint8_t nlbaf) {
  // Bits 6:5 were reserved before NVMe 2.0; the kernel reads them only when nlbaf > 16 (it
  // compares the 0-based count, so do we).
  if (nlbaf > 16) {
    return static_cast<std::uint8_t>((flbas & 0x0F) | (((flbas >> 5) & 0x03) << 4));
  }
  return static_cast<std::uint8_t>(flbas & 0x0F);
}

Result<IdentifyNamespace> parse_identify_namespace(Bytes data) {
  if (auto ok = require_identify_size("Identify Namespace", data); !ok) {
    return tl::unexpected(ok.error());
  }
  const Bytes b = data.first(kIdentifyDataSize);
  using N = struct nvme_id_ns;
  IdentifyNamespace ns;
  ns.nsze = load_le64(b, offsetof(N, nsze));
  ns.ncap = load_le64(b, offsetof(N, ncap));
  ns.nuse = load_le64(b, offsetof(N, nuse));
  ns.nsfeat = load_u8(b, offsetof(N, nsfeat));
  ns.nlbaf = load_u8(b, offsetof(N, nlbaf));
  ns.flbas = load_u8(b, offsetof(N, flbas));
  ns.nmic = load_u8(b, offsetof(N, nmic));
  ns.anagrpid = load_le32(b, offsetof(N, anagrpid));
  ns.nguid = load_array<16>(b, offsetof(N, nguid));
  ns.eui64 = load_array<8>(b, offsetof(N, eui64));

  if (ns.nlbaf >= kMaxLbaFormats) {
    return make_error(Errc::Malformed,
                      fmt::format("Identify Namespace: NLBAF {} at offset {} (0-based) exceeds the "
                                  "{}-entry LBA format table",
                                  ns.nlbaf, offsetof(N, nlbaf), kMaxLbaFormats));
  }
  const std::size_t count = std::size_t{ns.nlbaf} + 1;
  ns.lbaf.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t off = offsetof(N, lbaf) + i * sizeof(struct nvme_lbaf);
    ns.lbaf.push_back(LbaFormat{load_le16(b, off + offsetof(struct nvme_lbaf, ms)),
                                load_u8(b, off + offsetof(struct nvme_lbaf, ds)),
                                static_cast<std::uint8_t>(load_u8(b, off + 3) & 0x03)});
  }

  const std::uint8_t index = flbas_index(ns.flbas, ns.nlbaf);
  const bool index_ok = index <= ns.nlbaf;
  const bool lbads_ok = index_ok && ns.lbaf[index].lbads >= 9 && ns.lbaf[index].lbads <= 31;
  if (!ns.active()) {
    // An inactive NSID (nsze 0) is legal and usually all zeros: represent it, check nothing.
    if (lbads_ok) {
      ns.lbaf_index = index;
      ns.lbads = ns.lbaf[index].lbads;
      ns.ms = ns.lbaf[index].ms;
    }
    return ns;
  }
  if (!index_ok) {
    return make_error(Errc::Malformed,
                      fmt::format("Identify Namespace: FLBAS 0x{:02x} at offset {} selects LBA "
                                  "format {}, but NLBAF {} allows 0..{}",
                                  ns.flbas, offsetof(N, flbas), index, ns.nlbaf, ns.nlbaf));
  }
  if (!lbads_ok) {
    // 512 bytes is the smallest LBA the spec allows; 2^31 keeps lba_size() in 32 bits.
    return make_error(Errc::Malformed,
                      fmt::format("Identify Namespace: LBA format {} at offset {} has LBADS {} "
                                  "({}), must be 9..31 (512 B .. 2 GiB)",
                                  index, offsetof(N, lbaf) + index * sizeof(struct nvme_lbaf),
                                  ns.lbaf[index].lbads,
                                  ns.lbaf[index].lbads < 9 ? "too small" : "too large"));
  }
  ns.lbaf_index = index;
  ns.lbads = ns.lbaf[index].lbads;
  ns.ms = ns.lbaf[index].ms;
  return ns;
}

Result<NsIdDescriptors> parse_ns_id_descriptors(Bytes data) {
  NsIdDescriptors out;
  std::size_t off = 0;
  for (std::size_t index = 0; off < data.size(); ++index) {
    const std::uint8_t nidt = data[off];
    if (nidt == 0) {
      break;  // NIDT 0 ends the list
    }
    if (data.size() - off < kNsIdDescHeader) {
      return make_error(Errc::Truncated,
                        fmt::format("NS ID descriptors: descriptor {} at offset {}: its 4-byte "
                                    "header runs past the end of the {}-byte list",
                                    index, off, data.size()));
    }
    const std::uint8_t nidl = data[off + 1];
    const std::size_t nid = off + kNsIdDescHeader;
    if (data.size() - nid < nidl) {
      return make_error(Errc::Truncated,
                        fmt::format("NS ID descriptors: descriptor {} at offset {} (NIDT {}, {}): "
                                    "NIDL {} runs past the end of the {}-byte list",
                                    index, off, nidt, nidt_name(nidt), nidl, data.size()));
    }
    std::size_t want = 0;
    switch (nidt) {
      case NVME_NIDT_EUI64: want = NVME_NIDT_EUI64_LEN; break;
      case NVME_NIDT_NGUID: want = NVME_NIDT_NGUID_LEN; break;
      case NVME_NIDT_UUID: want = NVME_NIDT_UUID_LEN; break;
      case NVME_NIDT_CSI: want = NVME_NIDT_CSI_LEN; break;
      default: break;  // a type newer than us: skip it by its NIDL
    }
    if (want != 0 && nidl != want) {
      return make_error(Errc::Malformed,
                        fmt::format("NS ID descriptors: descriptor {} at offset {} (NIDT {}, {}): "
                                    "NIDL {}, must be {}",
                                    index, off, nidt, nidt_name(nidt), nidl, want));
    }
    bool duplicate = false;
    switch (nidt) {
      case NVME_NIDT_EUI64:
        duplicate = out.eui64.has_value();
        out.eui64 = load_array<8>(data, nid);
        break;
      case NVME_NIDT_NGUID:
        duplicate = out.nguid.has_value();
        out.nguid = load_array<16>(data, nid);
        break;
      case NVME_NIDT_UUID:
        duplicate = out.uuid.has_value();
        out.uuid = load_array<16>(data, nid);
        break;
      case NVME_NIDT_CSI:
        duplicate = out.csi.has_value();
        out.csi = data[nid];
        break;
      default: break;
    }
    if (duplicate) {
      // Two values of one identifier: the kernel could not tell which one names the namespace.
      return make_error(Errc::Malformed,
                        fmt::format("NS ID descriptors: descriptor {} at offset {}: second {} "
                                    "descriptor (NIDT {}) in one list",
                                    index, off, nidt_name(nidt), nidt));
    }
    off = nid + nidl;
  }
  return out;
}

Result<std::vector<std::uint32_t>> parse_active_ns_list(Bytes data) {
  if (data.size() % 4 != 0) {
    return make_error(Errc::Malformed,
                      fmt::format("active NS list: {} bytes, not a whole number of 4-byte NSIDs",
                                  data.size()));
  }
  std::vector<std::uint32_t> nsids;
  for (std::size_t off = 0; off < data.size(); off += 4) {
    const std::uint32_t nsid = load_le32(data, off);
    if (nsid == 0) {
      break;  // the list ends at the first unused (zero) entry
    }
    if (nsid == kNsidBroadcast) {
      return make_error(Errc::Malformed,
                        fmt::format("active NS list: entry {} at offset {}: NSID 0xffffffff is "
                                    "the broadcast value, not a namespace",
                                    off / 4, off));
    }
    // CNS 02h returns NSIDs in increasing order; anything else is a controller bug that would
    // break the "greater than CDW1.NSID" paging the host does for lists of more than 1024.
    if (!nsids.empty() && nsid <= nsids.back()) {
      return make_error(Errc::Malformed,
                        fmt::format("active NS list: entry {} at offset {}: NSID {} after NSID {}, "
                                    "the list must be strictly increasing",
                                    off / 4, off, nsid, nsids.back()));
    }
    nsids.push_back(nsid);
  }
  return nsids;
}

std::string format_uuid(const std::array<std::uint8_t, 16>& uuid) {
  const std::string hex = to_hex(Bytes(uuid.data(), uuid.size()));
  return fmt::format("{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4),
                     hex.substr(16, 4), hex.substr(20, 12));
}

}  // namespace nvmemp::wire
