// TlsSession: our client and our server (OpenSSL on both sides) in memory. This proves the
// adapter (memory BIOs, the PSK callbacks, chunking, the alerts' messages), not interoperability:
// tests/sim/tls_gnutls_test.cc does that against GnuTLS.
#include "tls/tls_session.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace nvmemp;
using namespace nvmemp::tls;

namespace {

// Collects plaintext in chunks of at most `chunk` bytes (so records are read piecewise).
struct PlainCollector final : transport::RxSink {
  std::vector<std::uint8_t> got;
  std::vector<std::uint8_t> buf;
  explicit PlainCollector(std::size_t chunk) : buf(chunk) {}
  std::size_t rx_iov(std::span<iovec> out) override {
    out[0] = iovec{buf.data(), buf.size()};
    return 1;
  }
  bool rx_iov_borrowed() const noexcept override { return false; }
  Result<void> received_into(std::size_t n) override {
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    return {};
  }
};

ConfiguredPsk make_configured(PskHash hh, std::uint8_t fill) {
  ConfiguredPsk p;
  p.transform = hh;
  p.key = auth::SecretBuf(std::vector<std::uint8_t>(hh == PskHash::Sha384 ? 48 : 32, fill));
  return p;
}

constexpr const char* kTlsHost = "nqn.2014-08.org.nvmexpress:uuid:host";
constexpr const char* kTlsSub = "nqn.2024-01.io.test:sub";

// A server that knows `psk` for kTlsHost/kTlsSub under both identity versions.
ServerKeyFn server_keys(PskHash hh, std::uint8_t fill) {
  return [hh, fill](std::string_view identity) -> std::optional<ServerKey> {
    for (IdentityVersion v : {IdentityVersion::V0, IdentityVersion::V1}) {
      auto t = make_tls_psk(make_configured(hh, fill), kTlsHost, kTlsSub, v, HkdfEncoding::Rfc8446);
      if (t && t->identity == identity) return ServerKey{std::move(t->key), t->hash};
    }
    return std::nullopt;
  };
}

// Moves bytes both ways in chunks of `chunk` until both handshakes end; the first error.
Result<void> pump(TlsSession& c, TlsSession& s, std::size_t chunk) {
  std::vector<std::uint8_t> buf;
  for (int i = 0; i < 100; ++i) {
    auto rc = c.handshake();
    buf.clear();
    c.take_output(buf);
    for (std::size_t o = 0; o < buf.size(); o += chunk) s.feed(Bytes(buf.data() + o, std::min(chunk, buf.size() - o)));
    auto rs = s.handshake();
    buf.clear();
    s.take_output(buf);
    for (std::size_t o = 0; o < buf.size(); o += chunk) c.feed(Bytes(buf.data() + o, std::min(chunk, buf.size() - o)));
    if (!rc) return tl::unexpected(rc.error());
    if (!rs) {
      // The client learns why from the alert the server just sent.
      if (auto again = c.handshake(); !again) return tl::unexpected(again.error());
      return tl::unexpected(rs.error());
    }
    if (*rc && *rs) return {};
  }
  return make_error(Errc::Timeout, "handshake did not end");
}

}  // namespace

TEST_CASE("TLS session: client and server agree on both suites and identity versions, data both ways in any chunking",
          "[tls]") {
  for (PskHash hh : {PskHash::Sha256, PskHash::Sha384}) {
    for (IdentityVersion v : {IdentityVersion::V0, IdentityVersion::V1}) {
      for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{65536}}) {
        auto psk = make_tls_psk(make_configured(hh, 0x42), kTlsHost, kTlsSub, v, HkdfEncoding::Rfc8446);
        REQUIRE(psk);
        const std::string identity = psk->identity;
        auto c = TlsSession::client(std::move(*psk), "test client");
        auto s = TlsSession::server(server_keys(hh, 0x42), "test server");
        REQUIRE(c);
        REQUIRE(s);
        REQUIRE(pump(**c, **s, chunk));
        CHECK((*s)->peer_identity() == identity);
        CHECK((*c)->describe() ==
              (hh == PskHash::Sha256 ? "TLS 1.3 TLS_AES_128_GCM_SHA256" : "TLS 1.3 TLS_AES_256_GCM_SHA384"));
        std::vector<std::uint8_t> data(40000);
        for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
        REQUIRE((*c)->write(data));
        std::vector<std::uint8_t> wire;
        (*c)->take_output(wire);
        PlainCollector col(chunk == 1 ? 13 : 4096);
        bool drained = true;
        for (std::size_t o = 0; o < wire.size(); o += chunk) {
          (*s)->feed(Bytes(wire.data() + o, std::min(chunk, wire.size() - o)));
          drained = drained && (*s)->drain_into(col).has_value();
        }
        CHECK(drained);
        CHECK(col.got == data);
        // close_notify ends the receiving side with a message that says so.
        (*s)->close_notify();
        wire.clear();
        (*s)->take_output(wire);
        (*c)->feed(wire);
        PlainCollector back(100);
        auto r = (*c)->drain_into(back);
        REQUIRE_FALSE(r);
        CHECK(r.error().message.find("closed the TLS session (close_notify)") != std::string::npos);
      }
    }
  }
}

TEST_CASE("TLS session: a wrong key and an unknown identity fail with the alert and what it means, never the key",
          "[tls]") {
  SECTION("wrong key") {
    // v0: the identity does not depend on the key (a v1 identity's digest does: a wrong key
    // there is an unknown identity, the next section).
    auto psk = make_tls_psk(make_configured(PskHash::Sha256, 0x11), kTlsHost, kTlsSub, IdentityVersion::V0,
                            HkdfEncoding::Rfc8446);
    REQUIRE(psk);
    auto c = TlsSession::client(std::move(*psk), "nqn.x @ 127.0.0.1:4420");
    auto s = TlsSession::server(server_keys(PskHash::Sha256, 0x22), "sim");
    auto r = pump(**c, **s, 65536);
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK(r.error().message.find("nqn.x @ 127.0.0.1:4420: TLS handshake: the controller sent TLS alert") == 0);
    CHECK(r.error().message.find("does not accept our PSK") != std::string::npos);
  }
  SECTION("unknown identity") {
    auto psk = make_tls_psk(make_configured(PskHash::Sha256, 0x11), kTlsHost, "nqn.other", IdentityVersion::V1,
                            HkdfEncoding::Rfc8446);
    REQUIRE(psk);
    auto c = TlsSession::client(std::move(*psk), "nqn.other @ 127.0.0.1:4420");
    auto s = TlsSession::server(server_keys(PskHash::Sha256, 0x11), "sim");
    auto r = pump(**c, **s, 65536);
    REQUIRE_FALSE(r);
    INFO(r.error().message);
    CHECK(r.error().message.find("alert 40 (handshake failure)") != std::string::npos);
    CHECK(r.error().message.find("knows no key for identity \"NVMe1R01 ") != std::string::npos);
  }
}
