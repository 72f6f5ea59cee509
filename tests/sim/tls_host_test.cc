// NVMe/TCP over TLS 1.3 between our host and the simulated target (issue 15): verify I/O over
// TLS paths, the handshake's failures as bounded connect errors, a plain path refused by a
// target that requires TLS, and failover between a TLS path and a plain one under verify I/O.
// Our client and our server agreeing proves the plumbing, not the protocol: the GnuTLS test
// (tls_gnutls_test.cc) and the OpenSSL relay in front of nvmet (tls_relay_test.cc, real) do that.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "bench.h"
#include "support/log_capture.h"
#include "support/polled_reader.h"
#include "sim_support.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

// The facts sheet's published configured PSK (libnvme's test/psk.c), and another valid key.
constexpr const char* kHostTlsKey = "NVMeTLSkey-1:01:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwNf9LrZ:";
constexpr const char* kHostTlsKey384 =
    "NVMeTLSkey-1:02:VRLbtnN9AQb2WXW3c9+wEf/DRLz0QuLdbYvEhwtdWwP/w0S89ELi3W2LxIcLXVsDn8kXZQ==:";
constexpr const char* kHostOtherKey = "NVMeTLSkey-1:01:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:";  // bytes 0..31 (Python's base64, zlib.crc32)

std::unique_ptr<sim::SimTarget> start_host_tls_sim(const char* key, bool required) {
  sim::SimConfig cfg = small_config();
  cfg.tls_key = key;
  cfg.tls_required = required;
  return start_sim(cfg);
}

FabricOptions host_tls_knobs(const char* key, TlsIdentity id = TlsIdentity::V1) {
  FabricOptions o = fast_options();
  auto k = parse_tls_key(key, "test TLS key");
  REQUIRE(k.has_value());
  o.tls = true;
  o.tls_key = *k;
  o.tls_identity = id;
  return o;
}

void wait_host_tls_reads(PolledReader& reader, std::uint64_t more) {
  const std::uint64_t before = reader.done();
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       reader.done() < before + more && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
  }
}

// A Fabric set up for TLS with `nports` of the target's ports connected, and an I/O context
// writing, reading back and comparing blocks of namespace 1 on its own thread, running.
struct TlsFabricUnderIo {
  std::unique_ptr<Fabric> fabric;
  std::unique_ptr<PolledReader> reader;
};
TlsFabricUnderIo tls_fabric_under_io(const sim::SimTarget& sim, std::size_t nports) {
  TlsFabricUnderIo out;
  auto f = Fabric::start(host_tls_knobs(kHostTlsKey));
  REQUIRE(f.has_value());
  out.fabric = std::move(*f);
  for (std::size_t i = 0; i < nports; ++i) {
    auto p = out.fabric->connect(Endpoint{"127.0.0.1", sim.ports()[i], "", ""}, sim.nqn());
    INFO((p ? std::string() : p.error().message));
    REQUIRE(p.has_value());
  }
  auto h = out.fabric->find_head(sim.nqn(), 1);
  REQUIRE(h.has_value());
  out.reader = std::make_unique<PolledReader>(*out.fabric, h->id, h->block_size, true);
  wait_host_tls_reads(*out.reader, 50);
  REQUIRE(out.reader->done() >= 50);
  return out;
}

}  // namespace

TEST_CASE("TLS host: verify I/O over two TLS paths, both suites and both identity versions", "[sim][tls]") {
  struct Case {
    const char* key;
    TlsIdentity id;
    const char* suite;
  };
  for (const Case& c : {Case{kHostTlsKey, TlsIdentity::V1, "TLS 1.3 TLS_AES_128_GCM_SHA256"},
                        Case{kHostTlsKey, TlsIdentity::V0, "TLS 1.3 TLS_AES_128_GCM_SHA256"},
                        Case{kHostTlsKey384, TlsIdentity::V1, "TLS 1.3 TLS_AES_256_GCM_SHA384"}}) {
    INFO(c.suite << " " << tls_identity_name(c.id));
    auto sim = start_host_tls_sim(c.key, true);
    tools::BenchOptions b;
    b.workload = tools::Workload::Verify;
    b.iodepth = 16;
    b.seconds = 1.0;
    b.seed = 7;
    auto r = tools::run_bench(host_tls_knobs(c.key, c.id), both_ports_target(*sim), b, {});
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
    CHECK(r->ios > 100);
    CHECK(r->errors == 0);
    CHECK(r->verify_failures == 0);
    REQUIRE(r->paths.size() == 2);
    for (const auto& p : r->paths) CHECK(p.tls == c.suite);
  }
}

TEST_CASE("TLS host: a wrong key, no TLS on the port, and plain TCP on a TLS-only port fail clearly and quickly",
          "[sim][tls]") {
  auto sim = start_host_tls_sim(kHostTlsKey, true);
  auto f = Fabric::start(fast_options());
  REQUIRE(f.has_value());
  const Endpoint ep{"127.0.0.1", sim->ports()[0], "", ""};
  struct Case {
    FabricOptions knobs;
    const char* says;
  };
  FabricOptions plain = fast_options();
  FabricOptions no_key = fast_options();
  no_key.tls = true;
  for (const Case& c : {Case{host_tls_knobs(kHostOtherKey), "knows no key for identity \"NVMe1R01 "},
                        Case{host_tls_knobs(kHostOtherKey, TlsIdentity::V0), "alert 47 (illegal parameter)"},
                        Case{plain, "closed by the controller"},
                        Case{no_key, "TLS is on but no TLS key is configured"}}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto p = (*f)->connect(ep, sim->nqn(), c.knobs);
    REQUIRE_FALSE(p.has_value());
    INFO(p.error().message);
    CHECK(p.error().message.find(c.says) != std::string::npos);
    CHECK(p.error().message.find("VRLbtnN9") == std::string::npos);
    CHECK(p.error().message.find("AAECAwQF") == std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  }
  // A port without TLS: the handshake meets a target that waits for an ICReq.
  auto plain_sim = start_sim();
  FabricOptions quick = host_tls_knobs(kHostTlsKey);
  const auto t0 = std::chrono::steady_clock::now();
  auto p = (*f)->connect(Endpoint{"127.0.0.1", plain_sim->ports()[0], "", ""}, plain_sim->nqn(), quick);
  REQUIRE_FALSE(p.has_value());
  INFO(p.error().message);
  CHECK(p.error().message.find("answered in plaintext: this port does not speak TLS") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 12s);
}

TEST_CASE("TLS host: failover between a TLS path and a plain path under verify I/O, 0 errors", "[sim][tls]") {
  auto sim = start_host_tls_sim(kHostTlsKey, false);  // TLS where the host starts it, plain otherwise
  auto f = Fabric::start(fast_options());
  REQUIRE(f.has_value());
  auto tls_path = (*f)->connect(Endpoint{"127.0.0.1", sim->ports()[0], "", ""}, sim->nqn(), host_tls_knobs(kHostTlsKey));
  INFO((tls_path ? std::string() : tls_path.error().message));
  REQUIRE(tls_path.has_value());
  CHECK(tls_path->tls == "TLS 1.3 TLS_AES_128_GCM_SHA256");
  auto plain_path = (*f)->connect(Endpoint{"127.0.0.1", sim->ports()[1], "", ""}, sim->nqn(), fast_options());
  REQUIRE(plain_path.has_value());
  CHECK(plain_path->tls == "none");
  REQUIRE((*f)->set_policy(sim->nqn(), IoPolicy::RoundRobin).has_value());
  auto h = (*f)->find_head(sim->nqn(), 1);
  REQUIRE(h.has_value());
  PolledReader reader(**f, h->id, h->block_size, true);
  wait_host_tls_reads(reader, 50);
  REQUIRE(reader.done() >= 50);
  for (const char* port : {"1", "2"}) {
    INFO("port " << port << " down and up");
    REQUIRE(sim->control(std::string("port-down ") + port).has_value());
    wait_host_tls_reads(reader, 200);
    REQUIRE(sim->control(std::string("port-up ") + port).has_value());
    std::this_thread::sleep_for(1500ms);  // reconnect_delay of fast_options
    wait_host_tls_reads(reader, 200);
  }
  CHECK(reader.failed() == 0);
  CHECK(reader.mismatches() == 0);
  const auto topo = (*f)->topology();
  for (const auto& p : topo.paths) {
    INFO(p.name << " " << p.state);
    CHECK(p.state == "live");
    CHECK(p.tls == (p.id == tls_path->id ? "TLS 1.3 TLS_AES_128_GCM_SHA256" : "none"));
  }
}

}  // namespace nvmemp::test

namespace nvmemp::test {

TEST_CASE("TLS host: a record that fails its authentication resets the queue, I/O goes on with 0 errors",
          "[sim][tls]") {
  auto sim = start_host_tls_sim(kHostTlsKey, true);
  TlsFabricUnderIo io = tls_fabric_under_io(*sim, 2);
  auto& f = io.fabric;
  auto& reader = *io.reader;
  LogCapture logs(false);
  REQUIRE(sim->control("corrupt-tls 1").has_value());
  wait_host_tls_reads(reader, 300);
  std::this_thread::sleep_for(1500ms);  // the reconnect (reconnect_delay 1 s in fast_options)
  wait_host_tls_reads(reader, 300);
  CHECK(reader.failed() == 0);
  CHECK(reader.mismatches() == 0);
  INFO(logs.text());
  CHECK(logs.text().find("TLS receive") != std::string::npos);
  const auto topo = f->topology();
  for (const auto& p : topo.paths) {
    CHECK(p.state == "live");
    CHECK(p.tls == "TLS 1.3 TLS_AES_128_GCM_SHA256");
  }
}

}  // namespace nvmemp::test

namespace nvmemp::test {

TEST_CASE("TLS host: a KeyUpdate from the target (update_requested) is taken and answered, I/O goes on with 0 errors",
          "[sim][tls]") {
  auto sim = start_host_tls_sim(kHostTlsKey, true);
  TlsFabricUnderIo io = tls_fabric_under_io(*sim, 1);
  auto& f = io.fabric;
  auto& reader = *io.reader;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(sim->control("tls-keyupdate 1").has_value());
    wait_host_tls_reads(reader, 200);  // the next responses come under the new keys, ours answer
  }
  CHECK(reader.failed() == 0);
  CHECK(reader.mismatches() == 0);
  const auto topo = f->topology();
  REQUIRE(topo.paths.size() == 1);
  CHECK(topo.paths[0].state == "live");
  CHECK(topo.paths[0].reconnects == 0);  // no connection was lost over it
}

}  // namespace nvmemp::test
