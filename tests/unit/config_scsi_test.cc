// nvme-mpathd's [scsi] section: SCSI disks as heads, with a wwid allow/deny list.
#include <catch2/catch.hpp>

#include "config.h"
#include "scsi_feeder.h"

namespace nvmemp::mpathd {
namespace {

TEST_CASE("config: [scsi] is off by default and takes enable, wwid_allow, wwid_deny and sysfs_root", "[config][scsi]") {
  auto none = parse_config("", "t.toml");
  REQUIRE(none);
  CHECK_FALSE(none->scsi.enable);
  CHECK(none->scsi.sysfs_root == "/");

  auto r = parse_config("[scsi]\nenable = true\nwwid_allow = [\"naa.6*\", \"eui.*\"]\nwwid_deny = [\"t10.ATA*\"]\n"
                        "sysfs_root = \"/tmp/fixture\"\n",
                        "t.toml");
  REQUIRE(r);
  CHECK(r->scsi.enable);
  CHECK(r->scsi.wwid_allow == std::vector<std::string>{"naa.6*", "eui.*"});
  CHECK(r->scsi.wwid_deny == std::vector<std::string>{"t10.ATA*"});
  CHECK(r->scsi.sysfs_root == "/tmp/fixture");
}

TEST_CASE("config: bad [scsi] values name the key and the line", "[config][scsi]") {
  auto msg = [](const char* text) {
    auto r = parse_config(text, "t.toml");
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK(msg("[scsi]\nenable = \"yes\"\n") == "t.toml:2:10: enable must be true or false, got string");
  CHECK(msg("[scsi]\nwwid_allow = \"naa.*\"\n").find("t.toml:2:14: wwid_allow must be an array of glob patterns") == 0);
  CHECK(msg("[scsi]\nwwid_deny = [\"\", 3]\n").find("each wwid_deny entry must be a non-empty string") !=
        std::string::npos);
  CHECK(msg("[scsi]\nsysfs_root = \"relative\"\n").find("must be an absolute path") != std::string::npos);
  CHECK(msg("[scsi]\nenabled = true\n").find("unknown key \"enabled\" in [scsi]") != std::string::npos);
  CHECK(msg("scsi = 1\n").find("scsi must be a table") != std::string::npos);
}

TEST_CASE("scsi: the wwid filter as multipath-tools' blacklist: deny wins, a non-empty allow list limits", "[scsi]") {
  scsi::WwidFilter f;
  CHECK(f.accepts("naa.600a0b80001234"));
  f.deny = {"t10.ATA*"};
  CHECK_FALSE(f.accepts("t10.ATA     QEMU HARDDISK"));
  CHECK(f.accepts("naa.600a0b80001234"));
  f.allow = {"naa.6*"};
  CHECK(f.accepts("naa.600a0b80001234"));
  CHECK_FALSE(f.accepts("eui.0123456789abcdef"));
  f.deny.push_back("naa.600a*");
  CHECK_FALSE(f.accepts("naa.600a0b80001234"));  // deny wins over allow
}

}  // namespace
}  // namespace nvmemp::mpathd
