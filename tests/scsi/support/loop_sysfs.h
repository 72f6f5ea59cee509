// A SCSI sysfs tree over loop devices: the real-kernel capture tests/fixtures/sysfs/
// scsi-debug-3paths (one logical unit, naa.33333330000007d0, sda active/optimized, sdb
// active/non-optimized, sdc standby) copied to a temp dir, with sda and sdb pointing at the two
// loop devices of a DualPathDisk (their `dev` is the loop's major:minor, their size the disk's)
// and sdc removed. States change by editing the copy and sending a `change` uevent for the
// loop device, as the kernel does for a path whose unit attention it saw.
#pragma once

#include <string>

#include "support/dual_path_disk.h"

namespace nvmemp::test {

inline constexpr const char* kLoopWwid = "naa.33333330000007d0";

class LoopSysfs {
 public:
  // Builds the tree under `dir` (created); throws std::runtime_error naming the step that failed.
  LoopSysfs(const DualPathDisk& disk, const std::string& dir);
  const std::string& root() const { return root_; }
  // "sda" (path 0) or "sdb" (path 1).
  static const char* dev(int path) { return path == 0 ? "sda" : "sdb"; }
  // Writes device/access_state of that path ("active/optimized", "standby", ...).
  void set_access_state(int path, const std::string& state);
  // `change` uevent of the path's loop device (a write to /sys/block/loopN/uevent).
  void send_change(int path);

 private:
  const DualPathDisk& disk_;
  std::string root_;
};

}  // namespace nvmemp::test
