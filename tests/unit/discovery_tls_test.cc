// How a discovery log entry's port is connected (discovery/discovery.h tls_need, choose_tls;
// the public discovery_entry_tls): the table of TREQ x TSAS SECTYPE x "tls configured" x "a key
// configured", and what a refusal says.
#include <catch2/catch.hpp>

#include <string>

#include "discovery/discovery.h"
#include "nvmemp/mpath.h"
#include "support/dhchap_keygen.h"

namespace nvmemp::discovery {

TEST_CASE("discovery TLS: TREQ and SECTYPE say none, offered or required", "[unit][discovery][tls]") {
  struct Row {
    std::uint8_t treq;
    std::uint8_t sectype;
    TlsNeed need;
  };
  // TREQ bits 1:0: 00 not specified, 01 required, 10 not required, 11 reserved; bit 2 (SQ flow
  // control disable) must not matter. SECTYPE: 0 none, 1 TLS 1.2, 2 TLS 1.3, 3.. reserved.
  const Row rows[] = {
      {0x0, 0, TlsNeed::None},     {0x0, 1, TlsNeed::None},     {0x0, 2, TlsNeed::Offered},
      {0x0, 3, TlsNeed::None},     {0x1, 0, TlsNeed::Required}, {0x1, 1, TlsNeed::Required},
      {0x1, 2, TlsNeed::Required}, {0x2, 0, TlsNeed::None},     {0x2, 1, TlsNeed::None},
      {0x2, 2, TlsNeed::Offered},  {0x3, 0, TlsNeed::None},     {0x3, 2, TlsNeed::Offered},
  };
  for (const auto& r : rows) {
    for (const std::uint8_t flow : {std::uint8_t{0}, std::uint8_t{0x4}}) {
      INFO("treq " << int(r.treq | flow) << " sectype " << int(r.sectype));
      CHECK(tls_need(static_cast<std::uint8_t>(r.treq | flow), r.sectype) == r.need);
    }
  }
  // A log entry: SECTYPE counts for TCP only (TSAS means something else for RDMA).
  wire::DiscoveryLogEntry e;
  e.trtype = static_cast<std::uint8_t>(wire::Trtype::Tcp);
  e.treq = 0x2;
  e.sectype = 2;
  CHECK(tls_need(e) == TlsNeed::Offered);
  e.trtype = static_cast<std::uint8_t>(wire::Trtype::Rdma);
  CHECK(tls_need(e) == TlsNeed::None);
  CHECK(std::string(tls_need_name(TlsNeed::Required)) == "required");
  CHECK(std::string(tls_need_name(TlsNeed::Offered)) == "offered");
  CHECK(std::string(tls_need_name(TlsNeed::None)) == "none");
}

TEST_CASE("discovery TLS: the connect decision per need, tls setting and key", "[unit][discovery][tls]") {
  enum Out { Plain, Tls, Refused };
  struct Row {
    TlsNeed need;
    bool configured;
    bool key;
    Out out;
  };
  const Row rows[] = {
      // No key: plain where plain is allowed; a port that requires TLS is refused, and so is
      // tls = true (never plain).
      {TlsNeed::None, false, false, Plain},
      {TlsNeed::Offered, false, false, Plain},
      {TlsNeed::Required, false, false, Refused},
      {TlsNeed::None, true, false, Refused},
      {TlsNeed::Offered, true, false, Refused},
      {TlsNeed::Required, true, false, Refused},
      // A key: TLS wherever the port speaks it or the configuration asks.
      {TlsNeed::None, false, true, Plain},
      {TlsNeed::Offered, false, true, Tls},
      {TlsNeed::Required, false, true, Tls},
      {TlsNeed::None, true, true, Tls},
      {TlsNeed::Offered, true, true, Tls},
      {TlsNeed::Required, true, true, Tls},
  };
  for (const auto& r : rows) {
    INFO("need " << tls_need_name(r.need) << " tls " << r.configured << " key " << r.key);
    auto got = choose_tls(r.need, r.configured, r.key, "nqn.x @ 10.0.0.1:4420");
    if (r.out == Refused) {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error().code == Errc::InvalidArgument);
      CHECK(got.error().message.rfind("nqn.x @ 10.0.0.1:4420", 0) == 0);
    } else {
      REQUIRE(got.has_value());
      CHECK(*got == (r.out == Tls));
    }
  }
  auto required = choose_tls(TlsNeed::Required, false, false, "nqn.x @ 10.0.0.1:4420");
  REQUIRE_FALSE(required.has_value());
  CHECK(required.error().message.find("nqn.x @ 10.0.0.1:4420 requires TLS 1.3: set tls_key or tls_key_file") == 0);
}

}  // namespace nvmemp::discovery

namespace nvmemp {

TEST_CASE("discovery TLS: discovery_entry_tls on the public entry names subsystem and port, never the key",
          "[unit][discovery][tls]") {
  const auto key_text = test::make_test_tls_key(1);
  auto key = parse_tls_key(key_text.text, "test");
  REQUIRE(key.has_value());
  DiscoveryEntry e{"nvme", "tcp", "nqn.2026-01.io.example:sim", "127.0.0.1", 4420, 0x1 | 0x4, 2};
  FabricOptions none;
  auto refused = discovery_entry_tls(e, none);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message.find("nqn.2026-01.io.example:sim @ 127.0.0.1:4420 requires TLS 1.3: set tls_key") == 0);
  FabricOptions with_key;
  with_key.tls_key = *key;
  auto tls = discovery_entry_tls(e, with_key);
  REQUIRE(tls.has_value());
  CHECK(*tls);
  e.treq = 0x2;  // TLS 1.3 offered, not required: TLS with a key, plain without
  CHECK(discovery_entry_tls(e, with_key).value());
  CHECK_FALSE(discovery_entry_tls(e, none).value());
  e.sectype = 0;  // plain only: plain, unless the subsystem says tls
  CHECK_FALSE(discovery_entry_tls(e, with_key).value());
  with_key.tls = true;
  CHECK(discovery_entry_tls(e, with_key).value());
  none.tls = true;
  auto no_key = discovery_entry_tls(e, none);
  REQUIRE_FALSE(no_key.has_value());
  CHECK(no_key.error().message.find("tls is on but no TLS key is configured") != std::string::npos);
  CHECK(test::find_key_leak(refused.error().message + no_key.error().message, key_text).empty());
  // Another transport's SECTYPE means nothing: not TLS.
  e.trtype = "trtype 1";
  e.sectype = 2;
  CHECK_FALSE(discovery_entry_tls(e, FabricOptions{}).value());
}

}  // namespace nvmemp
