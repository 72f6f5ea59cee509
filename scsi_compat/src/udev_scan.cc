// libudev enumeration of block disks and the SCSI ones among them (see udev_scan.h).
#include "udev_scan.h"

#include <libudev.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace nvmemp::scsi {

namespace {

struct UdevUnref {
  void operator()(udev* u) const { udev_unref(u); }
  void operator()(udev_enumerate* e) const { udev_enumerate_unref(e); }
  void operator()(udev_device* d) const { udev_device_unref(d); }
};
template <class T>
using UdevPtr = std::unique_ptr<T, UdevUnref>;

bool by_name(const BlockDisk& a, const BlockDisk& b) {
  return a.sysname.size() != b.sysname.size() ? a.sysname.size() < b.sysname.size() : a.sysname < b.sysname;
}

}  // namespace

Result<std::vector<BlockDisk>> enumerate_block_disks() {
  UdevPtr<udev> u(udev_new());
  if (!u) return make_error(Errc::Io, fmt::format("udev_new: {}", std::strerror(errno)));
  UdevPtr<udev_enumerate> en(udev_enumerate_new(u.get()));
  if (!en) return make_error(Errc::Io, fmt::format("udev_enumerate_new: {}", std::strerror(errno)));
  if (int r = udev_enumerate_add_match_subsystem(en.get(), "block"); r < 0) {
    return make_error(Errc::Io, fmt::format("udev_enumerate_add_match_subsystem(block): {}", std::strerror(-r)));
  }
  if (int r = udev_enumerate_scan_devices(en.get()); r < 0) {
    return make_error(Errc::Io, fmt::format("udev_enumerate_scan_devices (is /sys mounted?): {}", std::strerror(-r)));
  }
  std::vector<BlockDisk> out;
  udev_list_entry* entry = nullptr;
  udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(en.get())) {
    UdevPtr<udev_device> dev(udev_device_new_from_syspath(u.get(), udev_list_entry_get_name(entry)));
    if (!dev) continue;  // gone since the scan
    const char* devtype = udev_device_get_devtype(dev.get());
    if (devtype == nullptr || std::strcmp(devtype, "disk") != 0) continue;  // partitions
    BlockDisk d;
    d.sysname = udev_str(udev_device_get_sysname(dev.get()));
    d.syspath = udev_str(udev_device_get_syspath(dev.get()));
    d.devnode = udev_str(udev_device_get_devnode(dev.get()));
    d.devnum = udev_device_get_devnum(dev.get());
    // The parent is owned by its child: no unref.
    udev_device* sdev = udev_device_get_parent_with_subsystem_devtype(dev.get(), "scsi", "scsi_device");
    if (sdev != nullptr) {
      const char* driver = udev_device_get_driver(sdev);
      d.scsi = driver != nullptr && std::strcmp(driver, "sd") == 0;
      if (d.scsi) d.hctl = udev_str(udev_device_get_sysname(sdev));
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), by_name);
  return out;
}

Result<std::vector<BlockDisk>> enumerate_scsi_disks() {
  auto all = enumerate_block_disks();
  if (!all) return make_error(all.error().code, all.error().message);
  std::vector<BlockDisk> out;
  for (auto& d : *all) {
    if (d.scsi) out.push_back(std::move(d));
  }
  return out;
}

Result<ScanResult> discover_scsi_paths(const std::optional<std::filesystem::path>& sysfs_root,
                                       const ReadOptions& opts) {
  if (sysfs_root) return scan_scsi_paths(*sysfs_root, opts);
  auto disks = enumerate_scsi_disks();
  if (!disks) return make_error(disks.error().code, disks.error().message);
  ScanResult r;
  for (const auto& d : *disks) {
    auto p = read_scsi_path("/", d.sysname, opts);
    if (p) {
      r.paths.push_back(std::move(*p));
    } else {
      r.errors.push_back(p.error().message);
    }
  }
  return r;
}

}  // namespace nvmemp::scsi
