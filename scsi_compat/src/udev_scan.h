// Discovery of SCSI disk paths on a live system with libudev, and the choice between that and a
// captured sysfs tree (tests). A SCSI disk path is a `block` device of devtype `disk` whose
// parent is a `scsi`/`scsi_device` bound to the `sd` driver (so sr/st/sg-only devices, vda,
// loop, zram, nvme and partitions are not taken). libudev reads sysfs itself and works without
// udevd. Each path found is then read by scsi_sysfs.h's read_scsi_path() under root "/".
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "nvmemp/result.h"
#include "scsi_sysfs.h"

namespace nvmemp::scsi {

// libudev's getters return NULL for "no such property"; both udev readers treat it as "".
inline std::string udev_str(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

struct BlockDisk {
  std::string sysname;    // "sda"; the name read_scsi_path() takes (ROOT/sys/block/<sysname>)
  std::string syspath;    // "/sys/devices/.../block/sda"
  std::string devnode;    // "/dev/sda" ("" when the kernel names none)
  dev_t devnum = 0;
  bool scsi = false;      // parent is a scsi_device bound to sd: a SCSI disk path
  std::string hctl;       // the scsi_device's name ("0:0:0:0") when scsi, else ""
};

// Every `block`/`disk` device libudev enumerates, each marked scsi or not, by sysname
// (sda..sdz before sdaa). Errors only when libudev itself cannot be used.
Result<std::vector<BlockDisk>> enumerate_block_disks();

// The SCSI disk paths among them (possibly none: a machine without SCSI disks).
Result<std::vector<BlockDisk>> enumerate_scsi_disks();

// SCSI paths read and ready to group: with a sysfs root (a captured tree), scan_scsi_paths(root);
// without one, the libudev enumeration above, each path read by read_scsi_path("/", sysname).
// A path that cannot be read is one line in ScanResult::errors, the others still come back.
Result<ScanResult> discover_scsi_paths(const std::optional<std::filesystem::path>& sysfs_root,
                                       const ReadOptions& opts = {});

}  // namespace nvmemp::scsi
