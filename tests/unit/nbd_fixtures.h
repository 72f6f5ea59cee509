// Shared by the NBD codec tests (nbd_proto_test.cc, nbd_transmission_test.cc): hex text to
// bytes, a Wire builder for what a client sends, two exports (ns1 and a read-only one), and a
// SessionHarness feeding a ServerSession.
#pragma once

#include "nbd_proto.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

namespace nvmemp::nbd::fixtures {

using ByteVec = std::vector<std::uint8_t>;

// "4e42 444d ..." -> bytes; spaces are ignored.
inline ByteVec hex(std::string_view s) {
  ByteVec out;
  int nibble = -1;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      continue;
    }
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(nibble << 4 | v));
      nibble = -1;
    }
  }
  return out;
}

// What a client sends, built field by field (big-endian, as the spec says).
struct Wire {
  ByteVec b;
  Wire& u16(std::uint16_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
    return *this;
  }
  Wire& u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    return u16(static_cast<std::uint16_t>(v));
  }
  Wire& u64(std::uint64_t v) {
    u32(static_cast<std::uint32_t>(v >> 32));
    return u32(static_cast<std::uint32_t>(v));
  }
  Wire& str(std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Wire& raw(const ByteVec& x) {
    b.insert(b.end(), x.begin(), x.end());
    return *this;
  }
  Wire& option(std::uint32_t opt, const ByteVec& data) {
    u64(nbd::kIHaveOpt).u32(opt).u32(static_cast<std::uint32_t>(data.size()));
    return raw(data);
  }
  Wire& go(std::uint32_t opt, std::string_view name, std::vector<std::uint16_t> infos) {
    Wire d;
    d.u32(static_cast<std::uint32_t>(name.size())).str(name).u16(static_cast<std::uint16_t>(infos.size()));
    for (auto i : infos) {
      d.u16(i);
    }
    return option(opt, d.b);
  }
  Wire& request(std::uint16_t flags, std::uint16_t type, std::uint64_t cookie, std::uint64_t offset,
                std::uint32_t length) {
    return u32(nbd::kRequestMagic).u16(flags).u16(type).u64(cookie).u64(offset).u32(length);
  }
};

inline std::vector<nbd::ExportInfo> exports() {
  nbd::ExportInfo ns1;
  ns1.name = "ns1";
  ns1.description = "nvme-mpath ns1";
  ns1.size = 1 << 20;
  ns1.can_flush = ns1.can_fua = ns1.can_trim = ns1.can_write_zeroes = ns1.can_multi_conn = true;
  ns1.min_block = 512;
  ns1.pref_block = 4096;
  ns1.max_block = 128 * 1024;
  nbd::ExportInfo ro;
  ro.name = "ro";
  ro.size = 64 * 1024;
  ro.read_only = true;
  ro.can_flush = ro.can_fua = ro.can_trim = true;  // write-side ones are not announced
  return {ns1, ro};
}

// Feeds everything in one call; fails the test on a protocol error.
struct SessionHarness {
  nbd::ServerSession s{exports()};
  ByteVec out;
  std::vector<nbd::Request> reqs;

  nvmemp::Result<void> feed(const ByteVec& in) { return s.feed(in, out, reqs); }
  void ok(const ByteVec& in) {
    auto r = feed(in);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
  }
  ByteVec take() {
    ByteVec o;
    o.swap(out);
    return o;
  }
  // Handshake with GO on ns1 (with or without block sizes), leaving the output empty.
  void go_ns1(bool block_sizes) {
    Wire w;
    if (s.consumed() == 0) {
      w.u32(3);  // client flags, unless already sent
    }
    w.go(nbd::kOptGo, "ns1", block_sizes ? std::vector<std::uint16_t>{nbd::kInfoBlockSize}
                                                 : std::vector<std::uint16_t>{});
    ok(w.b);
    REQUIRE(s.phase() == nbd::Phase::Transmission);
    out.clear();
  }
};

}  // namespace nvmemp::nbd::fixtures
