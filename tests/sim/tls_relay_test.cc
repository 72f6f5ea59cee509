// NVMe/TCP over TLS through a TLS server that is not ours: nvme-mpath-tls-relay (tools/tls-relay,
// OpenSSL's server side with SSL_CTX_set_psk_find_session_callback, no code of the initiator's)
// in front of both ports of the plain simulated target. The relay is given the facts sheet's v1
// identity and TLS PSK (SHA-256) and, for the 48-byte key, libnvme's identity with the TLS PSK the
// independent Python script computed (tests/vectors/tls_psk_vectors.py); our Fabric derives its
// own from the NVMeTLSkey-1 strings. This proves the transport (handshake, records both ways,
// close_notify, reconnects) against an independent server; the target behind it never sees TLS.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "bench.h"
#include "sim_support.h"
#include "support/polled_reader.h"
#include "support/relay_bench.h"
#include "support/tls_discovery.h"
#include "tls_relay_support.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<sim::SimTarget> start_psk_test_sim() {
  sim::SimConfig cfg = small_config();
  cfg.nqn = kPskTestSubNqn;  // the NQN the published identities name
  return start_sim(cfg);
}

FabricOptions tls_options(const char* configured_key) {
  FabricOptions o = fast_options();
  o.hostnqn = kPskTestHostNqn;
  return with_tls_key(o, configured_key);
}

}  // namespace

TEST_CASE("TLS relay: two TLS paths through an OpenSSL server (facts-sheet SHA-256 PSK) carry verify I/O "
          "across a port down/up and an ANA change with 0 errors",
          "[tls][relay]") {
  auto sim = start_psk_test_sim();
  RunningRelay relay = start_relay(sim->ports());
  REQUIRE(relay.ports().size() == 2);

  tools::BenchOptions b;
  b.workload = tools::Workload::Verify;
  b.iodepth = 8;
  b.seconds = 9.0;
  b.seed = 15;
  // The port-down takes port 1's connections (through the relay); port 2 carries the I/O.
  auto r = bench_with_control(
      [&] { return tools::run_bench(tls_options(kFactsKeySha256), loopback_paths(kPskTestSubNqn, relay.ports()), b, {}); },
      {{1500ms, "port-down 1"}, {2500ms, "port-up 1"}, {1500ms, "ana 1 1 inaccessible"}, {1500ms, "ana 1 1 optimized"}},
      [&](const char* cmd) { return sim->control(cmd); });
  REQUIRE(r.has_value());
  check_relay_failover_bench(*r, "TLS_AES_128_GCM_SHA256", "TLS relay (SHA-256) in front of the simulated target");
  CHECK(r->ios > 200);

  // The bench's Fabric closed each path's admin and I/O queue with close_notify.
  CHECK(relay.process->wait_for_lines("ended: client sent close_notify", 4, 5s));
  stop_relay_cleanly(relay);
  const std::string log = relay.process->output();
  print_relay_lines(log, 6);
  INFO(log);
  const auto ours = lines_with(log, fmt::format("identity \"{}\"", kFactsIdentitySha256));
  // Each path's admin and I/O queue, and the port 1 connections after the port came back.
  CHECK(ours.size() >= 6);
  CHECK(lines_with(log, "TLS_AES_128_GCM_SHA256").size() == lines_with(log, "TLSv1.3").size());
  CHECK(lines_with(log, "(unknown)").empty());
  // The port-down: the target closed its connections (we passed on close_notify); while it was
  // down the relay took the handshake and could not reach the target.
  CHECK_FALSE(lines_with(log, "backend closed").empty());
  CHECK_FALSE(lines_with(log, fmt::format("backend 127.0.0.1:{}: connect:", sim->ports()[0])).empty());
  // The Fabric's orderly close at the end: our close_notify, passed on as EOF to the target.
  CHECK_FALSE(lines_with(log, "client sent close_notify").empty());
}

TEST_CASE("TLS relay: libnvme's 48-byte key negotiates TLS_AES_256_GCM_SHA384 on both paths (PathInfo), and "
          "verify I/O reads back what it wrote",
          "[tls][relay]") {
  auto sim = start_psk_test_sim();
  RunningRelay relay = start_relay(sim->ports());
  auto f = Fabric::start(tls_options(kLibnvmeKeySha384));
  REQUIRE(f.has_value());
  for (const auto port : relay.ports()) {
    auto p = (*f)->connect(Endpoint{"127.0.0.1", port, "", ""}, kPskTestSubNqn);
    INFO((p ? std::string() : p.error().message));
    REQUIRE(p.has_value());
    CHECK(p->tls == "TLS 1.3 TLS_AES_256_GCM_SHA384");
    CHECK(p->tls_identity == kLibnvmeIdentitySha384);
  }
  auto head = (*f)->find_head(kPskTestSubNqn, 1);
  REQUIRE(head.has_value());
  CHECK(head->paths.size() == 2);
  {
    PolledReader verify(**f, head->id, head->block_size, true);
    for (const auto until = std::chrono::steady_clock::now() + 10s;
         verify.done() < 400 && std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(20ms);
    }
    CHECK(verify.done() >= 400);
    CHECK(verify.failed() == 0);
    CHECK(verify.mismatches() == 0);
  }
  for (const auto& p : (*f)->topology().paths) {
    CHECK(p.tls == "TLS 1.3 TLS_AES_256_GCM_SHA384");
    CHECK(p.state == "live");
  }
  f->reset();  // disconnects: close_notify on every queue
  CHECK(relay.process->wait_for_lines("ended: client sent close_notify", 4, 5s));
  stop_relay_cleanly(relay);
  const std::string log = relay.process->output();
  print_relay_lines(log, 4);
  INFO(log);
  const auto ours = lines_with(log, fmt::format("identity \"{}\"", kLibnvmeIdentitySha384));
  CHECK(ours.size() >= 4);  // admin and I/O queue of each path
  for (const auto& line : ours) {
    CHECK(line.find("TLSv1.3 TLS_AES_256_GCM_SHA384") != std::string::npos);
    CHECK(line.find("ended: client sent close_notify, backend closed") != std::string::npos);
  }
}

TEST_CASE("TLS relay: discovery over TLS through the relay (the discovery subsystem's identity) reads the log, "
          "which names the target's plain ports",
          "[tls][relay][discovery]") {
  auto sim = start_psk_test_sim();
  RunningRelay relay = start_relay(sim->ports());
  auto res = discover_over_tls(relay.ports()[0], kPskTestHostNqn, kFactsKeySha256);
  INFO((res ? std::string() : res.error().message));
  REQUIRE(res.has_value());
  CHECK(res->errors.empty());
  unsigned subsystems = 0;
  for (const auto& rec : res->records) {
    if (!rec.entry.is_nvm_subsystem()) continue;
    ++subsystems;
    CHECK(rec.entry.subnqn == kPskTestSubNqn);
    // The target knows nothing of the relay: its log lists its own port.
    CHECK(rec.entry.trsvcid == std::to_string(sim->ports()[0]));
  }
  CHECK(subsystems == 1);
  CHECK(relay.process->wait_for_lines("ended: client sent close_notify", 1, 5s));
  stop_relay_cleanly(relay);
  const std::string log = relay.process->output();
  print_relay_lines(log, 2);
  INFO(log);
  const auto lines = lines_with(log, "identity \"NVMe1R01 nqn.psk-test-host nqn.2014-08.org.nvmexpress.discovery ");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find("TLSv1.3 TLS_AES_128_GCM_SHA256") != std::string::npos);
  CHECK(lines_with(log, "(unknown)").empty());
}

}  // namespace nvmemp::test
