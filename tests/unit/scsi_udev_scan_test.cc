// udev_scan.h on this machine's real sysfs (libudev enumeration: SCSI disks only, never vda,
// loop, zram or nvme) and on the captured fixture tree; uevent_monitor.h's property decoding.
#include <catch2/catch.hpp>

#include <sys/sysmacros.h>

#include <filesystem>
#include <system_error>

#include "udev_scan.h"
#include "uevent_monitor.h"

#include "scsi_fixture.h"

using namespace nvmemp;
using namespace nvmemp::scsi;

namespace {
// scsi_devices bound to sd, as the kernel lists them: the count libudev must find.
std::size_t sd_bound_devices() {
  std::error_code ec;
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/scsi_disk", ec)) {
    (void)e;
    ++n;
  }
  return n;
}
}  // namespace

TEST_CASE("udev scan: every block disk is enumerated, only sd-bound SCSI disks are taken", "[scsi][udev]") {
  auto all = enumerate_block_disks();
  REQUIRE(all);
  for (const auto& d : *all) {
    INFO(d.sysname << " " << d.syspath);
    CHECK(d.devnum != 0);
    CHECK(d.syspath.rfind("/sys/devices/", 0) == 0);
    if (d.scsi) {
      CHECK(d.sysname.rfind("sd", 0) == 0);
      CHECK_FALSE(d.hctl.empty());
    } else {
      CHECK(d.hctl.empty());
    }
    for (const char* never : {"vd", "loop", "zram", "nvme", "ram", "sr"}) {
      if (d.sysname.rfind(never, 0) == 0) CHECK_FALSE(d.scsi);
    }
  }
  auto scsi = enumerate_scsi_disks();
  REQUIRE(scsi);
  CHECK(scsi->size() == sd_bound_devices());  // 0 on a machine without SCSI disks
  for (const auto& d : *scsi) CHECK(d.scsi);
}

TEST_CASE("udev scan: discover_scsi_paths without a root reads the live disks, without error", "[scsi][udev]") {
  auto r = discover_scsi_paths(std::nullopt);
  REQUIRE(r);
  INFO((r->errors.empty() ? std::string() : r->errors.front()));
  CHECK(r->paths.size() + r->errors.size() == sd_bound_devices());
}

TEST_CASE("udev scan: with a sysfs root, discover_scsi_paths reads the captured tree", "[scsi][udev]") {
  auto r = discover_scsi_paths(kFixture);
  REQUIRE(r);
  CHECK(r->errors.empty());
  REQUIRE(r->paths.size() == 3);
  CHECK(r->paths[0].dev == "sda");
  CHECK(r->paths[2].dev == "sdc");
  CHECK(r->paths[1].wwid == "naa.33333330000007d0");
  auto hidden = discover_scsi_paths(kFixture, ReadOptions{false});
  REQUIRE(hidden);
  REQUIRE(hidden->paths.size() == 3);
  CHECK(hidden->paths[0].wwid_source == "vpd_pg83");
}

TEST_CASE("uevent properties: SDEV_UA arrives on the scsi_device, devnum from MAJOR/MINOR", "[scsi][udev]") {
  const Uevent ua = uevent_from_properties({
      {"ACTION", "change"},
      {"DEVPATH", "/devices/pseudo_0/adapter0/host1/target1:0:0/1:0:0:0"},
      {"SUBSYSTEM", "scsi"},
      {"DEVTYPE", "scsi_device"},
      {"SDEV_UA", "ASYMMETRIC_ACCESS_STATE_CHANGED"},
      {"SEQNUM", "4242"},
  });
  CHECK(ua.action == "change");
  CHECK(ua.subsystem == "scsi");
  CHECK(ua.devtype == "scsi_device");
  CHECK(ua.sysname == "1:0:0:0");
  CHECK(ua.syspath == "/sys/devices/pseudo_0/adapter0/host1/target1:0:0/1:0:0:0");
  CHECK(ua.devnum == 0);
  CHECK(ua.devnode.empty());
  CHECK(ua.seqnum == 4242);
  CHECK(ua.sdev_ua == "ASYMMETRIC_ACCESS_STATE_CHANGED");
  CHECK(ua.properties.size() == 6);

  const Uevent disk = uevent_from_properties({{"ACTION", "add"},
                                              {"DEVPATH", "/devices/pseudo_0/adapter0/host1/target1:0:0/1:0:0:0/block/sdb"},
                                              {"SUBSYSTEM", "block"},
                                              {"DEVTYPE", "disk"},
                                              {"DEVNAME", "sdb"},
                                              {"MAJOR", "8"},
                                              {"MINOR", "16"}});
  CHECK(disk.sysname == "sdb");
  CHECK(disk.devnode == "/dev/sdb");
  CHECK(disk.devnum == makedev(8, 16));
  CHECK(disk.sdev_ua.empty());
  CHECK(uevent_from_properties({{"DEVPATH", "/devices/virtual/block/cciss!c0d0"}}).sysname == "cciss/c0d0");
}
