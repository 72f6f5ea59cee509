// scsi_compat against real-kernel data: the sysfs tree ../shared/real-target/scsi-fixture.sh
// captured (scsi_debug, one logical unit through 3 hosts, scsi_dh_alua attached), and
// hand-made VPD pages for what scsi_debug does not produce.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "alua.h"
#include "scsi_sysfs.h"
#include "vpd83.h"

#include "scsi_fixture.h"

using namespace nvmemp;
using namespace nvmemp::scsi;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<std::uint8_t> page(std::initializer_list<std::vector<std::uint8_t>> descs) {
  std::vector<std::uint8_t> body;
  for (const auto& d : descs) body.insert(body.end(), d.begin(), d.end());
  std::vector<std::uint8_t> p{0, 0x83, static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
  p.insert(p.end(), body.begin(), body.end());
  return p;
}

std::vector<std::uint8_t> designation_descriptor(std::uint8_t code_set, std::uint8_t assoc, std::uint8_t type,
                                                 std::vector<std::uint8_t> v) {
  std::vector<std::uint8_t> d{code_set, static_cast<std::uint8_t>((assoc << 4) | type), 0,
                              static_cast<std::uint8_t>(v.size())};
  d.insert(d.end(), v.begin(), v.end());
  return d;
}

std::vector<std::uint8_t> text(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace

TEST_CASE("SCSI fixture (real kernel): 3 paths form 1 head with the kernel's states", "[scsi]") {
  auto scan = scan_scsi_paths(kFixture);
  INFO((scan.errors.empty() ? std::string() : scan.errors.front()));
  CHECK(scan.errors.empty());
  REQUIRE(scan.paths.size() == 3);
  const char* states[] = {"active/optimized", "active/non-optimized", "standby"};
  const wire::AnaState ana[] = {wire::AnaState::Optimized, wire::AnaState::NonOptimized, wire::AnaState::Inaccessible};
  for (std::size_t i = 0; i < 3; ++i) {
    const ScsiPath& p = scan.paths[i];
    INFO(p.dev);
    CHECK(p.dev == std::string("sd") + static_cast<char>('a' + i));
    CHECK(p.hctl == std::to_string(i) + ":0:0:0");
    CHECK(p.devnum == "8:" + std::to_string(16 * i));
    CHECK(p.wwid == "naa.33333330000007d0");
    CHECK(p.wwid_source == "wwid");
    CHECK(p.access_state == states[i]);
    CHECK(p.ana == ana[i]);
    CHECK(p.target_port_group == (i + 1) << 8);  // scsi_debug: (host_no + 1) << 8
    CHECK(p.relative_port == 1);
    CHECK_FALSE(p.preferred);
    CHECK(p.dh_state == "alua");
    CHECK(p.state == "running");
    CHECK(p.vendor == "Linux");
    CHECK(p.model == "scsi_debug");
    CHECK(p.rev == "0191");
    CHECK(p.size_bytes == 32768u * 512);
    CHECK(p.logical_block_size == 512);
    CHECK(p.max_sectors_kb == 512);   // as the kernel wrote it for scsi_debug
    CHECK(p.write_back_cache);
  }
  auto g = group_by_wwid(scan.paths);
  CHECK(g.refused.empty());
  REQUIRE(g.heads.size() == 1);
  CHECK(g.heads[0].wwid == "naa.33333330000007d0");
  CHECK(g.heads[0].paths.size() == 3);
  CHECK(g.heads[0].size_bytes == 16u << 20);
}

TEST_CASE("SCSI fixture: the wwid from vpd_pg83 alone equals the kernel's device/wwid, byte for byte", "[scsi]") {
  ReadOptions no_wwid;
  no_wwid.use_wwid_file = false;
  auto scan = scan_scsi_paths(kFixture, no_wwid);
  REQUIRE(scan.paths.size() == 3);
  for (const auto& p : scan.paths) {
    INFO(p.dev);
    CHECK(p.wwid_source == "vpd_pg83");
    const auto dir = kFixture / "sys/block" / p.dev / "device";
    auto derived = vpd83_lun_wwid(bytes(slurp(dir / "vpd_pg83")));
    REQUIRE(derived.has_value());
    CHECK(*derived + "\n" == slurp(dir / "wwid"));  // sdev_show_wwid() appends the newline
    CHECK(p.wwid == normalize_wwid(slurp(dir / "wwid")));
  }
}

TEST_CASE("VPD 0x83: designators of every association, bounds checked", "[scsi]") {
  const std::string pg = slurp(kFixture / "sys/block/sda/device/vpd_pg83");
  auto ds = parse_vpd83(bytes(pg));
  REQUIRE(ds.has_value());
  REQUIRE(ds->size() == 7);
  CHECK((*ds)[0].type == kDesigT10VendorId);
  CHECK((*ds)[1].type == kDesigNaa);
  CHECK((*ds)[1].association == Association::LogicalUnit);
  CHECK((*ds)[2].type == kDesigRelativeTargetPort);
  CHECK((*ds)[2].association == Association::TargetPort);
  CHECK((*ds)[3].type == kDesigNaa);  // the target port's name
  CHECK((*ds)[3].association == Association::TargetPort);
  CHECK((*ds)[4].type == kDesigTargetPortGroup);
  CHECK((*ds)[5].type == kDesigNaa);  // the target device's name
  CHECK((*ds)[5].association == Association::TargetDevice);
  CHECK((*ds)[6].type == kDesigScsiNameString);
  CHECK((*ds)[6].association == Association::TargetDevice);
  CHECK((*ds)[6].piv);

  auto cut = std::vector<std::uint8_t>(pg.begin(), pg.end() - 3);
  auto bad = parse_vpd83(cut);
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::Contains("PAGE LENGTH"));
  auto over = page({designation_descriptor(1, 0, kDesigNaa, std::vector<std::uint8_t>(8))});
  over[7] = 20;  // descriptor length past the page
  auto o = parse_vpd83(over);
  REQUIRE_FALSE(o.has_value());
  CHECK_THAT(o.error().message, Catch::Contains("NAA descriptor at offset 4"));
  std::vector<std::uint8_t> pg80{0, 0x80, 0, 0};
  CHECK_FALSE(parse_vpd83(pg80).has_value());
  CHECK_FALSE(parse_vpd83(std::vector<std::uint8_t>{0, 0x83}).has_value());
}

TEST_CASE("VPD 0x83 wwid: the kernel's preference order and formats", "[scsi]") {
  const auto t10 = designation_descriptor(2, 0, kDesigT10VendorId, text("ACME    DISK\x01"));
  const auto naa8 = designation_descriptor(1, 0, kDesigNaa, {0x50, 1, 2, 3, 4, 5, 6, 7});
  const auto naa16 = designation_descriptor(1, 0, kDesigNaa, {0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  const auto eui8 = designation_descriptor(1, 0, kDesigEui64, {0xaa, 1, 2, 3, 4, 5, 6, 7});
  const auto eui12 = designation_descriptor(1, 0, kDesigEui64, {0xbb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  const auto name = designation_descriptor(3, 0, kDesigScsiNameString, text(std::string("iqn.2026-01.io.example:lu0\0\0", 28)));
  const auto port_naa = designation_descriptor(1, 1, kDesigNaa, {0x60, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9});

  CHECK(*vpd83_lun_wwid(page({t10})) == "t10.ACME    DISK\\001");  // %pE: octal escapes
  // Priority decides, not length (the fixture: a 28-byte T10 ID and an 8-byte NAA give naa.).
  CHECK(*vpd83_lun_wwid(page({t10, naa8})) == "naa.5001020304050607");
  CHECK(*vpd83_lun_wwid(page({naa8, t10})) == "naa.5001020304050607");
  CHECK(*vpd83_lun_wwid(page({naa8, eui8})) == "naa.5001020304050607");   // NAA registered 5 > EUI-64 8
  CHECK(*vpd83_lun_wwid(page({eui12, naa8})) == "eui.bb0102030405060708090a0b");  // 6 > 5
  CHECK(*vpd83_lun_wwid(page({naa16, eui12})) == "naa.60010203040506070809" "0a0b0c0d0e0f");  // 8 > 6
  CHECK(*vpd83_lun_wwid(page({eui12, naa16})) == "naa.60010203040506070809" "0a0b0c0d0e0f");
  CHECK(*vpd83_lun_wwid(page({naa16, name})) == std::string("iqn.2026-01.io.example:lu0\0\0", 28));
  CHECK(normalize_wwid(*vpd83_lun_wwid(page({name}))) == "iqn.2026-01.io.example:lu0");
  // NAA locally assigned ranks with T10: the later of the two wins.
  const auto naa_local = designation_descriptor(1, 0, kDesigNaa, {0x30, 1, 2, 3, 4, 5, 6, 7});
  CHECK(*vpd83_lun_wwid(page({naa_local, t10})) == "t10.ACME    DISK\\001");
  CHECK(*vpd83_lun_wwid(page({t10, naa_local})) == "naa.3001020304050607");
  // Other associations never name the logical unit.
  CHECK(*vpd83_lun_wwid(page({port_naa, naa8})) == "naa.5001020304050607");
  auto none = vpd83_lun_wwid(page({port_naa}));
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code == Errc::NotFound);
  // An EUI-64 of an odd size is no identifier at all.
  CHECK(*vpd83_lun_wwid(page({naa8, designation_descriptor(1, 0, kDesigEui64, std::vector<std::uint8_t>(10, 1))})) ==
        "naa.5001020304050607");
}

TEST_CASE("VPD 0x83 port ids: relative target port and target port group of target-port association", "[scsi]") {
  auto ids = vpd83_port_ids(page({designation_descriptor(1, 1, kDesigRelativeTargetPort, {0, 0, 0, 2}),
                                  designation_descriptor(1, 1, kDesigTargetPortGroup, {0, 0, 0x01, 0x01})}));
  REQUIRE(ids.has_value());
  CHECK(ids->relative_port == 2);
  CHECK(ids->target_port_group == 0x101);
  auto lu = vpd83_port_ids(page({designation_descriptor(1, 0, kDesigTargetPortGroup, {0, 0, 0, 5})}));
  REQUIRE(lu.has_value());
  CHECK_FALSE(lu->target_port_group.has_value());
}

TEST_CASE("ALUA access_state -> ANA state: the table", "[scsi]") {
  using wire::AnaState;
  CHECK(ana_from_access_state("active/optimized\n").ana == AnaState::Optimized);
  CHECK(ana_from_access_state("active/non-optimized").ana == AnaState::NonOptimized);
  CHECK(ana_from_access_state("lba-dependent").ana == AnaState::NonOptimized);
  CHECK(ana_from_access_state("transitioning").ana == AnaState::Change);
  CHECK(ana_from_access_state("standby").ana == AnaState::Inaccessible);
  CHECK(ana_from_access_state("unavailable").ana == AnaState::Inaccessible);
  CHECK(ana_from_access_state("offline").ana == AnaState::Inaccessible);
  CHECK(ana_from_access_state(std::nullopt).ana == AnaState::Optimized);
  const auto unknown = ana_from_access_state("unknown");
  CHECK(unknown.ana == AnaState::Inaccessible);
  CHECK_FALSE(unknown.known);
}

TEST_CASE("SCSI heads: a path whose size differs from its head's is refused, not merged", "[scsi]") {
  auto scan = scan_scsi_paths(kFixture);
  REQUIRE(scan.paths.size() == 3);
  scan.paths[2].size_bytes *= 2;
  auto g = group_by_wwid(scan.paths);
  REQUIRE(g.heads.size() == 1);
  CHECK(g.heads[0].paths.size() == 2);
  REQUIRE(g.refused.size() == 1);
  CHECK_THAT(g.refused[0], Catch::Contains("sdc (2:0:0:0)") && Catch::Contains("refused"));
}
