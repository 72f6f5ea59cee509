// DualPathDisk: ONE disk reached through two real block devices ("paths"), each with its own
// failure switch, for the SCSI multipath tests.
//
//   <tmp>/nvmemp-dualpath-<pid>-XXXXXX/disk.img   backing file (sparse, zero-filled)
//   <tmp>/nvmemp-dualpath-<pid>-XXXXXX/mnt/{a,b}  the same file through dualpath-fuse
//   /dev/loopN over mnt/a (path 0), /dev/loopM over mnt/b (path 1), both --direct-io=on,
//   512-byte sectors
//
// dualpath-fuse (tests/scsi/dualpath_fuse.cc) opens a and b with FOPEN_DIRECT_IO, so nothing is
// cached between the loop devices and the backing file: a write through one path is read back
// through the other at once. A failed path answers every read, write and flush with EIO at once
// (the loop device does not retry it).
//
// Crash safety: the FUSE child gets SIGTERM when the thread that called create() exits (so
// create it on a thread that outlives it, e.g. the test's main thread). Loop devices, mounts and
// directories left by a process that died are removed by the next create() (cleanup_stale()).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include <tl/expected.hpp>

namespace nvmemp::test {

class DualPathDisk {
 public:
  // Temp dir, backing file of `bytes` (a positive multiple of 512, zero-filled), dualpath-fuse
  // (DUALPATH_FUSE_BIN) mounted there (waits at most 10 s), then two loop devices with direct
  // I/O (checked in /sys/block/loopN/loop/dio). On any failure everything made so far is undone
  // and the error names the step and the command's output.
  static tl::expected<std::unique_ptr<DualPathDisk>, std::string> create(std::uint64_t bytes);

  // Detaches both loop devices, unmounts (lazily if busy), stops the child (SIGTERM, then
  // SIGKILL), removes the temp dir. Never throws; bounded (about 10 s at worst).
  ~DualPathDisk();
  DualPathDisk(const DualPathDisk&) = delete;
  DualPathDisk& operator=(const DualPathDisk&) = delete;

  const std::string& device(int path) const;  // "/dev/loop3"; path 0 or 1
  std::string sysname(int path) const;        // "loop3"
  dev_t devnum(int path) const;               // the block device's major:minor

  // Synchronous: when it returns, the next I/O on that path sees the new state. A failing path
  // answers reads, writes and flushes with EIO. Throws std::runtime_error if the switch cannot
  // be set (the FUSE child died).
  void set_failing(int path, bool failing);
  // Each read/write/flush on that path waits `ms` ms first (0 ends it); independent of
  // set_failing. Synchronous like set_failing; throws the same way.
  void set_delay(int path, int ms);

  const std::string& backing_file() const { return backing_; }
  const std::string& dir() const { return dir_; }        // the temp dir
  const std::string& mountpoint() const { return mnt_; }  // holds a, b and ctl
  pid_t fuse_pid() const { return child_; }

  // Removes what processes that no longer exist left behind: loop devices over their mounts,
  // the mounts, their dualpath-fuse children and their temp dirs. Returns a line per thing
  // removed (empty when there was nothing). create() calls it first.
  static std::string cleanup_stale();

 private:
  DualPathDisk() = default;
  void control(const std::string& command);
  void teardown() noexcept;

  std::string dir_;
  std::string mnt_;
  std::string backing_;
  std::string log_;  // the child's stdout/stderr
  pid_t child_ = -1;
  int ctl_fd_ = -1;
  std::string devices_[2];
  dev_t devnums_[2] = {0, 0};
};

}  // namespace nvmemp::test
