// NVMe/TCP TLS PSKs: the interchange format, the retained PSK, identities and the TLS PSK, each
// against vectors published by others, never against values this code derived:
//   - libnvme's test/psk.c: the interchange strings of one 32-byte and one 48-byte key with HH
//     00/01/02, and the v1 identities (with digest) of that key for nqn.psk-test-host /
//     nqn.psk-test-subsys, in RFC 8446 encoding and in libnvme's former ("compat") one;
//   - the kernel's nvme-auth KUnit test (drivers/nvme/common/tests): the digest and the TLS PSK
//     derived from a given PSK for "hostnqn" / "subsysnqn", SHA-256 and SHA-384.
// The v0 identity's TLS PSK has no published vector; the TLS handshake tests check it against
// a peer that derives it itself.
#include "tls/tls_psk.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace nvmemp;
using namespace nvmemp::tls;

namespace {

const std::vector<std::uint8_t> kKey32 = {0x55, 0x12, 0xDB, 0xB6, 0x73, 0x7D, 0x01, 0x06, 0xF6, 0x59, 0x75,
                                          0xB7, 0x73, 0xDF, 0xB0, 0x11, 0xFF, 0xC3, 0x44, 0xBC, 0xF4, 0x42,
                                          0xE2, 0xDD, 0x6D, 0x8B, 0xC4, 0x87, 0x0B, 0x5D, 0x5B, 0x03};
std::vector<std::uint8_t> key48() {
  std::vector<std::uint8_t> k = kKey32;
  k.insert(k.end(), kKey32.begin() + 16, kKey32.end());
  return k;
}

std::vector<std::uint8_t> to_vec(const auth::SecretBuf& b) { return {b.data(), b.data() + b.size()}; }

constexpr const char* kHost = "nqn.psk-test-host";
constexpr const char* kSub = "nqn.psk-test-subsys";

}  // namespace

TEST_CASE("TLS PSK interchange: libnvme's vectors parse to their keys and the keys format to them", "[tls]") {
  struct Case {
    PskHash hh;
    std::vector<std::uint8_t> key;
    const char* text;
  };
  const Case cases[] = {
      {PskHash::None, kKey32, "NVMeTLSkey-1:00:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"},
      {PskHash::Sha256, kKey32, "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:"},
      {PskHash::Sha384, key48(),
       "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:"},
  };
  for (const Case& c : cases) {
    auto psk = parse_tls_key(std::string("  ") + c.text + "\n", "test");
    REQUIRE(psk);
    CHECK(psk->transform == c.hh);
    CHECK(to_vec(psk->key) == c.key);
    CHECK(format_tls_key(c.hh, c.key) == c.text);
  }
}

TEST_CASE("TLS PSK interchange: each malformed key is refused with the rule it broke, never its bytes", "[tls]") {
  const std::string body = "VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ";
  std::string crc_flip = "NVMeTLSkey-1:01:" + body + ":";
  crc_flip[20] = crc_flip[20] == 'A' ? 'B' : 'A';
  const std::pair<std::string, const char*> cases[] = {
      {"DHHC-1:01:" + body + ":", "does not start with NVMeTLSkey-1:"},
      {"NVMeTLSkey-1:1:" + body + ":", "is not two digits"},
      {"NVMeTLSkey-1:03:" + body + ":", "must be 00 (none), 01 (SHA-256) or 02 (SHA-384)"},
      {"NVMeTLSkey-1:01:" + body, "does not end with ':'"},
      {"NVMeTLSkey-1:01:" + body.substr(0, 47) + ":", "not a multiple of 4"},
      {"NVMeTLSkey-1:01:" + body.substr(0, 44) + "!!!!:", "is not base64"},
      {"NVMeTLSkey-1:01:" + body.substr(0, 40) + ":", "decodes to 30 bytes"},
      {crc_flip, "CRC-32 does not match"},
      {"NVMeTLSkey-1:02:" + body + ":", "with HH 02 must be 48 bytes"},
  };
  for (const auto& [text, rule] : cases) {
    auto r = parse_tls_key(text, "the key in [host] tls_key");
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK(r.error().code == Errc::InvalidArgument);
    CHECK(r.error().message.find(rule) != std::string::npos);
    CHECK(r.error().message.find("the key in [host] tls_key") != std::string::npos);
    CHECK(r.error().message.find(body.substr(4, 12)) == std::string::npos);
  }
}

TEST_CASE("TLS PSK identity v1: libnvme's identities for its key, RFC 8446 and compat encodings", "[tls]") {
  struct Case {
    PskHash hh;
    std::vector<std::uint8_t> key;
    HkdfEncoding enc;
    const char* identity;
  };
  const Case cases[] = {
      {PskHash::Sha256, kKey32, HkdfEncoding::Rfc8446,
       "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys iSbjiStwJ/1TrTvDlt2fjFmzvsytOJelidNnA+X5lEU="},
      {PskHash::Sha384, key48(), HkdfEncoding::Rfc8446,
       "NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "
       "QhW2+Rp6RzHlNtCslyRxMnwJ11tKKhz8JCAQpQ+XUD8f9td1VeH5h53yz2wKJG1a"},
      {PskHash::Sha256, kKey32, HkdfEncoding::LibnvmeCompat,
       "NVMe1R01 nqn.psk-test-host nqn.psk-test-subsys 66GuqV08TsAGII39teWUfwQwizjv06Jy8jOcX3NAAzM="},
      {PskHash::Sha384, key48(), HkdfEncoding::LibnvmeCompat,
       "NVMe1R02 nqn.psk-test-host nqn.psk-test-subsys "
       "RsKmYJ3nAn1ApjjMloJFbAkLPivONDAX/xW327YBUsn2eGShXSjCZvBaOxscLqmz"},
  };
  for (const Case& c : cases) {
    ConfiguredPsk psk;
    psk.transform = c.hh;
    psk.key = auth::SecretBuf(c.key);
    auto tls = make_tls_psk(psk, kHost, kSub, IdentityVersion::V1, c.enc);
    REQUIRE(tls);
    CHECK(tls->identity == c.identity);
    CHECK(tls->hash == c.hh);
    CHECK(tls->key.size() == c.key.size());
  }
  ConfiguredPsk psk;
  psk.transform = PskHash::Sha256;
  psk.key = auth::SecretBuf(kKey32);
  auto v0 = make_tls_psk(psk, kHost, kSub, IdentityVersion::V0, HkdfEncoding::Rfc8446);
  REQUIRE(v0);
  CHECK(v0->identity == "NVMe0R01 nqn.psk-test-host nqn.psk-test-subsys");
}

TEST_CASE("TLS PSK: the kernel's KUnit vectors for the digest and the TLS PSK of a given PSK", "[tls]") {
  struct Case {
    PskHash h;
    std::vector<std::uint8_t> psk;
    const char* digest;
    std::vector<std::uint8_t> tls_psk;
  };
  const Case cases[] = {
      {PskHash::Sha256,
       {0x17, 0x33, 0xc5, 0x9f, 0xa7, 0xf4, 0x8f, 0xcf, 0x37, 0xf5, 0xf2, 0x6f, 0xc4, 0xff, 0x02, 0x68,
        0xad, 0x4f, 0x78, 0xe0, 0x30, 0xf4, 0xf3, 0xb0, 0xbf, 0xd1, 0xd4, 0x7e, 0x7b, 0xb1, 0x44, 0x7a},
       "OldoKuTfKddMuyCznAZojkWD7P4D9/AtzDzLimtOxqI=",
       {0x3c, 0x17, 0xda, 0x62, 0x84, 0x74, 0xa0, 0x4d, 0x22, 0x47, 0xc4, 0xca, 0xb4, 0x79, 0x68, 0xc9,
        0x15, 0x38, 0x81, 0x93, 0xf7, 0xc0, 0x71, 0xbd, 0x94, 0x89, 0xcc, 0x36, 0x66, 0xcd, 0x7c, 0xc8}},
      {PskHash::Sha384,
       {0xf1, 0x4b, 0x2d, 0xd3, 0x23, 0x4c, 0x45, 0x96, 0x94, 0xd3, 0xbc, 0x63, 0xf8, 0x96, 0x8b, 0xd6,
        0xb3, 0x7c, 0x2c, 0x6d, 0xe8, 0x49, 0xe2, 0x2e, 0x11, 0x87, 0x49, 0x00, 0x1c, 0xe4, 0xbb, 0xe8,
        0x64, 0x0b, 0x9e, 0x3a, 0x74, 0x8c, 0xb1, 0x1c, 0xe4, 0xb1, 0xd7, 0x1d, 0x35, 0x9c, 0xce, 0x39},
       "cffMWk8TSS7HOQebjgYEIkrPrjWPV4JE5cdPB8WhEvY4JBW5YynKyv66XscN4A9n",
       {0x27, 0x74, 0x75, 0x32, 0x33, 0x53, 0x7b, 0x3f, 0xa5, 0x0e, 0xb7, 0xd1, 0x6a, 0x8e, 0x43, 0x45,
        0x7d, 0x85, 0xf4, 0x90, 0x6c, 0x00, 0x5b, 0x22, 0x36, 0x61, 0x6c, 0x5d, 0x80, 0x93, 0x9d, 0x08,
        0x98, 0xff, 0xf1, 0x5b, 0xb8, 0xb7, 0x71, 0x19, 0xd2, 0xbe, 0x0a, 0xac, 0x42, 0x3e, 0x75, 0x90}},
  };
  for (const Case& c : cases) {
    auto digest = psk_digest(c.h, c.psk, "hostnqn", "subsysnqn");
    REQUIRE(digest);
    CHECK(*digest == c.digest);
    const std::string context = std::string(c.h == PskHash::Sha256 ? "01 " : "02 ") + *digest;
    auto key = derive_tls_psk(c.h, c.psk, context, HkdfEncoding::Rfc8446);
    REQUIRE(key);
    CHECK(to_vec(*key) == c.tls_psk);
  }
}
