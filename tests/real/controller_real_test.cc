// Controller bring-up, keep-alive, AEN, reset/reconnect and shutdown against nvmet.
#include <catch2/catch.hpp>

#include "real/real_target.h"
#include "support/control_loop.h"
#include "support/sync_queue.h"
#include "support/tcp_client.h"

using namespace nvmemp;
using namespace nvmemp::controller;
using namespace std::chrono_literals;

namespace {

ControllerOptions options(const test::RealTarget& rt, std::uint16_t port, const std::string& nqn) {
  ControllerOptions o;
  o.endpoint = transport::TcpEndpoint{"127.0.0.1", port, "", ""};
  o.subnqn = nqn;
  o.host.hostnqn = test::kTestHostNqn;
  o.host.hostid = test::test_host_id();
  o.nr_io_queues = 2;
  o.reconnect_delay = 500ms;
  (void)rt;
  return o;
}

struct Outcome {
  bool done = false;
  std::string error;
};

Controller::DoneFn record(Outcome& o) {
  return [&o](const Result<void>& r) {
    o.done = true;
    if (!r) o.error = r.error().message;
  };
}

}  // namespace

TEST_CASE("Controller bring-up against nvmet on both ports", "[real][controller]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  const bool digests = GENERATE(false, true);
  for (const auto& [port, state] : {std::pair{rt.port1, wire::AnaState::Optimized},
                                    std::pair{rt.port2, wire::AnaState::NonOptimized}}) {
    test::ControlLoop loop;
    auto o = options(rt, port, rt.nqn);
    o.hdgst = o.ddgst = digests;
    Controller c(loop.reactor(), loop.clock, o);
    loop.add(c);
    Outcome out;
    c.connect(record(out));
    REQUIRE(loop.run_until([&] { return out.done; }, 20s));
    INFO(out.error);
    REQUIRE(out.error.empty());
    CHECK(c.state() == CtrlState::Live);
    const auto& info = c.info();
    CHECK(info.cntlid != 0);
    CHECK(info.id.subnqn == rt.nqn);
    CHECK(info.io_queues == 2);
    CHECK(info.max_icd == 16384);
    REQUIRE(info.ana.has_value());
    REQUIRE(info.ana->groups.size() == 2);
    for (const auto& g : info.ana->groups) CHECK(g.state == state);
    REQUIRE(info.namespaces.size() == 2);
    for (const auto& ns : info.namespaces) {
      CHECK(ns.id.nsze == 131072);
      REQUIRE(ns.ids.uuid.has_value());
      CHECK(wire::format_uuid(*ns.ids.uuid) == "9c0b5e2a-6f1d-4c3b-8a7e-00000000000" + std::to_string(ns.nsid));
    }
    CHECK(c.name().find("cntlid") != std::string::npos);
    Outcome down;
    c.shutdown(record(down));
    REQUIRE(loop.run_until([&] { return down.done; }, 10s));
    CHECK(c.state() == CtrlState::Dead);
  }
}

TEST_CASE("Discovery controller bring-up against nvmet", "[real][controller]") {
  const auto& rt = test::real_target();
  test::ControlLoop loop;
  auto o = options(rt, rt.port1, kDiscoveryNqn);
  o.kato = 0ms;
  Controller c(loop.reactor(), loop.clock, o);
  loop.add(c);
  Outcome out;
  c.connect(record(out));
  REQUIRE(loop.run_until([&] { return out.done; }, 20s));
  INFO(out.error);
  CHECK(out.error.empty());
  CHECK(c.state() == CtrlState::Live);
  CHECK(c.info().namespaces.empty());
}

TEST_CASE("A wrong NQN: one clear error naming address, NQN and status", "[real][controller]") {
  const auto& rt = test::real_target();
  test::ControlLoop loop;
  Controller c(loop.reactor(), loop.clock, options(rt, rt.port1, "nqn.2026-01.io.example:nope"));
  loop.add(c);
  Outcome out;
  c.connect(record(out));
  REQUIRE(loop.run_until([&] { return out.done; }, 20s));
  INFO(out.error);
  CHECK(out.error.find("nqn.2026-01.io.example:nope @ 127.0.0.1:" + std::to_string(rt.port1)) == 0);
  CHECK(out.error.find("Connect rejected") != std::string::npos);
}

TEST_CASE("Nothing listening: the connect error names the address, no hang", "[real][controller]") {
  test::ControlLoop loop;
  ControllerOptions o;
  const std::uint16_t port = test::closed_port();
  o.endpoint = transport::TcpEndpoint{"127.0.0.1", port, "", ""};
  o.subnqn = "nqn.2026-01.io.example:x";
  o.host.hostnqn = test::kTestHostNqn;
  Controller c(loop.reactor(), loop.clock, o);
  Outcome out;
  c.connect(record(out));
  CHECK(out.done);
  CHECK(out.error.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(out.error.find("refused") != std::string::npos);
}

TEST_CASE("Keep-alive keeps an idle controller alive, ANA change AEN re-reads the log", "[real][controller]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  test::ControlLoop loop;
  auto o = options(rt, rt.port1, rt.nqn);
  o.kato = 1000ms;  // nvmet drops a controller that stays silent for KATO
  Controller c(loop.reactor(), loop.clock, o);
  loop.add(c);
  int events = 0;
  wire::AsyncEvent last{};
  c.on_event([&](Controller&, const wire::AsyncEvent& ev) {
    ++events;
    last = ev;
  });
  Outcome out;
  c.connect(record(out));
  REQUIRE(loop.run_until([&] { return out.done; }, 20s));
  REQUIRE(out.error.empty());
  loop.run_for(3000ms);  // three KATOs with no traffic but our keep-alives
  CHECK(c.state() == CtrlState::Live);

  REQUIRE(test::real_target_ctl(rt, "ana 1 1 inaccessible").has_value());
  REQUIRE(loop.run_until([&] { return events > 0; }, 10s));
  CHECK(last.type == 2);
  CHECK(last.info == 0x03);
  CHECK(last.log_page == 0x0C);
  REQUIRE(c.info().ana.has_value());
  for (const auto& g : c.info().ana->groups) {
    CHECK(g.state == (g.anagrpid == 1 ? wire::AnaState::Inaccessible : wire::AnaState::Optimized));
  }
  // The AER is armed again: a second change is reported too.
  REQUIRE(test::real_target_ctl(rt, "ana 1 1 optimized").has_value());
  REQUIRE(loop.run_until([&] { return events > 1; }, 10s));
  CHECK(c.info().ana->groups[0].state == wire::AnaState::Optimized);
}

TEST_CASE("Port down resets the controller, it reconnects when the port returns", "[real][controller]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  test::ControlLoop loop;
  Controller c(loop.reactor(), loop.clock, options(rt, rt.port1, rt.nqn));
  loop.add(c);
  std::vector<CtrlState> states;
  c.on_state([&](Controller&, CtrlState s, const std::string&) { states.push_back(s); });
  Outcome out;
  c.connect(record(out));
  REQUIRE(loop.run_until([&] { return out.done; }, 20s));
  REQUIRE(c.state() == CtrlState::Live);
  REQUIRE(test::real_target_ctl(rt, "port-down 1").has_value());
  REQUIRE(loop.run_until([&] { return c.state() == CtrlState::Connecting; }, 10s));
  INFO(c.last_error());
  CHECK_FALSE(c.last_error().empty());
  loop.run_for(1500ms);  // reconnect attempts fail while the port is down
  CHECK(c.state() == CtrlState::Connecting);
  REQUIRE(test::real_target_ctl(rt, "port-up 1").has_value());
  REQUIRE(loop.run_until([&] { return c.state() == CtrlState::Live; }, 20s));
  CHECK(std::count(states.begin(), states.end(), CtrlState::Resetting) == 1);
  CHECK(c.info().namespaces.size() == 2);
}

TEST_CASE("Namespace changes: the AEN leads to the changed list and a new namespace set", "[real][controller]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  test::ControlLoop loop;
  Controller c(loop.reactor(), loop.clock, options(rt, rt.port1, rt.nqn));
  loop.add(c);
  int events = 0;
  c.on_event([&](Controller&, const wire::AsyncEvent& ev) {
    if (ev.info == 0x00 && ev.log_page == 0x04) ++events;
  });
  Outcome out;
  c.connect(record(out));
  REQUIRE(loop.run_until([&] { return out.done; }, 20s));
  REQUIRE(c.info().namespaces.size() == 2);
  REQUIRE(test::real_target_ctl(rt, "ns-down 2").has_value());
  REQUIRE(loop.run_until([&] { return events == 1; }, 10s));
  REQUIRE(c.info().namespaces.size() == 1);
  CHECK(c.info().namespaces[0].nsid == 1);
  // The event was unmasked by reading the log: the next change is reported too.
  REQUIRE(test::real_target_ctl(rt, "ns-up 2").has_value());
  REQUIRE(loop.run_until([&] { return events == 2; }, 10s));
  CHECK(c.info().namespaces.size() == 2);
  CHECK(c.state() == CtrlState::Live);
}
