#include "hostile_support.h"

#include <algorithm>
#include <cctype>

#include <catch2/catch.hpp>

namespace nvmemp::test {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

bool contains_nocase(std::string_view hay, std::string_view needle) {
  const auto eq = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  };
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), eq) != hay.end();
}

HostileRig::HostileRig(sim::SimConfig cfg) : sim(start_sim(cfg)) {
  opts.endpoint = transport::TcpEndpoint{"127.0.0.1", sim->ports()[0], "", ""};
  opts.subnqn = sim->nqn();
  opts.host.hostnqn = kTestHostNqn;
  opts.host.hostid = test_host_id();
  opts.admin_timeout = kHostileTimeout;
  opts.connect_timeout = kHostileTimeout;
  opts.kato = 2s;
  opts.reconnect_delay = 200ms;
  opts.ctrl_loss_tmo = 30s;
}

HostileRig::~HostileRig() {
  // The controller's queues go before the target, so nothing waits on a dead peer.
  ctrl.reset();
}

void HostileRig::ctl(const std::string& line) {
  auto r = sim->control(line);
  INFO(line << ": " << (r ? std::string() : r.error().message));
  REQUIRE(r.has_value());
}

HostileRig::Outcome HostileRig::connect() {
  if (!ctrl) {  // made at the first connect, so a row may change opts before
    ctrl = std::make_unique<controller::Controller>(loop.reactor(), loop.clock, opts);
    loop.add(*ctrl);
  }
  std::optional<Result<void>> up;
  const auto t0 = std::chrono::steady_clock::now();
  ctrl->connect([&](const Result<void>& r) { up = r; });
  // Bring-up has about ten steps, each bounded by the admin timeout.
  const bool ended = loop.run_until([&] { return up.has_value(); }, 12 * kHostileTimeout);
  Outcome o;
  o.took = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0);
  if (!ended) {
    o.error = "bring-up did not end within 12 admin timeouts";
  } else if (!*up) {
    o.error = up->error().message;
  }
  return o;
}

void HostileRig::connect_ok() {
  const Outcome o = connect();
  INFO(o.error);
  REQUIRE(o.error.empty());
}

namespace {
void collect(void* ctx, const transport::Completion& c) { static_cast<HostileRig*>(ctx)->done.push_back(c); }
}  // namespace

Result<std::unique_ptr<controller::IoQueue>> HostileRig::open_io() {
  return controller::IoQueue::open(loop.reactor(), loop.clock, opts, ctrl->info(), 1, &collect, this);
}

std::optional<transport::Completion> HostileRig::exec(controller::IoQueue& q, const wire::Sqe& sqe, MutBytes read,
                                                      Bytes write, std::chrono::milliseconds bound) {
  done.clear();
  auto cid = q.qp().submit(transport::Command{sqe, read, write, nullptr});
  INFO((cid ? std::string() : cid.error().message));
  REQUIRE(cid.has_value());
  if (!loop.run_until([&] { return !done.empty(); }, bound)) {
    return std::nullopt;
  }
  return done.front();
}

void expect_bring_up_error(const std::string& fault, std::initializer_list<std::string_view> needles,
                           const std::string& undo) {
  HostileRig rig;
  rig.ctl(fault);
  const auto bad = rig.connect();
  INFO("bring-up error: " << bad.error);
  REQUIRE_FALSE(bad.error.empty());
  for (const auto n : needles) {
    INFO("wanted in the error: " << n);
    CHECK(contains_nocase(bad.error, n));
  }
  CHECK(bad.took < kHostileTimeout + kHostileSlack);
  if (!undo.empty()) {
    rig.ctl(undo);
  }
  // The misbehaviour is over (one-shot, or undone): the next attempt comes up.
  const auto again = rig.connect();
  INFO("after the fault: " << again.error);
  CHECK(again.error.empty());
  CHECK(again.took < 3s);
}

}  // namespace nvmemp::test
