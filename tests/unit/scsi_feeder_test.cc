// The ScsiFeeder on the real-kernel capture (tests/fixtures/sysfs/scsi-debug-3paths: one logical
// unit, sda active/optimized, sdb active/non-optimized, sdc standby): the Fabric gets one SCSI
// head with three paths in the states the kernel reported; a `change` of one scsi_device (where
// the kernel puts SDEV_UA) re-reads every path of its wwid; a removed device leaves.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "nvmemp/mpath.h"
#include "scsi_feeder.h"
#include "support/shell.h"

namespace nvmemp::scsi {
namespace {

namespace fs = std::filesystem;

struct FixtureCopy {
  fs::path dir;
  FixtureCopy() {
    char tmpl[] = "/tmp/nvmemp-feeder-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    const auto r = test::shell("cp -a '" + std::string(NVMEMP_FIXTURES_DIR) + "/sysfs/scsi-debug-3paths' '" +
                               (dir / "root").string() + "'", 30);
    REQUIRE(r.status == 0);
  }
  ~FixtureCopy() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path root() const { return dir / "root"; }
  void set(const std::string& dev, const std::string& attr, const std::string& value) const {
    std::ofstream(root() / "sys/block" / dev / "device" / attr) << value << '\n';
  }
};

std::map<std::string, std::string> ana_by_dev(Fabric& f) {
  std::map<std::string, std::string> out;
  const auto t = f.topology();
  for (const auto& h : t.heads) {
    for (const auto& hp : h.paths) {
      for (const auto& p : t.paths) {
        if (p.id == hp.path_id) out[p.dev] = hp.ana_state;
      }
    }
  }
  return out;
}

TEST_CASE("scsi feeder: the real-kernel capture becomes one SCSI head, a scsi_device change re-reads every path "
          "of its wwid, a removed device leaves",
          "[scsi]") {
  FixtureCopy fx;
  auto fabric = Fabric::start({});
  REQUIRE(fabric);
  FeederOptions o;
  o.sysfs_root = fx.root();
  o.dev_sysfs = fx.root() / "sys";  // DEVNAME from the capture: /dev/sda, /dev/sdb, /dev/sdc
  ScsiFeeder feeder(**fabric, o);
  auto rep = feeder.sync();
  INFO((rep.errors.empty() ? std::string() : rep.errors.front()));
  CHECK(rep.errors.empty());
  CHECK(rep.paths == 3);

  auto head = (*fabric)->find_wwid("naa.33333330000007d0");
  REQUIRE(head);
  CHECK(head->transport == "scsi");
  CHECK(head->blocks == 32768);
  CHECK(head->block_size == 512);
  CHECK(head->max_transfer == 512 * 1024);      // queue/max_sectors_kb
  CHECK(head->volatile_write_cache);            // queue/write_cache "write back"
  CHECK(ana_by_dev(**fabric) == std::map<std::string, std::string>{
                                    {"/dev/sda", "optimized"}, {"/dev/sdb", "non-optimized"}, {"/dev/sdc", "inaccessible"}});
  const auto t = (*fabric)->topology();
  std::map<std::string, std::uint32_t> tpg;
  for (const auto& p : t.paths) {
    tpg[p.dev] = p.tpg;
    CHECK(p.transport == "scsi");
    CHECK(p.state == "live");
  }
  CHECK(tpg == std::map<std::string, std::uint32_t>{{"/dev/sda", 0x100}, {"/dev/sdb", 0x200}, {"/dev/sdc", 0x300}});

  // A transition, as scsi_dh_alua writes it: sda standby, sdc active/optimized. The kernel sends
  // SDEV_UA for the one scsi_device that saw the unit attention (here 1:0:0:0, sdb, whose own
  // state did not change); every path of the wwid is read again.
  fx.set("sda", "access_state", "standby");
  fx.set("sdc", "access_state", "active/optimized");
  Uevent ev;
  ev.action = "change";
  ev.subsystem = "scsi";
  ev.devtype = "scsi_device";
  ev.sysname = "1:0:0:0";
  ev.sdev_ua = "ASYMMETRIC_ACCESS_STATE_CHANGED";
  rep = feeder.handle(ev);
  CHECK(rep.errors.empty());
  CHECK(ana_by_dev(**fabric) == std::map<std::string, std::string>{
                                    {"/dev/sda", "inaccessible"}, {"/dev/sdb", "non-optimized"}, {"/dev/sdc", "optimized"}});

  // preferred_path and transitioning come through the same way.
  fx.set("sdb", "access_state", "transitioning");
  fx.set("sdb", "preferred_path", "1");
  ev.sysname = "0:0:0:0";
  feeder.handle(ev);
  CHECK(ana_by_dev(**fabric)["/dev/sdb"] == "change");
  for (const auto& p : (*fabric)->topology().paths) {
    if (p.dev == "/dev/sdb") CHECK(p.preferred);
  }

  // sdc goes away: its remove event rescans, the path leaves the head.
  fs::remove(fx.root() / "sys/block/sdc");
  Uevent rm;
  rm.action = "remove";
  rm.subsystem = "block";
  rm.devtype = "disk";
  rm.sysname = "sdc";
  rep = feeder.handle(rm);
  CHECK(rep.paths == 2);
  CHECK(ana_by_dev(**fabric).count("/dev/sdc") == 0);

  // The deny list: the whole unit is left out, and its paths leave the Fabric.
  FeederOptions denied = o;
  denied.filter.deny = {"naa.3333*"};
  ScsiFeeder other(**fabric, denied);
  auto r2 = other.sync();
  CHECK(r2.paths == 0);
  REQUIRE_FALSE(r2.errors.empty());
  CHECK(r2.errors.front().find("wwid allow/deny list") != std::string::npos);
}

}  // namespace
}  // namespace nvmemp::scsi
