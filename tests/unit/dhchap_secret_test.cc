// DH-HMAC-CHAP secrets: the DHHC-1 format and the key transform, against vectors made by
// others (the specification's example, the captures' keys made with Python's zlib and base64,
// libnvme's nvme_gen_dhchap_key() for the transform).
#include "auth/dhchap_secret.h"

#include <catch2/catch.hpp>

#include <cstddef>
extern "C" {
#include <nvme/linux.h>  // libnvme 1.3: a C header without an extern "C" block
}

#include <numeric>
#include <string>
#include <vector>

using namespace nvmemp;
using namespace nvmemp::auth;

namespace {

std::vector<std::uint8_t> byte_run(std::uint8_t first, std::size_t n) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::vector<std::uint8_t> to_vec(const SecretBuf& b) { return {b.data(), b.data() + b.size()}; }

// The specification's example secret (quoted in the kernel series that relaxed key lengths).
constexpr const char* kSpecExample = "DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:";
// ../shared/real-target/captures/README.md: HK = bytes 0x10..0x2f, SHA-256 transform; CK = bytes
// 0x80..0xaf, SHA-384 transform (made with Python's base64 and zlib.crc32).
constexpr const char* kCaptureHostKey = "DHHC-1:01:EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi9A/ow7:";
constexpr const char* kCaptureCtrlKey =
    "DHHC-1:02:gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp+goaKjpKWmp6ipqqusra6vkk6Jzw==:";

}  // namespace

TEST_CASE("DHHC-1 secrets: the specification's example and the captures' keys parse to their bytes", "[dhchap]") {
  auto spec = parse_dhchap_secret(kSpecExample, "test");
  REQUIRE(spec);
  CHECK(spec->transform == DhchapHash::None);
  REQUIRE(spec->key.size() == 32);
  CHECK(spec->key.data()[0] == 0x89);  // "ia6z" -> 89 ae b3
  CHECK(spec->key.data()[1] == 0xae);
  CHECK(spec->key.data()[2] == 0xb3);
  CHECK_FALSE(spec->length_mismatch);

  auto hk = parse_dhchap_secret(kCaptureHostKey, "test");
  REQUIRE(hk);
  CHECK(hk->transform == DhchapHash::Sha256);
  CHECK(to_vec(hk->key) == byte_run(0x10, 32));
  CHECK_FALSE(hk->length_mismatch);

  std::string ck_line = kCaptureCtrlKey;
  ck_line += '\n';  // as read from a file
  auto ck = parse_dhchap_secret(ck_line, "test");
  REQUIRE(ck);
  CHECK(ck->transform == DhchapHash::Sha384);
  CHECK(to_vec(ck->key) == byte_run(0x80, 48));

  // A 48-byte key with XX 01: kernels since 6.7 take it, 6.1 does not: parsed, flagged.
  std::string mixed = kCaptureCtrlKey;
  mixed[8] = '1';
  auto mx = parse_dhchap_secret(mixed, "test");
  REQUIRE(mx);
  CHECK(mx->transform == DhchapHash::Sha256);
  CHECK(mx->length_mismatch);
}

TEST_CASE("DHHC-1 secrets: every broken form is refused naming the rule, never echoing the key", "[dhchap]") {
  const std::string body = "EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi9A/ow7";
  struct Row {
    std::string text;
    const char* says;
  };
  std::string crc_flip = kCaptureHostKey;
  crc_flip[12] = crc_flip[12] == 'A' ? 'B' : 'A';
  const std::vector<Row> rows = {
      {"", "does not start with DHHC-1:"},
      {"DHHC-2:01:" + body + ":", "does not start with DHHC-1:"},
      {"DHHC-1:04:" + body + ":", "must be 00 (none), 01"},
      {"DHHC-1:1:" + body + ":", "not two digits"},
      {"DHHC-1:zz:" + body + ":", "must be 00 (none), 01"},
      {"DHHC-1:01:" + body, "does not end with ':'"},
      {"DHHC-1:01:" + body.substr(0, 47) + ":", "not a multiple of 4"},
      {"DHHC-1:01:" + body.substr(0, 44) + "!!!!:", "is not base64"},
      {"DHHC-1:01:" + body.substr(0, 40) + ":", "decodes to 30 bytes"},
      {crc_flip, "CRC-32 does not match"},
  };
  for (const auto& row : rows) {
    INFO("input #" << (&row - rows.data()));
    auto r = parse_dhchap_secret(row.text, "the host key in [host] dhchap_secret");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::InvalidArgument);
    CHECK(r.error().message.find(row.says) != std::string::npos);
    CHECK(r.error().message.find("the host key in [host] dhchap_secret") != std::string::npos);
    CHECK(r.error().message.find(body.substr(0, 8)) == std::string::npos);
  }
}

TEST_CASE("DHHC-1 key transform matches libnvme's nvme_gen_dhchap_key for every hash", "[dhchap]") {
  std::string hostnqn = "nqn.2014-08.org.nvmexpress:uuid:5d0a7a3a-9c62-4c4e-8d0e-1f2a3b4c5d6e";
  for (std::uint8_t xx = 1; xx <= 3; ++xx) {
    const std::size_t len = hash_length(static_cast<DhchapHash>(xx));
    std::vector<std::uint8_t> secret = byte_run(static_cast<std::uint8_t>(0x20 * xx), len);
    DhchapSecret s;
    s.transform = static_cast<DhchapHash>(xx);
    s.key = SecretBuf(secret);
    auto ours = transform_key(s, hostnqn);
    REQUIRE(ours);
    std::vector<std::uint8_t> theirs(len);
    REQUIRE(nvme_gen_dhchap_key(hostnqn.data(), static_cast<nvme_hmac_alg>(xx), static_cast<unsigned>(len),
                                secret.data(), theirs.data()) == 0);
    INFO("hash " << hash_name(s.transform));
    CHECK(to_vec(*ours) == theirs);
  }
  // XX 00: the key as it is.
  auto spec = parse_dhchap_secret(kSpecExample, "test");
  REQUIRE(spec);
  auto same = transform_key(*spec, hostnqn);
  REQUIRE(same);
  CHECK(same->equals(spec->key.bytes()));
}
