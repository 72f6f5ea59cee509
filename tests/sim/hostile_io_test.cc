// The hostile-target suite, rows past bring-up: I/O queues (R2T outside the write, wrong
// digests, a Connect never completed, a byte-at-a-time sender), keep-alive never answered, an event storm, a
// discovery log that never settles, a retry delay of hours, and the admin timeout through
// the public FabricOptions. See hostile_test.cc.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "discovery/discovery.h"
#include "hostile_support.h"
#include "nvmemp/mpath.h"
#include "support/byte_diff.h"
#include "wire/sqe.h"

using namespace nvmemp;
using namespace std::chrono_literals;
using controller::CtrlState;
using test::contains_nocase;
using test::HostileRig;
using test::kHostileSlack;
using test::kHostileTimeout;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("hostile: R2T asking for more than the write has", "[sim][hostile]") {
  HostileRig rig;
  rig.connect_ok();
  auto io = rig.open_io();
  REQUIRE(io.has_value());
  rig.ctl("hostile 1 r2t-outside");
  const auto data = test::pattern(64 * 1024, 3);  // beyond the in-capsule size: sent by R2T
  auto w = wire::make_write(1, 0, 128, 64 * 1024, rig.ctrl->info().max_icd);
  REQUIRE(w.has_value());
  auto c = rig.exec(**io, *w, {}, data);
  REQUIRE(c.has_value());
  CHECK_FALSE(c->status.ok());
  const std::string why = (*io)->qp().failure();
  INFO(why);
  CHECK(contains_nocase(why, "R2T"));
  CHECK(contains_nocase(why, "R2TL 69632"));
}

TEST_CASE("hostile: a wrong header digest", "[sim][hostile]") {
  HostileRig rig;
  rig.opts.hdgst = rig.opts.ddgst = true;
  rig.ctl("corrupt-digest 1");  // the next PDU with a header digest: the Connect response
  const auto bad = rig.connect();
  INFO(bad.error);
  CHECK(contains_nocase(bad.error, "hdgst"));
  CHECK(contains_nocase(bad.error, "header digest does not match"));
  CHECK(bad.took < kHostileTimeout + kHostileSlack);
  const auto again = rig.connect();
  INFO(again.error);
  CHECK(again.error.empty());
}

TEST_CASE("hostile: a wrong data digest fails the read retryably, the queue lives", "[sim][hostile]") {
  HostileRig rig;
  rig.opts.ddgst = true;  // data digests only: the next PDU with a digest is read data
  rig.connect_ok();
  auto io = rig.open_io();
  REQUIRE(io.has_value());
  rig.ctl("corrupt-digest 1");
  std::vector<std::uint8_t> buf(4096);
  auto c = rig.exec(**io, *wire::make_read(1, 0, 8, 4096), buf, {});
  REQUIRE(c.has_value());
  CHECK(c->status.code() == 0x022);  // Transient Transport Error: no DNR, retry
  CHECK_FALSE(c->status.dnr());
  CHECK((*io)->qp().state() == transport::QpState::Live);
  auto again = rig.exec(**io, *wire::make_read(1, 0, 8, 4096), buf, {});
  REQUIRE(again.has_value());
  CHECK(again->status.ok());
}

TEST_CASE("hostile: I/O queue Connect never completed", "[sim][hostile]") {
  HostileRig rig;
  rig.connect_ok();
  rig.ctl("never-complete 1 io-connect");
  const auto t0 = std::chrono::steady_clock::now();
  auto io = rig.open_io();
  REQUIRE_FALSE(io.has_value());
  INFO(io.error().message);
  CHECK(contains_nocase(io.error().message, "Connect"));
  CHECK(contains_nocase(io.error().message, "qid 1"));
  CHECK(seconds_since(t0) < 2 * (kHostileTimeout + kHostileSlack).count() / 1000.0);
  rig.ctl("never-complete 1 off");
  auto again = rig.open_io();
  INFO((again ? std::string() : again.error().message));
  CHECK(again.has_value());
}

TEST_CASE("hostile: Keep Alive never completed: reset, then recovered", "[sim][hostile]") {
  HostileRig rig;
  rig.opts.kato = 1s;
  rig.connect_ok();
  std::string why;
  int resets = 0;
  bool live_again = false;
  rig.ctrl->on_state([&](controller::Controller&, CtrlState s, const std::string& w) {
    if (s == CtrlState::Resetting && resets++ == 0) why = w;
    if (s == CtrlState::Live && resets > 0) live_again = true;
  });
  rig.ctl("ka-ignore 1 on");
  const auto t0 = std::chrono::steady_clock::now();
  // Sent at KATO/2, given up after KATO (or the admin timeout, the same here).
  REQUIRE(rig.loop.run_until([&] { return resets > 0; }, 4s));
  INFO(why);
  CHECK(seconds_since(t0) < 0.5 + 1.0 + kHostileSlack.count() / 1000.0);
  CHECK((contains_nocase(why, "keep-alive") || contains_nocase(why, "Keep Alive")));
  rig.ctl("ka-ignore 1 off");
  CHECK(rig.loop.run_until([&] { return live_again; }, 3s));
}

TEST_CASE("hostile: byte-at-a-time sender still works", "[sim][hostile]") {
  HostileRig rig;
  rig.ctl("trickle 1 on");
  const auto t0 = std::chrono::steady_clock::now();
  rig.connect_ok();
  auto io = rig.open_io();
  REQUIRE(io.has_value());
  const auto data = test::pattern(16 * 1024, 5);
  auto w = wire::make_write(1, 8, 32, 16 * 1024, rig.ctrl->info().max_icd);
  REQUIRE(w.has_value());
  auto wc = rig.exec(**io, *w, {}, data);
  REQUIRE(wc.has_value());
  CHECK(wc->status.ok());
  std::vector<std::uint8_t> back(data.size());
  auto rc = rig.exec(**io, *wire::make_read(1, 8, 32, 16 * 1024), back, {});
  REQUIRE(rc.has_value());
  CHECK(rc->status.ok());
  CHECK(test::byte_diff(back, data) == "");
  CHECK(seconds_since(t0) < 10);
}

TEST_CASE("hostile: an event storm of 300 ANA change notices", "[sim][hostile]") {
  HostileRig rig;
  rig.connect_ok();
  int events = 0;
  rig.ctrl->on_event([&](controller::Controller&, const wire::AsyncEvent& ev) { events += ev.info == 0x03; });
  const auto t0 = std::chrono::steady_clock::now();
  rig.ctl("aen-storm 1 300");
  // Each notice costs one ANA log read; the host keeps one AER out, so the storm is paced by it.
  REQUIRE(rig.loop.run_until([&] { return events == 300; }, 15s));
  CHECK(seconds_since(t0) < 15);
  rig.loop.run_for(200ms);
  CHECK(events == 300);  // no more than the target sent
  CHECK(rig.ctrl->state() == CtrlState::Live);
  auto io = rig.open_io();
  REQUIRE(io.has_value());
  std::vector<std::uint8_t> buf(512);
  auto c = rig.exec(**io, *wire::make_read(1, 0, 1, 512), buf, {});
  REQUIRE(c.has_value());
  CHECK(c->status.ok());
}

namespace {

// Reads the discovery log of port 1 after `fault`: the error (REQUIREd) within `bound`.
std::string discovery_error(const std::string& fault, double bound_s) {
  auto sim = test::start_sim();
  REQUIRE(sim->control(fault).has_value());
  test::ControlLoop loop;
  discovery::DiscoveryOptions o;
  o.controller.endpoint = transport::TcpEndpoint{"127.0.0.1", sim->ports()[0], "", ""};
  o.controller.host.hostnqn = test::kTestHostNqn;
  o.controller.host.hostid = test::test_host_id();
  o.controller.admin_timeout = kHostileTimeout;
  o.controller.connect_timeout = kHostileTimeout;
  o.controller.kato = 0s;
  discovery::Discovery d(loop.reactor(), loop.clock, o);
  std::optional<Result<discovery::DiscoveryResult>> out;
  const auto t0 = std::chrono::steady_clock::now();
  d.start([&](Result<discovery::DiscoveryResult> r) { out = std::move(r); });
  const bool ended = loop.run_until([&] {
    d.tick();
    return out.has_value();
  }, 10s);
  REQUIRE(ended);
  REQUIRE_FALSE(out->has_value());
  CHECK(seconds_since(t0) < bound_s);
  return out->error().message;
}

}  // namespace

TEST_CASE("hostile: a discovery log whose GENCTR changes on every read", "[sim][hostile]") {
  const auto why = discovery_error("genctr-churn 1 on", 5);
  INFO(why);
  CHECK(contains_nocase(why, "GENCTR kept changing"));
}

TEST_CASE("hostile: a discovery log with NUMREC 2^40", "[sim][hostile]") {
  const auto why = discovery_error("hostile 1 disc-numrec", 3);
  INFO(why);
  CHECK(contains_nocase(why, "NUMREC 1099511627776"));
}

TEST_CASE("hostile: a discovery log with RECFMT 1", "[sim][hostile]") {
  const auto why = discovery_error("hostile 1 disc-recfmt", 3);
  INFO(why);
  CHECK(contains_nocase(why, "RECFMT 1"));
}

// ---- through the public API: FabricOptions::admin_timeout bounds every admin command ----

namespace {

FabricOptions hostile_fabric_options() {
  FabricOptions f;
  f.hostnqn = test::kTestHostNqn;
  f.keep_alive_tmo = 2s;
  f.reconnect_delay = 1s;
  f.ctrl_loss_tmo = 30s;
  f.admin_timeout = kHostileTimeout;
  return f;
}

}  // namespace

TEST_CASE("hostile: Fabric::connect with Identify never completed fails within admin_timeout", "[sim][hostile]") {
  auto sim = test::start_sim();
  REQUIRE(sim->control("never-complete 1 id-ctrl").has_value());
  auto f = Fabric::start(hostile_fabric_options());
  REQUIRE(f.has_value());
  const auto t0 = std::chrono::steady_clock::now();
  auto p = (*f)->connect(Endpoint{"127.0.0.1", sim->ports()[0], "", ""}, sim->nqn());
  REQUIRE_FALSE(p.has_value());
  INFO(p.error().message);
  CHECK(contains_nocase(p.error().message, "Identify Controller"));
  CHECK(contains_nocase(p.error().message, "timed out after 1000 ms"));
  CHECK(seconds_since(t0) < (kHostileTimeout + kHostileSlack).count() / 1000.0);
}

TEST_CASE("hostile: CRD with a retry delay of hours is bounded", "[sim][hostile]") {
  auto sim = test::start_sim();
  REQUIRE(sim->control("crdt 1 65535").has_value());  // CRDT1..3 = 6553.5 s in Identify
  auto f = Fabric::start(hostile_fabric_options());
  REQUIRE(f.has_value());
  REQUIRE((*f)->connect(Endpoint{"127.0.0.1", sim->ports()[0], "", ""}, sim->nqn()).has_value());
  auto h = (*f)->find_head(sim->nqn(), 1);
  REQUIRE(h.has_value());
  auto io = (*f)->create_io_context();
  REQUIRE(io.has_value());
  const auto ready_by = std::chrono::steady_clock::now() + 5s;
  while (!(*io)->ready(h->id) && std::chrono::steady_clock::now() < ready_by) (void)(*io)->poll(5ms);
  REQUIRE((*io)->ready(h->id));
  // The next read fails with Internal Error, CRD 1: "retry after CRDT1", i.e. 1.8 hours.
  REQUIRE(sim->control("fail-next 1 0x02 0 0x06 crd1").has_value());
  std::vector<std::uint8_t> buf(h->block_size);
  struct Out {
    bool done = false;
    Status st;
  } out;
  auto cb = [](void* arg, const IoResult& r) {
    auto* o = static_cast<Out*>(arg);
    o->done = true;
    o->st = r.status;
  };
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE((*io)->read(h->id, 0, 1, buf, cb, &out).has_value());
  const auto deadline = t0 + 10s;
  while (!out.done && std::chrono::steady_clock::now() < deadline) (void)(*io)->poll(5ms);
  REQUIRE(out.done);  // retried after a bounded delay, not after hours
  CHECK(out.st.ok());
  CHECK(seconds_since(t0) < 8);
  io->reset();
}
