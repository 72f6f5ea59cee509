// SCSI VPD page 0x83 (Device Identification, SPC-5 7.7.6) as pure functions over the bytes the
// kernel exposes in sysfs (`device/vpd_pg83`: the whole page, 4-byte header included).
//
// - parse_vpd83(): every designator, whatever its type and association, with bounds checked
//   (a descriptor running past the page end is an error naming its offset).
// - vpd83_lun_wwid(): the logical unit's identifier formatted exactly as the kernel's
//   `device/wwid` (drivers/scsi/scsi_lib.c scsi_vpd_lun_id() with designator_prio(), as in
//   Linux 5.10 and later: SCSI name string > NAA registered extended > EUI-64 16 > EUI-64 12 >
//   NAA registered > NAA extended > EUI-64 8 > NAA locally assigned = T10 vendor ID, the later
//   one winning a tie), so a path whose
//   `wwid` attribute is missing gets the identifier the kernel would have shown.
// - vpd83_port_ids(): the relative target port (designator type 4) and target port group
//   (type 5), both of target-port association.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "nvmemp/result.h"

namespace nvmemp::scsi {

enum class Association : std::uint8_t { LogicalUnit = 0, TargetPort = 1, TargetDevice = 2, Reserved = 3 };

// Designator types (SPC-5 table 459).
inline constexpr std::uint8_t kDesigVendorSpecific = 0x0;
inline constexpr std::uint8_t kDesigT10VendorId = 0x1;
inline constexpr std::uint8_t kDesigEui64 = 0x2;
inline constexpr std::uint8_t kDesigNaa = 0x3;
inline constexpr std::uint8_t kDesigRelativeTargetPort = 0x4;
inline constexpr std::uint8_t kDesigTargetPortGroup = 0x5;
inline constexpr std::uint8_t kDesigLuGroup = 0x6;
inline constexpr std::uint8_t kDesigMd5LuId = 0x7;
inline constexpr std::uint8_t kDesigScsiNameString = 0x8;
inline constexpr std::uint8_t kDesigProtocolSpecificPort = 0x9;
inline constexpr std::uint8_t kDesigUuid = 0xA;

struct Designator {
  std::uint8_t protocol_id = 0;  // byte 0 bits 7:4 (meaningful when piv)
  std::uint8_t code_set = 0;     // 1 binary, 2 ASCII, 3 UTF-8
  bool piv = false;              // protocol identifier valid
  Association association = Association::LogicalUnit;
  std::uint8_t type = 0;
  std::size_t offset = 0;        // of the descriptor in the page
  std::vector<std::uint8_t> value;

  friend bool operator==(const Designator&, const Designator&) = default;
};

// "T10 vendor ID", "EUI-64", "NAA", ... ("type N" otherwise).
std::string designator_type_name(std::uint8_t type);

// The designators in page order. Errors (Errc::Malformed) name what is wrong: a page shorter
// than its header, another page code, a descriptor that runs past the page.
Result<std::vector<Designator>> parse_vpd83(std::span<const std::uint8_t> page);

// The kernel's `wwid` for this page: "naa.<hex>", "eui.<hex>", "t10.<text>" or the SCSI name
// string as it is (it may end in NUL padding, as the kernel copies it). NotFound when no
// logical-unit designator qualifies (the kernel then has no `wwid` either).
Result<std::string> vpd83_lun_wwid(std::span<const std::uint8_t> page);

struct PortIds {
  std::optional<std::uint16_t> relative_port;      // type 4, target port association
  std::optional<std::uint16_t> target_port_group;  // type 5, target port association
};
Result<PortIds> vpd83_port_ids(std::span<const std::uint8_t> page);

// A `wwid` as read from sysfs or derived, made fit for a key and for JSON: the trailing
// newline and NUL padding go (the kernel leaves the SCSI name string's padding in).
std::string normalize_wwid(std::string_view wwid);

}  // namespace nvmemp::scsi
