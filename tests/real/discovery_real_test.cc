// Discovery against nvmet: log 0x70 of port 1, its referral to port 2 followed.
#include <catch2/catch.hpp>

#include <set>

#include "discovery/discovery.h"
#include "real/real_target.h"
#include "support/control_loop.h"
#include "support/sync_queue.h"
#include "support/tcp_client.h"

using namespace nvmemp;
using namespace nvmemp::discovery;
using namespace std::chrono_literals;

TEST_CASE("Discovery follows the referral and finds the subsystem on both ports", "[real][discovery]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  test::ControlLoop loop;
  DiscoveryOptions o;
  o.controller.endpoint = transport::TcpEndpoint{"127.0.0.1", rt.port1, "", ""};
  o.controller.host.hostnqn = test::kTestHostNqn;
  o.controller.host.hostid = test::test_host_id();
  o.controller.kato = 0ms;
  Discovery d(loop.reactor(), loop.clock, o);
  std::optional<Result<DiscoveryResult>> got;
  d.start([&](Result<DiscoveryResult> r) { got = std::move(r); });
  REQUIRE(loop.run_until(
      [&] {
        d.tick();
        return got.has_value();
      },
      30s));
  REQUIRE(got->has_value());
  const auto& res = **got;
  CHECK(res.errors.empty());
  CHECK(res.records.size() == 6);  // 3 entries per port, two ports
  std::set<std::string> subsystem_ports;
  std::set<std::string> sources;
  for (const auto& r : res.records) {
    sources.insert(r.source);
    if (r.entry.is_nvm_subsystem()) {
      CHECK(r.entry.subnqn == rt.nqn);
      subsystem_ports.insert(r.entry.trsvcid);
    }
  }
  CHECK(subsystem_ports == std::set<std::string>{std::to_string(rt.port1), std::to_string(rt.port2)});
  CHECK(sources.size() == 2);
  // The discovery controllers are shut down in the background.
  loop.run_until(
      [&] {
        d.tick();
        return false;
      },
      300ms);
}

TEST_CASE("Discovery of an address with no target: one clear error", "[real][discovery]") {
  test::ControlLoop loop;
  DiscoveryOptions o;
  const std::uint16_t port = test::closed_port();
  o.controller.endpoint = transport::TcpEndpoint{"127.0.0.1", port, "", ""};
  o.controller.host.hostnqn = test::kTestHostNqn;
  Discovery d(loop.reactor(), loop.clock, o);
  std::optional<Result<DiscoveryResult>> got;
  d.start([&](Result<DiscoveryResult> r) { got = std::move(r); });
  REQUIRE(got.has_value());
  REQUIRE_FALSE(got->has_value());
  CHECK(got->error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
}
