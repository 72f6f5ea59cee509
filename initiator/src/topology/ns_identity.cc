#include "topology/ns_identity.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/bytes.h"

namespace nvmemp::topology {
namespace {

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& a) {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t v) { return v == 0; });
}

// An all-zero identifier is "not reported" (NVMe Base 2.0: NGUID/EUI-64 "cleared to 0h" when
// not supported; the kernel's memchr_inv()/uuid_is_null() presence tests).
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> present(const std::optional<std::array<std::uint8_t, N>>& a) {
  if (a && !all_zero(*a)) {
    return a;
  }
  return std::nullopt;
}

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> present(const std::array<std::uint8_t, N>& a) {
  if (!all_zero(a)) {
    return a;
  }
  return std::nullopt;
}

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& a) {
  return to_hex(Bytes(a.data(), a.size()));
}

std::string text_hex(const std::string& s) {
  return to_hex(Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

template <std::size_t N>
std::string show(const std::optional<std::array<std::uint8_t, N>>& a) {
  return a ? hex(*a) : std::string("none");
}

std::string show_uuid(const std::optional<std::array<std::uint8_t, 16>>& a) {
  return a ? wire::format_uuid(*a) : std::string("none");
}

constexpr const char* kRefused =
    "a path whose identifiers disagree with its head is refused: check the target's namespace "
    "configuration";

}  // namespace

NsIdentity make_identity(const std::string& subnqn, const wire::IdentifyController& ctrl,
                         const controller::NamespaceInfo& ns) {
  NsIdentity id;
  id.subnqn = subnqn;
  id.nsid = ns.nsid;
  // Descriptors first, Identify Namespace only for an identifier still unset: the order of
  // nvme_scan_ns() → nvme_identify_ns_descs(), then nvme_ns_info_from_identify() which copies
  // id->eui64 / id->nguid only when `!memchr_inv(ids->..., 0, ...)`. The kernel gates those
  // copies on VS >= 1.1 / 1.2; every fabrics controller is at least 1.2.1 (NVMe-oF 1.0 is built
  // on it), so the gates always pass here.
  id.uuid = present(ns.ids.uuid);
  id.nguid = present(ns.ids.nguid);
  if (!id.nguid) {
    id.nguid = present(ns.id.nguid);
  }
  id.eui64 = present(ns.ids.eui64);
  if (!id.eui64) {
    id.eui64 = present(ns.id.eui64);
  }
  id.csi = ns.ids.csi.value_or(0);  // ids are zeroed before the scan: no NIDT 4 means CSI 0
  id.shared = ns.id.shared();
  id.vid = ctrl.vid;
  id.serial = ctrl.sn;
  id.model = ctrl.mn;
  return id;
}

// drivers/nvme/host/sysfs.c, wwid_show() (in core.c before the 2023 sysfs.c split; read in
// current linux-next and an older core.c copy, the same logic):
//
//   if (!uuid_is_null(&ids->uuid))              return "uuid.%pU"
//   if (memchr_inv(ids->nguid, 0, 16))          return "eui.%16phN"
//   if (memchr_inv(ids->eui64, 0, 8))           return "eui.%8phN"
//   while (serial_len > 0 && (serial[len-1] == ' ' || serial[len-1] == '\0')) serial_len--;
//   (same for model)
//   return "nvme.%04x-%*phN-%*phN-%08x", subsys->vendor_id, serial..., model..., head->ns_id
//
// %pU is the RFC 4122 text in lower case of the 16 bytes in wire order; %phN is each byte as two
// lower-case hex digits, no separator. subsys->serial/model are memcpy()s of Identify
// Controller SN (20 bytes) and MN (40 bytes), so only trailing spaces and NULs go and every
// other byte, an inner space included, is printed. IdentifyController::sn/mn are cut at the
// first NUL and have trailing spaces removed; the two agree for every SN/MN except one with a
// NUL followed by a non-blank byte, which the specification forbids (ASCII, space padded).
std::string wwid(const NsIdentity& id) {
  if (!id.scsi_wwid.empty()) {
    return id.scsi_wwid;
  }
  if (id.uuid) {
    return "uuid." + wire::format_uuid(*id.uuid);
  }
  if (id.nguid) {
    return "eui." + hex(*id.nguid);
  }
  if (id.eui64) {
    return "eui." + hex(*id.eui64);
  }
  std::string serial = id.serial;
  std::string model = id.model;
  // Trim as wwid_show() does, in case the strings did not come from the Identify parser.
  auto trim = [](std::string& s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) {
      s.pop_back();
    }
  };
  trim(serial);
  trim(model);
  return fmt::format("nvme.{:04x}-{}-{}-{:08x}", id.vid, text_hex(serial), text_hex(model), id.nsid);
}

Result<void> check_same_namespace(const NsIdentity& head, const NsIdentity& path) {
  if (head.subnqn != path.subnqn || head.nsid != path.nsid) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("namespace {} nsid {} compared with {} nsid {}: a path can only "
                                  "join the head of the same subsystem NQN and nsid",
                                  path.subnqn, path.nsid, head.subnqn, head.nsid));
  }
  if (!head.scsi_wwid.empty() || !path.scsi_wwid.empty()) {
    if (head.scsi_wwid == path.scsi_wwid) return {};
    return make_error(Errc::Malformed, fmt::format("SCSI logical unit {}: the path reports wwid {}; {}",
                                                   head.scsi_wwid, path.scsi_wwid, kRefused));
  }
  const std::string where = fmt::format("subsystem {} nsid {}", head.subnqn, head.nsid);
  // nvme_init_ns_head(): "Duplicate unshared namespace" when either side is not shared.
  if (!head.shared || !path.shared) {
    return make_error(Errc::Malformed,
                      fmt::format("{}: the namespace is not shared (NMIC bit 0 is {} on the path, "
                                  "{} on the head), so it cannot be reached through a second "
                                  "controller; {}",
                                  where, path.shared ? 1 : 0, head.shared ? 1 : 0, kRefused));
  }
  // nvme_ns_ids_equal(): uuid_equal() && memcmp(nguid) && memcmp(eui64) && csi ==. Comparing
  // optionals is the same test, since nullopt stands for all zeros on both sides.
  auto differ = [&](const char* what, const std::string& p, const std::string& h) {
    return make_error(Errc::Malformed,
                      fmt::format("{}: {} differs: path {}, head {}; {}", where, what, p, h, kRefused));
  };
  if (head.uuid != path.uuid) {
    return differ("UUID", show_uuid(path.uuid), show_uuid(head.uuid));
  }
  if (head.nguid != path.nguid) {
    return differ("NGUID", show(path.nguid), show(head.nguid));
  }
  if (head.eui64 != path.eui64) {
    return differ("EUI-64", show(path.eui64), show(head.eui64));
  }
  if (head.csi != path.csi) {
    return differ("command set (CSI)", std::to_string(path.csi), std::to_string(head.csi));
  }
  return {};
}

NsGeometry geometry_of(const wire::IdentifyNamespace& id) {
  return NsGeometry{id.nsze, static_cast<std::uint32_t>(id.lba_size()), id.ms, id.extended_lba()};
}

Result<void> check_same_geometry(const NsGeometry& head, const NsGeometry& path,
                                 const std::string& where) {
  if (head.nsze != path.nsze) {
    return make_error(Errc::Malformed,
                      fmt::format("{}: namespace size {} blocks differs from the head's {} blocks; "
                                  "a path whose size differs from its head is refused (wait for "
                                  "the resize to reach every controller, or check the target)",
                                  where, path.nsze, head.nsze));
  }
  if (head.lba_size != path.lba_size || head.ms != path.ms ||
      head.extended_lba != path.extended_lba) {
    return make_error(Errc::Malformed,
                      fmt::format("{}: LBA format {} + {} metadata bytes{} differs from the head's "
                                  "{} + {}{}; a path whose LBA format differs from its head is "
                                  "refused: check the target's namespace configuration",
                                  where, path.lba_size, path.ms, path.extended_lba ? " (extended)" : "",
                                  head.lba_size, head.ms, head.extended_lba ? " (extended)" : ""));
  }
  return {};
}

PathLimits head_limits(std::span<const PathLimits> paths) {
  if (paths.empty()) {
    return {};
  }
  PathLimits out = paths.front();
  for (const PathLimits& p : paths.subspan(1)) {
    out.max_data_len = std::min(out.max_data_len, p.max_data_len);
    out.max_icd = std::min(out.max_icd, p.max_icd);
    out.oncs &= p.oncs;
    out.vwc = out.vwc || p.vwc;
  }
  return out;
}

std::string describe(const ConnectionKey& key) {
  const bool v6 = key.traddr.find(':') != std::string::npos;
  return fmt::format("{} @ {}{}{}:{} (host {})", key.subnqn, v6 ? "[" : "", key.traddr, v6 ? "]" : "",
                     key.trsvcid, key.hostnqn);
}

}  // namespace nvmemp::topology
