#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include <isa-l/crc.h>

#include "support/capture.h"
#include "wire/crc32c.h"

using nvmemp::wire::crc32c;

TEST_CASE("CRC32C matches the RFC 3720 B.4 test vectors", "[crc32c]") {
  std::vector<std::uint8_t> b(32);
  std::fill(b.begin(), b.end(), 0x00);
  CHECK(crc32c(b) == 0x8a9136aau);
  std::fill(b.begin(), b.end(), 0xFF);
  CHECK(crc32c(b) == 0x62a8ab43u);
  std::iota(b.begin(), b.end(), 0);
  CHECK(crc32c(b) == 0x46dd794eu);
  for (std::size_t i = 0; i < 32; ++i) b[i] = static_cast<std::uint8_t>(31 - i);
  CHECK(crc32c(b) == 0x113fdb5cu);
  // An iSCSI Read (10) command PDU, RFC 3720 B.4.
  const auto scsi_read = nvmemp::test::from_hex(
      "01c00000" "00000000" "00000000" "00000000" "14000000" "00000400" "00000014" "00000018"
      "28000000" "00000000" "02000000" "00000000");
  REQUIRE(scsi_read.size() == 48);
  CHECK(crc32c(scsi_read) == 0xd9963a56u);
  const std::string check = "123456789";
  CHECK(crc32c({reinterpret_cast<const std::uint8_t*>(check.data()), check.size()}) == 0xe3069283u);
  CHECK(crc32c({}) == 0u);
}

TEST_CASE("CRC32C over pieces equals CRC32C over the whole", "[crc32c]") {
  std::vector<std::uint8_t> b(10000);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 3);
  const auto whole = crc32c(b);
  for (std::size_t cut : {0ul, 1ul, 3ul, 4096ul, 9999ul, 10000ul}) {
    nvmemp::wire::Crc32c inc;
    inc.update(nvmemp::Bytes(b).first(cut));
    inc.update(nvmemp::Bytes(b).subspan(cut));
    CHECK(inc.value() == whole);
  }
}

TEST_CASE("CRC32C of small buffers (the SSE4.2 path for headers) equals ISA-L's at every size and alignment",
          "[crc32c]") {
  std::vector<std::uint8_t> b(600);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 131 + 7);
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t n = 0; n <= 300; ++n) {
      INFO("offset " << off << " size " << n);
      auto* p = b.data() + off;
      const std::uint32_t want = ~crc32_iscsi(p, static_cast<int>(n), ~0u);
      CHECK(crc32c(nvmemp::Bytes(p, n)) == want);
    }
  }
  // A large buffer whose pieces cross the small/large boundary.
  nvmemp::wire::Crc32c inc;
  for (std::size_t at = 0; at < b.size(); at += 97) {
    inc.update(nvmemp::Bytes(b).subspan(at, std::min<std::size_t>(97, b.size() - at)));
  }
  CHECK(inc.value() == ~crc32_iscsi(b.data(), static_cast<int>(b.size()), ~0u));
}
