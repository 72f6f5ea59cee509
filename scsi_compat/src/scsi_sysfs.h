// SCSI paths as sysfs describes them, and the heads they form. The sysfs root is a parameter:
// "/" on a live system, a captured tree (tests/fixtures/sysfs/...) in tests. Links are
// followed as the kernel wrote them (relative), so a captured tree reads like the real one.
//
// A path is one `sdX` whose `device` is a SCSI device. Its identity is `device/wwid` (the
// kernel's format), or, when that file is missing or unreadable, the identifier derived from
// `device/vpd_pg83` the way the kernel derives it (vpd83.h). Paths with the same wwid form one
// head; a path whose size or logical block size differs from its head's is refused, never
// merged, with an error naming both.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nvmemp/result.h"
#include "wire/log_pages.h"

namespace nvmemp::scsi {

struct ScsiPath {
  std::string dev;                 // "sda"
  std::string hctl;                // "0:0:0:0" (host:channel:target:lun)
  std::string devnum;              // "8:0"
  std::string wwid;                // normalize_wwid()'d
  std::string wwid_source;         // "wwid" or "vpd_pg83"
  std::optional<std::uint16_t> target_port_group;  // from vpd_pg83 (type 5, target port)
  std::optional<std::uint16_t> relative_port;      // from vpd_pg83 (type 4, target port)
  std::optional<std::string> access_state;         // "active/optimized", ...; none without ALUA handler
  wire::AnaState ana = wire::AnaState::Optimized;  // access_state through alua.h's table
  bool preferred = false;          // preferred_path = 1
  std::string dh_state;            // "alua", "detached", ...
  std::string state;               // "running", "offline", "blocked", ...
  std::string vendor, model, rev;  // trimmed
  std::string serial;              // vpd_pg80, trimmed ("" when absent)
  std::uint64_t size_bytes = 0;    // block/size x 512
  std::uint32_t logical_block_size = 0;
  std::uint32_t max_sectors_kb = 0;  // queue/max_sectors_kb: largest command (0: unknown)
  bool write_back_cache = false;     // queue/write_cache is "write back"
};

struct ReadOptions {
  // False: ignore `device/wwid` and derive the identity from `device/vpd_pg83` alone.
  bool use_wwid_file = true;
};

// One path, `dev` under ROOT/sys/block. Errors name the device and the file.
Result<ScsiPath> read_scsi_path(const std::filesystem::path& root, const std::string& dev,
                                const ReadOptions& opts = {});

struct ScanResult {
  std::vector<ScsiPath> paths;     // by device name
  std::vector<std::string> errors; // devices that could not be read, one line each
};
// Every sd device under ROOT/sys/block whose `device` is a SCSI device.
ScanResult scan_scsi_paths(const std::filesystem::path& root, const ReadOptions& opts = {});

struct ScsiHead {
  std::string wwid;
  std::uint64_t size_bytes = 0;
  std::uint32_t logical_block_size = 0;
  std::vector<ScsiPath> paths;     // by device name
};
struct Grouping {
  std::vector<ScsiHead> heads;     // by wwid
  std::vector<std::string> refused;  // paths refused: size or block size differs from the head's
};
Grouping group_by_wwid(std::vector<ScsiPath> paths);

}  // namespace nvmemp::scsi
