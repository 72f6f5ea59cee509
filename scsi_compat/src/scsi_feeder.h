// SCSI paths into a Fabric: what scsi_sysfs.h reads becomes BlockPathSpecs (nvmemp/mpath.h),
// so SCSI logical units are heads beside the NVMe namespaces, with the same policies,
// failover and no_path_retry. The ScsiFeeder keeps the Fabric in line with sysfs: sync()
// scans everything; handle() takes one uevent (uevent_monitor.h): a `change` on any path of a
// logical unit re-reads every path of that wwid (the kernel sends the unit attention's
// SDEV_UA for one path only, while scsi_dh_alua updates the others silently); add, remove and
// anything it cannot place rescan. The ScsiWatcher runs a feeder on its own thread from a
// UeventMonitor: events, not polling.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nvmemp/mpath.h"
#include "path_probe.h"
#include "scsi_sysfs.h"
#include "uevent_monitor.h"

namespace nvmemp::scsi {

// Which logical units to take, by wwid, with glob patterns (fnmatch), as multipath-tools'
// blacklist / blacklist_exceptions: a wwid matching `deny` is never taken; when `allow` is not
// empty, only wwids matching one of its patterns are.
struct WwidFilter {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  bool accepts(const std::string& wwid) const;
};

struct FeederOptions {
  // "/": the live system, enumerated with libudev (udev_scan.h); else a captured tree whose
  // sys/block is scanned (scsi_sysfs.h), as in tests.
  std::filesystem::path sysfs_root = "/";
  std::filesystem::path dev_sysfs = "/sys";   // the live sysfs that names device nodes by devnum
  ReadOptions read;
  WwidFilter filter;
};

// The spec of one path: its device node is /dev/<DEVNAME of DEV_SYSFS/dev/block/MAJ:MIN>.
Result<BlockPathSpec> to_block_path(const ScsiPath& p, const FeederOptions& opts);

// FabricOptions::block_probe from a PathProber (path_probe.h): the path works when the
// logical unit answered through it, even in an ALUA state that takes no I/O (standby,
// unavailable, transitioning: access_state says that); it fails when nothing answered.
BlockProbeFn make_block_probe(std::shared_ptr<PathProber> prober);

struct SyncReport {
  std::size_t paths = 0;             // paths in the Fabric after the sync
  std::vector<std::string> errors;   // unreadable devices, refused paths, filtered-out wwids
};

class ScsiFeeder {
 public:
  ScsiFeeder(Fabric& fabric, FeederOptions opts) : fabric_(fabric), opts_(std::move(opts)) {}
  // Scans the sysfs root: new paths are added, changed ones updated, vanished ones removed.
  SyncReport sync();
  // One uevent of the block or scsi subsystem.
  SyncReport handle(const Uevent& ev);
  // Paths this feeder put in the Fabric, by device node.
  const std::map<std::string, ScsiPath>& paths() const { return known_; }

 private:
  // Sets one path in the Fabric; its device node, "" when it has none here.
  std::string apply(const ScsiPath& p, SyncReport& rep);
  Fabric& fabric_;
  FeederOptions opts_;
  std::map<std::string, ScsiPath> known_;  // by device node
};

// A feeder driven by uevents on its own thread (poll on the monitor's socket, 100 ms ticks to
// see stop()). The first sync() runs in start(), before it returns.
class ScsiWatcher {
 public:
  static Result<std::unique_ptr<ScsiWatcher>> start(Fabric& fabric, FeederOptions opts);
  ~ScsiWatcher();
  ScsiWatcher(const ScsiWatcher&) = delete;
  ScsiWatcher& operator=(const ScsiWatcher&) = delete;
  const SyncReport& first_sync() const { return first_; }
  const char* source() const { return monitor_->source_name(); }
  std::uint64_t events() const { return events_.load(); }  // uevents handled so far

 private:
  ScsiWatcher(Fabric& fabric, FeederOptions opts, std::unique_ptr<UeventMonitor> m)
      : feeder_(fabric, std::move(opts)), monitor_(std::move(m)) {}
  void run();
  ScsiFeeder feeder_;
  std::unique_ptr<UeventMonitor> monitor_;
  SyncReport first_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> events_{0};
  std::thread thread_;
};

}  // namespace nvmemp::scsi
