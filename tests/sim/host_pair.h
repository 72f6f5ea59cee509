// A library host on one ControlLoop for the sim tests that drive Controller and IoQueue
// directly: the controller options for a sim port, a live controller with one I/O queue, and a
// completion callback that collects what the queue completes.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/io_queue.h"
#include "sim_support.h"
#include "support/control_loop.h"

namespace nvmemp::test {

inline controller::ControllerOptions sim_host_options(std::uint16_t port, const std::string& nqn) {
  using namespace std::chrono_literals;
  controller::ControllerOptions o;
  o.endpoint = transport::TcpEndpoint{"127.0.0.1", port, "", ""};
  o.subnqn = nqn;
  o.host.hostnqn = kTestHostNqn;
  o.host.hostid = test_host_id();
  o.reconnect_delay = 200ms;
  return o;
}

// A completion callback for I/O queues: on_done appends to g_done, which each test clears
// before the command whose completion it waits for.
inline std::vector<transport::Completion> g_done;
inline void on_done(void*, const transport::Completion& c) { g_done.push_back(c); }

struct HostPair {
  std::unique_ptr<controller::Controller> ctrl;
  std::unique_ptr<controller::IoQueue> io;
};

// Connects a controller with `o` on `loop` and opens I/O queue 1, whose completions go to
// `on_complete`. REQUIREs both.
inline HostPair connect_host_pair(ControlLoop& loop, const controller::ControllerOptions& o,
                                  transport::CompletionFn on_complete) {
  using namespace std::chrono_literals;
  HostPair h;
  h.ctrl = std::make_unique<controller::Controller>(loop.reactor(), loop.clock, o);
  loop.add(*h.ctrl);
  std::optional<Result<void>> up;
  h.ctrl->connect([&](const Result<void>& r) { up = r; });
  REQUIRE(loop.run_until([&] { return up.has_value(); }, 10s));
  INFO((*up ? std::string() : up->error().message));
  REQUIRE(up->has_value());
  auto q = controller::IoQueue::open(loop.reactor(), loop.clock, o, h.ctrl->info(), 1, on_complete, nullptr);
  INFO((q ? std::string() : q.error().message));
  REQUIRE(q.has_value());
  h.io = std::move(*q);
  return h;
}

}  // namespace nvmemp::test
