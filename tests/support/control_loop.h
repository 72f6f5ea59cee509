// A control thread for tests: one reactor, controllers ticked every turn, bounded waits.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "controller/controller.h"
#include "transport/reactor.h"

namespace nvmemp::test {

class ControlLoop {
 public:
  ControlLoop() : reactor_(std::move(*transport::Reactor::create(clock))) {}

  transport::Reactor& reactor() { return *reactor_; }
  void add(controller::Controller& c) { ctrls_.push_back(&c); }

  // Turns the loop until `done()` or `timeout`; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      turn();
    }
    return done();
  }
  void run_for(std::chrono::milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) turn();
  }

  SteadyClock clock;

 private:
  void turn() {
    (void)reactor_->poll(std::chrono::milliseconds(10));
    for (auto* c : ctrls_) c->tick();
  }
  std::unique_ptr<transport::Reactor> reactor_;
  std::vector<controller::Controller*> ctrls_;
};

}  // namespace nvmemp::test
