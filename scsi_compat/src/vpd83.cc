#include "vpd83.h"

#include <fmt/format.h>

namespace nvmemp::scsi {

namespace {

constexpr std::size_t kHeaderLen = 4;
constexpr std::uint8_t kPageCode = 0x83;

std::string hex(std::span<const std::uint8_t> b) {
  std::string s;
  for (std::uint8_t c : b) s += fmt::format("{:02x}", c);
  return s;
}

// The kernel's %pE with its default flags: printable ASCII as is, every other byte as a
// three-digit octal escape.
std::string escaped(std::span<const std::uint8_t> b) {
  std::string s;
  for (std::uint8_t c : b) {
    if (c >= 0x20 && c < 0x7f) {
      s += static_cast<char>(c);
    } else {
      s += fmt::format("\\{:03o}", c);
    }
  }
  return s;
}

}  // namespace

std::string designator_type_name(std::uint8_t type) {
  switch (type) {
    case kDesigVendorSpecific: return "vendor specific";
    case kDesigT10VendorId: return "T10 vendor ID";
    case kDesigEui64: return "EUI-64";
    case kDesigNaa: return "NAA";
    case kDesigRelativeTargetPort: return "relative target port";
    case kDesigTargetPortGroup: return "target port group";
    case kDesigLuGroup: return "logical unit group";
    case kDesigMd5LuId: return "MD5 logical unit identifier";
    case kDesigScsiNameString: return "SCSI name string";
    case kDesigProtocolSpecificPort: return "protocol specific port identifier";
    case kDesigUuid: return "UUID";
    default: return fmt::format("type {}", type);
  }
}

Result<std::vector<Designator>> parse_vpd83(std::span<const std::uint8_t> page) {
  if (page.size() < kHeaderLen) {
    return make_error(Errc::Malformed, fmt::format("VPD page 0x83: {} bytes, shorter than its 4-byte header",
                                                   page.size()));
  }
  if (page[1] != kPageCode) {
    return make_error(Errc::Malformed, fmt::format("VPD page 0x83: the page code is {:#04x}", page[1]));
  }
  const std::size_t declared = kHeaderLen + ((std::size_t{page[2]} << 8) | page[3]);
  if (declared > page.size()) {
    return make_error(Errc::Malformed, fmt::format("VPD page 0x83: PAGE LENGTH says {} bytes, {} are there",
                                                   declared, page.size()));
  }
  std::vector<Designator> out;
  std::size_t off = kHeaderLen;
  while (off < declared) {
    if (off + 4 > declared) {
      return make_error(Errc::Malformed, fmt::format("VPD page 0x83: descriptor header at offset {} runs past the "
                                                     "page end ({})", off, declared));
    }
    const std::size_t len = page[off + 3];
    if (off + 4 + len > declared) {
      return make_error(Errc::Malformed, fmt::format("VPD page 0x83: the {} descriptor at offset {} ({} bytes) runs "
                                                     "past the page end ({})",
                                                     designator_type_name(page[off + 1] & 0xF), off, len, declared));
    }
    Designator d;
    d.protocol_id = static_cast<std::uint8_t>(page[off] >> 4);
    d.code_set = static_cast<std::uint8_t>(page[off] & 0xF);
    d.piv = (page[off + 1] & 0x80) != 0;
    d.association = static_cast<Association>((page[off + 1] >> 4) & 0x3);
    d.type = static_cast<std::uint8_t>(page[off + 1] & 0xF);
    d.offset = off;
    d.value.assign(page.begin() + static_cast<std::ptrdiff_t>(off + 4),
                   page.begin() + static_cast<std::ptrdiff_t>(off + 4 + len));
    out.push_back(std::move(d));
    off += 4 + len;
  }
  return out;
}

namespace {

// designator_prio() of drivers/scsi/scsi_lib.c: 0 = not a logical unit identifier.
int lun_prio(const Designator& d) {
  if (d.association != Association::LogicalUnit || d.value.empty()) return 0;
  switch (d.type) {
    case kDesigScsiNameString: return 9;
    case kDesigNaa:
      switch (d.value[0] >> 4) {
        case 6: return 8;  // NAA IEEE Registered Extended
        case 5: return 5;  // NAA IEEE Registered
        case 4: return 4;  // NAA IEEE Extended
        case 3: return 1;  // NAA locally assigned
        default: return 0;
      }
    case kDesigEui64:
      switch (d.value.size()) {
        case 16: return 7;
        case 12: return 6;
        case 8: return 3;
        default: return 0;
      }
    case kDesigT10VendorId: return 1;
    default: return 0;
  }
}

}  // namespace

Result<std::string> vpd83_lun_wwid(std::span<const std::uint8_t> page) {
  auto ds = parse_vpd83(page);
  if (!ds) return tl::unexpected(ds.error());
  // scsi_vpd_lun_id()'s walk: a designator of higher priority (equal: the later one) replaces
  // the current one; within T10 IDs and SCSI name strings a shorter one never replaces a
  // longer one. An NAA of a length other than 8 or 16 takes the priority but leaves the
  // identifier found before, as the kernel's buffer does.
  int cur_prio = 0;
  std::size_t cur_size = 0;
  std::optional<std::string> id;
  for (const Designator& d : *ds) {
    const int prio = lun_prio(d);
    if (prio == 0 || cur_prio > prio) continue;
    const std::size_t n = d.value.size();
    switch (d.type) {
      case kDesigT10VendorId:
        if (cur_size > n) break;
        cur_prio = prio;
        cur_size = n;
        id = "t10." + escaped(d.value);
        break;
      case kDesigEui64:
        cur_prio = prio;
        cur_size = n;
        id = "eui." + hex(d.value);
        break;
      case kDesigNaa:
        cur_prio = prio;
        cur_size = n;
        if (n == 8 || n == 16) id = "naa." + hex(d.value);
        break;
      case kDesigScsiNameString:
        if (cur_size > n) break;
        cur_prio = prio;
        cur_size = n;
        id = std::string(d.value.begin(), d.value.end());
        break;
      default: break;
    }
  }
  if (!id) {
    return make_error(Errc::NotFound, "VPD page 0x83 has no logical unit designator the kernel takes as the wwid "
                                      "(SCSI name string, NAA, EUI-64 of 8/12/16 bytes, T10 vendor ID)");
  }
  return *id;
}

Result<PortIds> vpd83_port_ids(std::span<const std::uint8_t> page) {
  auto ds = parse_vpd83(page);
  if (!ds) return tl::unexpected(ds.error());
  PortIds p;
  for (const Designator& d : *ds) {
    if (d.association != Association::TargetPort || d.value.size() < 4) continue;
    const auto v = static_cast<std::uint16_t>((d.value[2] << 8) | d.value[3]);
    if (d.type == kDesigRelativeTargetPort) p.relative_port = v;
    if (d.type == kDesigTargetPortGroup) p.target_port_group = v;
  }
  return p;
}

std::string normalize_wwid(std::string_view wwid) {
  while (!wwid.empty() && (wwid.back() == '\n' || wwid.back() == '\0')) wwid.remove_suffix(1);
  return std::string(wwid);
}

}  // namespace nvmemp::scsi
