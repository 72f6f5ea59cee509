// NVMe/TCP over TLS against the real target through nvme-mpath-tls-relay (tools/tls-relay:
// OpenSSL's server side, none of our TLS code): nvmet on Debian's 6.1 kernel has no TLS, so the
// relay terminates TLS in front of its two ports and passes plain NVMe/TCP on. Discovery, both
// paths, verify I/O, an ANA change and a port down/up all go through TLS; what nvmet does is
// real, what the relay proves is our transport against an independent server. nvmet's discovery
// log still lists its plain ports (it knows nothing of the relay).
//
// The relay's PSK file is computed by tests/vectors/tls_psk_vectors.py (Python, from the facts
// sheet's formulas, self-checked against the published vectors) for the fixture's host NQN and
// nvmet's subsystem and discovery NQNs; our Fabric derives its own from the NVMeTLSkey-1 string.
// python3 missing: the test fails under CI=true and is skipped otherwise.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "bench.h"
#include "real/real_target.h"
#include "support/relay_bench.h"
#include "support/shell.h"
#include "support/sync_queue.h"
#include "support/tls_discovery.h"
#include "support/tls_relay_process.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

// The configured keys (the facts sheet's and libnvme's published ones: any key does, both ends
// are given the same).
constexpr const char* kRealTlsKeySha256 = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
constexpr const char* kRealTlsKeySha384 =
    "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:";
constexpr const char* kNvmetDiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";

bool ci_run() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::strcmp(ci, "true") == 0;
}

struct RealRelay {
  std::unique_ptr<PrivateDir> dir;
  std::unique_ptr<TlsRelayProcess> process;
};

// The relay in front of nvmet's two ports, with the PSK file the Python script wrote for
// `configured_key`; nullopt-like (process null) when python3 is missing outside CI.
RealRelay start_real_relay(const char* configured_key) {
  const auto& rt = real_target();
  RealRelay r;
  r.dir = std::make_unique<PrivateDir>("nvme-mpath-tls-relay-real");
  const std::string key_file = r.dir->write_file("configured.key", std::string(configured_key) + "\n");
  const std::string psk_file = r.dir->path() + "/relay.psk";
  if (shell("command -v python3", 10).status != 0) {
    if (ci_run()) FAIL("python3 is needed to compute the relay's keys (tests/vectors/tls_psk_vectors.py)");
    WARN("skipped: python3 is not installed (it computes the relay's keys)");
    return r;
  }
  const auto made = shell(fmt::format("python3 {}/tls_psk_vectors.py --psk-file {} --key-file {} --hostnqn '{}' "
                                      "--subnqn '{}' --with-discovery",
                                      NVMEMP_VECTORS_DIR, psk_file, key_file, kTestHostNqn, rt.nqn),
                          60);
  INFO(made.out);
  REQUIRE(made.status == 0);
  auto p = TlsRelayProcess::start(TLS_RELAY_BIN, {rt.port1, rt.port2}, psk_file, r.dir->path());
  INFO((p ? std::string() : p.error().message));
  REQUIRE(p.has_value());
  r.process = std::move(*p);
  return r;
}

FabricOptions real_tls_options(const char* configured_key) {
  FabricOptions o;
  o.hostnqn = kTestHostNqn;
  o.reconnect_delay = 1s;
  o.ctrl_loss_tmo = 60s;
  return with_tls_key(o, configured_key);
}

// Stops the relay once `closed` connections closed by our close_notify are logged (the
// discovery controller's, each path's admin and I/O queue at the Fabric's end), and returns its log.
std::string stop_and_log(RealRelay& relay, std::size_t closed) {
  CHECK(relay.process->wait_for_lines("ended: client sent close_notify", closed, 5s));
  auto rc = relay.process->stop();
  INFO((rc ? std::string() : rc.error().message) << "\nrelay stderr: " << relay.process->errors());
  REQUIRE(rc.has_value());
  CHECK(*rc == 0);
  const std::string log = relay.process->output();
  const auto lines = lines_with(log, "conn ");
  for (std::size_t i = 0; i < lines.size() && i < 6; ++i) std::printf("  relay: %s\n", lines[i].c_str());
  std::printf("  relay: %zu connection lines in all\n", lines.size());
  return log;
}

}  // namespace

TEST_CASE("TLS relay on nvmet: discovery, two TLS paths, verify I/O across an ANA change and a port down/up, "
          "0 errors",
          "[real][tls][relay]") {
  const auto& rt = real_target();
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  RealRelay relay = start_real_relay(kRealTlsKeySha256);
  if (!relay.process) return;
  REQUIRE(relay.process->ports().size() == 2);

  // Discovery through the relay in front of port 1: the discovery subsystem's identity.
  auto disc = discover_over_tls(relay.process->ports()[0], kTestHostNqn, kRealTlsKeySha256);
  INFO((disc ? std::string() : disc.error().message));
  REQUIRE(disc.has_value());
  unsigned subsystems = 0;
  for (const auto& rec : disc->records) {
    if (!rec.entry.is_nvm_subsystem()) continue;
    ++subsystems;
    CHECK(rec.entry.subnqn == rt.nqn);
    CHECK(rec.entry.trsvcid == std::to_string(rt.port1));  // nvmet's own (plain) port
  }
  CHECK(subsystems == 1);

  // Both paths through the relay; nsid 1 is optimized on port 1, non-optimized on port 2.
  tools::BenchOptions b;
  b.workload = tools::Workload::Verify;
  b.iodepth = 8;
  b.seconds = 24.0;
  b.seed = 21;
  auto r = bench_with_control(
      [&] { return tools::run_bench(real_tls_options(kRealTlsKeySha256), loopback_paths(rt.nqn, relay.process->ports()), b, {}); },
      {{4s, "ana 1 1 inaccessible"}, {4s, "ana 1 1 optimized"}, {3s, "port-down 1"}, {5s, "port-up 1"}},
      [&](const char* cmd) { return real_target_ctl(rt, cmd); });
  REQUIRE(r.has_value());
  check_relay_failover_bench(*r, "TLS_AES_128_GCM_SHA256", "TLS relay in front of nvmet");

  const std::string log = stop_and_log(relay, 5);
  INFO(log);
  CHECK(lines_with(log, fmt::format("identity \"NVMe1R01 {} {} ", kTestHostNqn, kNvmetDiscoveryNqn)).size() == 1);
  CHECK(lines_with(log, fmt::format("identity \"NVMe1R01 {} {} ", kTestHostNqn, rt.nqn)).size() >= 4);
  CHECK(lines_with(log, "(unknown)").empty());
  CHECK(lines_with(log, "TLSv1.3 TLS_AES_128_GCM_SHA256").size() == lines_with(log, "TLSv1.3").size());
  REQUIRE(real_target_ctl(rt, "reset").has_value());
}

TEST_CASE("TLS relay on nvmet: the SHA-384 key negotiates TLS_AES_256_GCM_SHA384 on both paths, verify I/O intact",
          "[real][tls][relay]") {
  const auto& rt = real_target();
  REQUIRE(real_target_ctl(rt, "reset").has_value());
  RealRelay relay = start_real_relay(kRealTlsKeySha384);
  if (!relay.process) return;
  tools::BenchOptions b;
  b.workload = tools::Workload::Verify;
  b.iodepth = 8;
  b.seconds = 4.0;
  b.seed = 22;
  auto r = tools::run_bench(real_tls_options(kRealTlsKeySha384), loopback_paths(rt.nqn, relay.process->ports()), b, {});
  REQUIRE(r.has_value());
  INFO("first error: " << r->first_error);
  CHECK(r->errors == 0);
  CHECK(r->verify_failures == 0);
  CHECK(r->ios > 0);
  REQUIRE(r->paths.size() == 2);
  for (const auto& p : r->paths) CHECK(p.tls == "TLS 1.3 TLS_AES_256_GCM_SHA384");
  const std::string log = stop_and_log(relay, 4);
  INFO(log);
  CHECK(lines_with(log, fmt::format("identity \"NVMe1R02 {} {} ", kTestHostNqn, rt.nqn)).size() >= 4);
  CHECK(lines_with(log, "TLSv1.3 TLS_AES_256_GCM_SHA384").size() == lines_with(log, "TLSv1.3").size());
}

}  // namespace nvmemp::test
