// Device events for the SCSI adapter: a libudev monitor on the `block` and `scsi` subsystems.
//
// Source: "udev" when udevd runs (/run/udev/control exists): events after udev processed them.
// Otherwise "kernel": the kernel's NETLINK_KOBJECT_UEVENT multicast group, raw. (libudev joins
// no group at all for "udev" without udevd, so that source would stay silent.)
//
// Filtering, as systemd's libudev/sd-device-monitor does it: the BPF socket filter it installs only judges
// messages carrying the libudev header; a kernel message has none and the filter passes it
// ("wrong magic, pass packet"). The subsystem match for kernel messages is then done in user
// space (passes_filter) when receive() parses each one, which drops what does not match. So
// with the kernel source every uevent of the machine reaches the socket and is discarded here;
// receive() returns only block/scsi ones. tests/scsi/uevent_monitor_test.cc checks this.
//
// Event facts for the consumer:
// - SDEV_UA (e.g. ASYMMETRIC_ACCESS_STATE_CHANGED) comes with a `change` of the scsi_device
//   (subsystem "scsi", devtype "scsi_device", sysname "H:C:T:L"), not of the sdX block device.
// - A synthetic uevent (a write of "ACTION UUID KEY=VALUE..." to a `uevent` file) carries its
//   variables as SYNTH_ARG_<KEY> with SYNTH_UUID, and the kernel accepts only [A-Za-z0-9] in keys
//   and values: "SDEV_UA=..." cannot be written that way (EINVAL), so tests cannot fake SDEV_UA.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "nvmemp/result.h"

struct udev;
struct udev_monitor;

namespace nvmemp::scsi {

struct Uevent {
  std::string action;     // "add", "remove", "change", "bind", ...
  std::string subsystem;  // "block", "scsi"
  std::string devtype;    // "disk", "partition", "scsi_device", "scsi_target", ... ("" if none)
  std::string sysname;    // "sda", "loop0", "0:0:0:0"
  std::string syspath;    // "/sys/devices/..."
  std::string devnode;    // "/dev/sda" ("" if none)
  dev_t devnum = 0;       // 0 when the device has no device number
  std::uint64_t seqnum = 0;
  std::string sdev_ua;    // SDEV_UA ("" when absent)
  std::map<std::string, std::string> properties;  // every property as received
};

// A Uevent from a property list alone (ACTION, SUBSYSTEM, DEVTYPE, DEVPATH, DEVNAME, MAJOR,
// MINOR, SEQNUM, SDEV_UA): pure, for tests; receive() uses libudev's view of the same message.
Uevent uevent_from_properties(std::map<std::string, std::string> properties);

class UeventMonitor {
 public:
  enum class Source { Udev, Kernel };

  // Source::Udev when /run/udev/control exists, else Source::Kernel.
  static Source default_source();
  static Result<std::unique_ptr<UeventMonitor>> create();
  static Result<std::unique_ptr<UeventMonitor>> create(Source source);

  UeventMonitor(const UeventMonitor&) = delete;
  UeventMonitor& operator=(const UeventMonitor&) = delete;
  ~UeventMonitor();

  Source source() const { return source_; }
  const char* source_name() const { return source_ == Source::Udev ? "udev" : "kernel"; }
  // Non-blocking socket: poll it for POLLIN (or hand it to io_uring), then receive() until nullopt.
  int fd() const;
  // The next block/scsi event queued, nullopt when none is (never blocks).
  std::optional<Uevent> receive();
  // True once if the socket overflowed (ENOBUFS) since the last call: events were lost, rescan.
  bool take_overflow();

 private:
  UeventMonitor(udev* u, udev_monitor* m, Source s) : udev_(u), mon_(m), source_(s) {}
  udev* udev_;
  udev_monitor* mon_;
  Source source_;
  bool overflow_ = false;
};

}  // namespace nvmemp::scsi
