// A path left down for 2 minutes with reconnect_delay 1 logs a handful of lines, not one or
// two per attempt (issue 12, item 4): the controller on a clock the test moves a second at a
// time, against the simulated target whose port goes down and comes back; and a configured
// path of nvme-mpathd that never came up.
#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/log.h"
#include "controller/controller.h"
#include "daemon_support.h"
#include "sim_support.h"
#include "support/jump_clock.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

// Warnings and errors, and Info lines that say a path is back: what an administrator reads.
struct Lines {
  std::mutex mu;
  std::vector<std::string> v;
  Lines() {
    set_log_sink([this](LogLevel lvl, std::string_view l) {
      std::lock_guard<std::mutex> g(mu);
      if (lvl <= LogLevel::Warn || l.find("back after") != std::string_view::npos) v.emplace_back(l);
    });
  }
  ~Lines() { set_log_sink(nullptr); }
  std::vector<std::string> about(const std::string& needle) {
    std::lock_guard<std::mutex> g(mu);
    std::vector<std::string> out;
    for (const auto& l : v) {
      if (l.find(needle) != std::string::npos) out.push_back(l);
    }
    return out;
  }
};

}  // namespace

TEST_CASE("reconnect log: a path down for 2 minutes with reconnect_delay 1 logs 3 to 5 lines", "[retry_log]") {
  auto sim = start_sim();
  JumpClock clock;
  auto reactor = std::move(*transport::Reactor::create(clock));
  controller::ControllerOptions o;
  o.endpoint = transport::TcpEndpoint{"127.0.0.1", sim->ports()[0], "", ""};
  o.subnqn = sim->nqn();
  o.host.hostnqn = kTestHostNqn;
  o.host.hostid = test_host_id();
  o.reconnect_delay = 1s;
  o.ctrl_loss_tmo = 600s;
  controller::Controller ctrl(*reactor, clock, o);
  auto turn = [&] {
    (void)reactor->poll(2ms);
    ctrl.tick();
  };
  auto turn_until = [&](const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < until) turn();
    return done();
  };
  std::optional<Result<void>> up;
  ctrl.connect([&](const Result<void>& r) { up = r; });
  REQUIRE(turn_until([&] { return up.has_value(); }));
  REQUIRE(up->has_value());

  Lines lines;
  const std::string where = fmt::format("127.0.0.1:{}", sim->ports()[0]);
  REQUIRE(sim->control(fmt::format("port-down {}", sim->ports()[0])).has_value());
  REQUIRE(turn_until([&] { return ctrl.state() == controller::CtrlState::Connecting; }));
  for (int s = 0; s < 120; ++s) {  // 2 minutes, an attempt a second, each refused at once
    clock.jump(1s);
    for (int i = 0; i < 3; ++i) turn();
  }
  CHECK(ctrl.state() == controller::CtrlState::Connecting);
  REQUIRE(sim->control(fmt::format("port-up {}", sim->ports()[0])).has_value());
  clock.jump(1s);
  REQUIRE(turn_until([&] { return ctrl.state() == controller::CtrlState::Live; }));

  const auto about = lines.about(where);
  std::string all;
  for (const auto& l : about) all += l + "\n";
  INFO(all);
  CHECK(about.size() >= 3);
  CHECK(about.size() <= 5);
  CHECK_THAT(all, Catch::Contains("resetting"));
  CHECK_THAT(all, Catch::Contains("Connection refused; retrying every 1 s until"));
  CHECK_THAT(all, Catch::Contains(", then giving up"));
  CHECK_THAT(all, Catch::Contains("still failing after 6"));  // the reminder after a minute
  CHECK_THAT(all, Catch::Contains("live (back after 12"));    // ~121 s, ~121 failed attempts
  ctrl.shutdown([](const Result<void>&) {});
  turn_until([&] { return ctrl.state() == controller::CtrlState::Dead; });
}

TEST_CASE("reconnect log: nvme-mpathd's configured path that is down says so once, with no limit", "[retry_log]") {
  // A port nothing listens on: a started-and-stopped target's.
  std::uint16_t dead_port = 0;
  std::string nqn;
  {
    auto sim = start_sim();
    dead_port = sim->ports()[0];
    nqn = sim->nqn();
  }
  Lines lines;
  const std::string dir = test_dir("retry-log");
  auto d = start_daemon_with(dir, fmt::format("[host]\nhostnqn = \"{}\"\n[defaults]\nreconnect_delay = 1\n[daemon]\n"
                                              "control_socket = \"{}/c.sock\"\n[[subsystem]]\nnqn = \"{}\"\n"
                                              "[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n",
                                              kTestHostNqn, dir, nqn, dead_port));
  const auto until = std::chrono::steady_clock::now() + 4500ms;  // 4 or 5 attempts
  while (std::chrono::steady_clock::now() < until) {
    d->tick();
    std::this_thread::sleep_for(50ms);
  }
  const auto about = lines.about(fmt::format("127.0.0.1:{}", dead_port));
  std::string all;
  for (const auto& l : about) all += l + "\n";
  INFO(all);
  REQUIRE(about.size() == 1);
  CHECK_THAT(about[0], Catch::Contains("Connection refused") && Catch::Contains("retrying every 1 s (no limit)"));
}

}  // namespace nvmemp::test
