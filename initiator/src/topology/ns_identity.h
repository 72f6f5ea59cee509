// Namespace identity: what a namespace head is keyed and checked by, its `wwid`, and the rules
// a new path must pass to join a head (same namespace, same geometry, not a duplicate
// connection). Pure functions, no I/O; the topology (issue 5) applies them and refuses the path
// with the returned error.
//
// The rules follow the Linux host (drivers/nvme/host/core.c, sysfs.c, fabrics.c) so that a
// namespace gets the same identity here as under the kernel, and so that multipath-tools and
// udev rules written for `/sys/block/nvmeXnY/wwid` keep working.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "controller/controller.h"
#include "nvmemp/result.h"
#include "wire/identify.h"

namespace nvmemp::topology {

// The identity of one namespace as one controller reports it. An all-zero identifier is not
// an identifier (the kernel tests presence with memchr_inv()/uuid_is_null()), so it is stored
// as nullopt: `nullopt` and "all zeros" are the same thing here.
struct NsIdentity {
  std::string subnqn;
  std::uint32_t nsid = 0;
  std::optional<std::array<std::uint8_t, 16>> uuid;   // NIDT 3, descriptor list only
  std::optional<std::array<std::uint8_t, 16>> nguid;  // NIDT 2, else Identify Namespace
  std::optional<std::array<std::uint8_t, 8>> eui64;   // NIDT 1, else Identify Namespace
  std::uint8_t csi = 0;     // command set (NIDT 4); 0 (NVM) when not reported, as the kernel
  bool shared = false;      // NMIC bit 0: the namespace may be reached by several controllers
  std::uint16_t vid = 0;    // Identify Controller VID (0 on nvmet)
  std::string serial;       // Identify Controller SN, trailing spaces removed
  std::string model;        // Identify Controller MN, trailing spaces removed
  // A SCSI logical unit (scsi_compat/): its wwid (naa./eui./t10./name string) is the whole
  // identity; empty for NVMe namespaces.
  std::string scsi_wwid;
};

// Builds the identity of `ns` seen through a controller whose Identify Controller data is
// `ctrl`. NGUID and EUI-64 come from the descriptor list when it carries a non-zero value,
// else from Identify Namespace when non-zero: the kernel reads the descriptors first
// (nvme_identify_ns_descs) and nvme_ns_info_from_identify() copies the Identify Namespace
// value only into an identifier that is still all zeros. UUID and CSI exist only as
// descriptors.
NsIdentity make_identity(const std::string& subnqn, const wire::IdentifyController& ctrl,
                         const controller::NamespaceInfo& ns);

// The kernel's wwid (drivers/nvme/host/sysfs.c, wwid_show()), the first that exists:
//   uuid.<8-4-4-4-12 lower-case>              (%pU)
//   eui.<32 lower-case hex digits of NGUID>   (%16phN)
//   eui.<16 lower-case hex digits of EUI-64>  (%8phN)
//   nvme.<vid %04x>-<serial hex>-<model hex>-<nsid %08x>
// For the last form wwid_show() trims trailing ' ' and '\0' from the 20-byte serial and the
// 40-byte model, then prints every remaining byte as two lower-case hex digits with no
// separator (%*phN): "rt-1" → "72742d31". See ns_identity.cc for the one edge case.
// No trailing newline (sysfs adds one; udev strips it for ID_WWN).
std::string wwid(const NsIdentity& id);

// Whether `path` may join `head`, as nvme_init_ns_head() decides:
//  - subnqn and nsid must be equal (InvalidArgument: the caller compared different heads);
//  - both sides must be shared (NMIC bit 0); a second path to a private namespace is
//    "Duplicate unshared namespace" (Malformed);
//  - UUID, NGUID, EUI-64 and CSI must each be equal, an absent identifier counting as all
//    zeros: nvme_ns_ids_equal() memcmp()s the whole fields, so an identifier present on one
//    side only is a mismatch too ("IDs don't match for shared namespace", Malformed).
// The error names the identifier, both values, the subsystem NQN and nsid, and what to do.
Result<void> check_same_namespace(const NsIdentity& head, const NsIdentity& path);

// The data layout a path must share with its head: a path that disagrees on size or LBA format
// would read or write other blocks than the application means.
struct NsGeometry {
  std::uint64_t nsze = 0;      // size in logical blocks
  std::uint32_t lba_size = 0;  // bytes of data per logical block
  std::uint16_t ms = 0;        // metadata bytes per logical block
  bool extended_lba = false;   // metadata at the end of each LBA (FLBAS bit 4)

  friend bool operator==(const NsGeometry&, const NsGeometry&) = default;
};

NsGeometry geometry_of(const wire::IdentifyNamespace& id);

// Refuses (Malformed) a path whose geometry differs from its head's, naming `where` (the path,
// e.g. Controller::name() + " nsid 1") and both values.
Result<void> check_same_geometry(const NsGeometry& head, const NsGeometry& path,
                                 const std::string& where);

// Transfer limits of one path (ControllerInfo::max_data_len, ::max_icd).
struct PathLimits {
  std::uint32_t max_data_len = 0;  // largest data transfer of one command, bytes
  std::uint32_t max_icd = 0;       // largest in-capsule data of an I/O command, bytes
  std::uint16_t oncs = 0;          // optional NVM commands (head: those every path supports)
  bool vwc = false;                // volatile write cache (head: any path has one)

  friend bool operator==(const PathLimits&, const PathLimits&) = default;
};

// A head's limits: each size the minimum over its paths, ONCS the commands all support, so that an I/O built for the head
// fits whichever path carries it (and a failover never has to split it). {0, 0} for no paths.
PathLimits head_limits(std::span<const PathLimits> paths);

// What makes a connection a duplicate: the kernel refuses a second controller with the same
// transport address, service id, subsystem NQN and host NQN (nvmf_ip_options_match() and
// nvmf_ctlr_matches_baseopts() in drivers/nvme/host/fabrics.c; it also compares the host id,
// which we keep 1:1 with the host NQN, and host_traddr/host_iface only when both connections
// name one). Strings are compared as given, as the kernel strcmp()s them.
struct ConnectionKey {
  std::string traddr;
  std::uint16_t trsvcid = 0;
  std::string subnqn;
  std::string hostnqn;

  friend auto operator<=>(const ConnectionKey&, const ConnectionKey&) = default;
  friend bool operator==(const ConnectionKey&, const ConnectionKey&) = default;
};

// "nqn.2026-01.io.example:mpath-test @ 10.0.0.1:4420 (host nqn.2014-08.org.nvmexpress:uuid:…)";
// IPv6 addresses in brackets.
std::string describe(const ConnectionKey& key);

}  // namespace nvmemp::topology
