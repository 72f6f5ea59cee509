// What the multipath engine needs from the controller and transport layers, against the
// simulated target: IoQueue::begin (non-blocking set-up on an I/O thread) and close(),
// abandoned reads, Controller::probe / refresh_ana / ANATT / generation / last_alive /
// io_fail_fast, Identify CQT.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <optional>

#include "controller/io_queue.h"
#include "host_pair.h"
#include "sim_support.h"
#include "support/jump_clock.h"
#include "wire/libnvme_types.h"

using namespace nvmemp;
using namespace nvmemp::controller;
using namespace std::chrono_literals;

namespace {

using test::JumpClock;

// The control thread of a test: a reactor on a JumpClock, controllers ticked each turn.
struct Loop {
  JumpClock clock;
  std::unique_ptr<transport::Reactor> reactor = std::move(*transport::Reactor::create(clock));
  std::vector<Controller*> ctrls;

  void turn() {
    (void)reactor->poll(5ms);
    for (auto* c : ctrls) c->tick();
  }
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done() && std::chrono::steady_clock::now() < deadline) turn();
    return done();
  }
  void run_for(std::chrono::milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) turn();
  }
};

using test::g_done;
using test::on_done;

ControllerOptions host_options(std::uint16_t port, const std::string& nqn) { return test::sim_host_options(port, nqn); }

std::unique_ptr<Controller> connect_ctrl(Loop& loop, const ControllerOptions& o) {
  auto c = std::make_unique<Controller>(*loop.reactor, loop.clock, o);
  loop.ctrls.push_back(c.get());
  std::optional<Result<void>> up;
  c->connect([&](const Result<void>& r) { up = r; });
  REQUIRE(loop.run_until([&] { return up.has_value(); }, 10s));
  INFO((*up ? std::string() : up->error().message));
  REQUIRE(up->has_value());
  return c;
}

// Begins an I/O queue on a socket connected beforehand, as the control thread would hand it
// to an I/O thread. `ready` is set by on_ready.
std::unique_ptr<IoQueue> begin_queue(Loop& loop, const ControllerOptions& o, const Controller& c,
                                     std::optional<Result<void>>& ready, Nanos* took = nullptr) {
  auto fd = transport::tcp_connect(o.endpoint, o.connect_timeout);
  INFO((fd ? std::string() : fd.error().message));
  REQUIRE(fd.has_value());
  const auto t0 = std::chrono::steady_clock::now();
  auto q = IoQueue::begin(*loop.reactor, loop.clock, o, c.info().cntlid, c.info().max_icd, c.info().max_data_len, 1,
                          transport::Connection(*fd), &on_done, nullptr, [&ready](const Result<void>& r) { ready = r; });
  if (took != nullptr) *took = std::chrono::steady_clock::now() - t0;
  INFO((q ? std::string() : q.error().message));
  REQUIRE(q.has_value());
  return std::move(*q);
}

transport::Completion exec(Loop& loop, IoQueue& q, const wire::Sqe& sqe, MutBytes r, Bytes w) {
  g_done.clear();
  auto cid = q.qp().submit(transport::Command{sqe, r, w, nullptr});
  INFO((cid ? std::string() : cid.error().message));
  REQUIRE(cid.has_value());
  REQUIRE(loop.run_until([&] { return !g_done.empty(); }, 10s));
  return g_done[0];
}

std::optional<wire::AnaState> group_state(const Controller& c, std::uint32_t grpid) {
  if (!c.info().ana) return std::nullopt;
  for (const auto& g : c.info().ana->groups) {
    if (g.anagrpid == grpid) return g.state;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("IoQueue::begin connects without blocking and carries I/O", "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  auto o = host_options(sim->ports()[0], sim->nqn());
  o.nr_io_queues = 2;
  auto ctrl = connect_ctrl(loop, o);
  std::optional<Result<void>> ready;
  Nanos took{};
  auto q = begin_queue(loop, o, *ctrl, ready, &took);
  CHECK(took < 250ms);  // no waiting: a blocking set-up would take connect_timeout
  CHECK_FALSE(ready.has_value());  // only from a later poll
  CHECK_FALSE(q->live());
  REQUIRE(loop.run_until([&] { return ready.has_value(); }, 5s));
  INFO((*ready ? std::string() : ready->error().message));
  REQUIRE(ready->has_value());
  CHECK(q->live());
  CHECK(q->last_progress() != TimePoint{});

  const auto data = test::pattern(65536, 5);
  auto w = wire::make_write(1, 64, 128, 65536, ctrl->info().max_icd);
  REQUIRE(w.has_value());
  CHECK(exec(loop, *q, *w, {}, data).status.ok());
  std::vector<std::uint8_t> back(65536);
  const TimePoint before = loop.clock.now();
  const auto c = exec(loop, *q, *wire::make_read(1, 64, 128, 65536), back, {});
  CHECK(c.status.ok());
  CHECK_FALSE(c.abandoned);
  CHECK(back == data);
  CHECK(q->last_progress() >= before);

  // A second queue with the blocking open(), built on begin().
  auto q2 = IoQueue::open(*loop.reactor, loop.clock, o, ctrl->info(), 2, &on_done, nullptr);
  INFO((q2 ? std::string() : q2.error().message));
  REQUIRE(q2.has_value());
  CHECK((*q2)->live());
  std::vector<std::uint8_t> back2(65536);
  CHECK(exec(loop, **q2, *wire::make_read(1, 64, 128, 65536), back2, {}).status.ok());
  CHECK(back2 == data);

  // A Connect the controller refuses (qid beyond the queues granted): on_ready says why, once
  // the socket is closed, and the IoQueue may go from inside on_ready.
  auto fd = transport::tcp_connect(o.endpoint, o.connect_timeout);
  REQUIRE(fd.has_value());
  std::unique_ptr<IoQueue> q3;
  std::optional<Result<void>> refused;
  auto b = IoQueue::begin(*loop.reactor, loop.clock, o, ctrl->info().cntlid, ctrl->info().max_icd,
                          ctrl->info().max_data_len, 9, transport::Connection(*fd), &on_done, nullptr, [&](const Result<void>& r) {
                            refused = r;
                            q3.reset();
                          });
  REQUIRE(b.has_value());
  q3 = std::move(*b);
  REQUIRE(loop.run_until([&] { return refused.has_value(); }, 5s));
  REQUIRE_FALSE(refused->has_value());
  CHECK(refused->error().code == Errc::Refused);  // with DNR: asking again is pointless
  CHECK(refused->error().message.find("Connect rejected") != std::string::npos);
  CHECK(q3 == nullptr);
  CHECK(q->live());  // the others are untouched
}

TEST_CASE("IoQueue::begin on a blackholed port fails within connect_timeout without blocking", "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  auto o = host_options(sim->ports()[0], sim->nqn());
  auto ctrl = connect_ctrl(loop, o);
  REQUIRE(sim->blackhole(1, true).has_value());
  o.connect_timeout = 500ms;
  std::optional<Result<void>> ready;
  Nanos took{};
  const auto t0 = std::chrono::steady_clock::now();
  auto q = begin_queue(loop, o, *ctrl, ready, &took);
  CHECK(took < 250ms);  // no waiting: a blocking set-up would take connect_timeout
  REQUIRE(loop.run_until([&] { return ready.has_value(); }, 5s));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed >= 450ms);
  CHECK(elapsed < 1500ms);
  REQUIRE_FALSE(ready->has_value());
  CHECK(ready->error().code == Errc::Timeout);
  CHECK(ready->error().message.find("no ICResp within 500 ms") != std::string::npos);
  CHECK(q->closed());
  CHECK_FALSE(q->live());
  q.reset();  // closed already: nothing to drain

  // The blocking open() fails the same way.
  const auto t1 = std::chrono::steady_clock::now();
  auto q2 = IoQueue::open(*loop.reactor, loop.clock, o, ctrl->info(), 2, &on_done, nullptr);
  REQUIRE_FALSE(q2.has_value());
  CHECK(q2.error().code == Errc::Timeout);
  CHECK(std::chrono::steady_clock::now() - t1 < 1500ms);
}

TEST_CASE("IoQueue::close completes the commands in flight from a later poll", "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  const auto o = host_options(sim->ports()[0], sim->nqn());
  auto ctrl = connect_ctrl(loop, o);
  std::optional<Result<void>> ready;
  auto q = begin_queue(loop, o, *ctrl, ready);
  REQUIRE(loop.run_until([&] { return ready.has_value(); }, 5s));
  REQUIRE(ready->has_value());
  REQUIRE(sim->blackhole(1, true).has_value());
  g_done.clear();
  std::vector<std::uint8_t> buf(4096);
  REQUIRE(q->qp().submit(transport::Command{*wire::make_read(1, 0, 8, 4096), buf, {}, nullptr}).has_value());
  loop.run_for(50ms);  // the command is sent, nothing comes back
  REQUIRE(g_done.empty());
  q->close("test: path declared dead");
  q->close("a second reason is ignored");
  CHECK(g_done.empty());  // not from inside close()
  REQUIRE(loop.run_until([&] { return !g_done.empty() && q->closed(); }, 5s));
  REQUIRE(g_done.size() == 1);
  CHECK(g_done[0].status.raw() == 0x371);  // sent: may have reached the controller
  CHECK(g_done[0].reached_controller);
  CHECK(q->close_reason() == "test: path declared dead");
  CHECK_FALSE(q->live());
}

TEST_CASE("Abandoned read on a live queue: the late data never reaches the old buffer", "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  const auto o = host_options(sim->ports()[0], sim->nqn());
  auto ctrl = connect_ctrl(loop, o);
  std::optional<Result<void>> ready;
  auto q = begin_queue(loop, o, *ctrl, ready);
  REQUIRE(loop.run_until([&] { return ready.has_value(); }, 5s));
  REQUIRE(ready->has_value());
  const auto data = test::pattern(8192, 21);
  CHECK(exec(loop, *q, *wire::make_write(1, 0, 16, 8192, ctrl->info().max_icd), {}, data).status.ok());

  REQUIRE(sim->set_latency(1, 200).has_value());
  g_done.clear();
  std::vector<std::uint8_t> buf(8192, 0xAB);
  auto cid = q->qp().submit(transport::Command{*wire::make_read(1, 0, 16, 8192), buf, {}, nullptr});
  REQUIRE(cid.has_value());
  loop.run_for(20ms);
  REQUIRE(g_done.empty());
  REQUIRE(q->qp().abandon_read(*cid).has_value());
  std::fill(buf.begin(), buf.end(), 0xCD);  // the buffer is the application's again
  REQUIRE(loop.run_until([&] { return !g_done.empty(); }, 5s));
  CHECK(g_done[0].status.ok());
  CHECK(g_done[0].abandoned);
  CHECK(std::all_of(buf.begin(), buf.end(), [](std::uint8_t b) { return b == 0xCD; }));
  // The queue goes on.
  REQUIRE(sim->set_latency(1, 0).has_value());
  std::vector<std::uint8_t> back(8192);
  const auto c = exec(loop, *q, *wire::make_read(1, 0, 16, 8192), back, {});
  CHECK(c.status.ok());
  CHECK_FALSE(c.abandoned);
  CHECK(back == data);
}

TEST_CASE("Controller::probe: true on a live controller, false within the timeout when blackholed",
          "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  const auto o = host_options(sim->ports()[0], sim->nqn());

  // Not live: false at once.
  Controller idle(*loop.reactor, loop.clock, o);
  std::optional<bool> at_once;
  idle.probe(1s, [&](bool alive) { at_once = alive; });
  REQUIRE(at_once.has_value());
  CHECK_FALSE(*at_once);

  auto ctrl = connect_ctrl(loop, o);
  loop.run_for(20ms);
  const TimePoint before = loop.clock.now();
  std::optional<bool> alive;
  ctrl->probe(2s, [&](bool a) { alive = a; });
  REQUIRE(loop.run_until([&] { return alive.has_value(); }, 3s));
  CHECK(*alive);
  CHECK(ctrl->last_alive() >= before);

  // Two probes share one Keep Alive.
  std::optional<bool> p1, p2;
  ctrl->probe(2s, [&](bool a) { p1 = a; });
  ctrl->probe(2s, [&](bool a) { p2 = a; });
  REQUIRE(loop.run_until([&] { return p1.has_value() && p2.has_value(); }, 3s));
  CHECK((*p1 && *p2));

  REQUIRE(sim->blackhole(1, true).has_value());
  const TimePoint alive_at = ctrl->last_alive();
  alive.reset();
  const auto t0 = std::chrono::steady_clock::now();
  ctrl->probe(300ms, [&](bool a) { alive = a; });
  REQUIRE(loop.run_until([&] { return alive.has_value(); }, 3s));
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK_FALSE(*alive);
  CHECK(elapsed >= 290ms);
  CHECK(elapsed < 1s);
  CHECK(ctrl->state() == CtrlState::Live);  // the caller decides about the reset
  CHECK(ctrl->last_alive() == alive_at);

  // The caller resets: an outstanding probe fails with the association.
  std::optional<bool> during;
  ctrl->probe(10s, [&](bool a) { during = a; });
  ctrl->reset("test: probe failed");
  REQUIRE(during.has_value());
  CHECK_FALSE(*during);
}

TEST_CASE("Controller::refresh_ana re-reads the ANA log, coalesced, and reports through on_ana", "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  const auto o = host_options(sim->ports()[0], sim->nqn());
  auto ctrl = connect_ctrl(loop, o);
  int anas = 0;
  int events = 0;
  ctrl->on_ana([&](Controller&) { ++anas; });
  ctrl->on_event([&](Controller&, const wire::AsyncEvent&) { ++events; });
  REQUIRE(group_state(*ctrl, 1) == wire::AnaState::Optimized);

  ctrl->refresh_ana();
  REQUIRE(loop.run_until([&] { return anas == 1; }, 5s));
  CHECK(events == 0);
  // Three calls while the first read is out: that read plus one more after it.
  ctrl->refresh_ana();
  ctrl->refresh_ana();
  ctrl->refresh_ana();
  REQUIRE(loop.run_until([&] { return anas == 3; }, 5s));
  loop.run_for(200ms);
  CHECK(anas == 3);

  // The state changed under the host (an I/O saw an ANA status): the refresh picks it up.
  // The target's AEN may pick it up as well; either way info() and on_ana follow.
  REQUIRE(sim->control("ana 1 1 inaccessible").has_value());
  ctrl->refresh_ana();
  REQUIRE(loop.run_until([&] { return group_state(*ctrl, 1) == wire::AnaState::Inaccessible; }, 5s));
  CHECK(anas >= 4);
  CHECK(group_state(*ctrl, 2) == wire::AnaState::Optimized);
  CHECK(ctrl->state() == CtrlState::Live);

  // Not live: nothing happens.
  ctrl->reset("test");
  const int before = anas;
  ctrl->refresh_ana();
  CHECK(anas == before);
}

TEST_CASE("ANATT: a group left in change resets the controller after 2 x ANATT", "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  auto o = host_options(sim->ports()[0], sim->nqn());
  o.kato = 0ms;  // the clock jumps by seconds: keep-alive would take the jump for silence
  auto ctrl = connect_ctrl(loop, o);
  CHECK(ctrl->generation() == 1);
  CHECK_FALSE(ctrl->anatt_deadline().has_value());
  // The sim reports ANATT 10 s and has no setting for it: the clock jumps instead.
  REQUIRE(ctrl->info().id.anatt == 10);

  REQUIRE(sim->control("ana 1 1 change").has_value());
  REQUIRE(loop.run_until([&] { return ctrl->anatt_deadline().has_value(); }, 5s));
  const Nanos left = *ctrl->anatt_deadline() - loop.clock.now();
  CHECK(left > 19s);
  CHECK(left <= 20s);
  // The transition ends in time: the timer stops.
  REQUIRE(sim->control("ana 1 1 non-optimized").has_value());
  REQUIRE(loop.run_until([&] { return !ctrl->anatt_deadline().has_value(); }, 5s));
  loop.clock.jump(25s);
  loop.run_for(50ms);
  CHECK(ctrl->state() == CtrlState::Live);

  // It does not end: reset when the time is up, not before.
  REQUIRE(sim->control("ana 1 1 change").has_value());
  REQUIRE(loop.run_until([&] { return ctrl->anatt_deadline().has_value(); }, 5s));
  ctrl->refresh_ana();  // a read that still shows the change does not push the timer back
  const TimePoint deadline = *ctrl->anatt_deadline();
  REQUIRE(loop.run_until([&] { return group_state(*ctrl, 1) == wire::AnaState::Change; }, 5s));
  loop.run_for(100ms);
  CHECK(*ctrl->anatt_deadline() == deadline);
  loop.clock.jump(19s);
  loop.run_for(50ms);
  REQUIRE(ctrl->state() == CtrlState::Live);
  loop.clock.jump(2s);
  REQUIRE(loop.run_until([&] { return ctrl->state() != CtrlState::Live; }, 2s));
  CHECK(ctrl->last_error().find("ANA transition time of 20 s") != std::string::npos);
  // Reconnected: a new association, whose first ANA read starts the timer again.
  REQUIRE(loop.run_until([&] { return ctrl->state() == CtrlState::Live; }, 5s));
  CHECK(ctrl->generation() == 2);
  CHECK(ctrl->anatt_deadline().has_value());
}

TEST_CASE("Controller: generation counts associations, last_alive follows the admin queue", "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  const auto o = host_options(sim->ports()[0], sim->nqn());
  // The kernel's defaults.
  CHECK(o.kato == 5000ms);
  CHECK(o.reconnect_delay == 200ms);  // set by host_options; the default is below
  CHECK(ControllerOptions{}.reconnect_delay == 10000ms);
  CHECK(ControllerOptions{}.ctrl_loss_tmo == 600s);
  CHECK_FALSE(ControllerOptions{}.fast_io_fail_tmo.has_value());

  Controller fresh(*loop.reactor, loop.clock, o);
  CHECK(fresh.generation() == 0);
  CHECK(fresh.last_alive() == TimePoint{});

  const TimePoint t0 = loop.clock.now();
  auto ctrl = connect_ctrl(loop, o);
  CHECK(ctrl->generation() == 1);
  CHECK(ctrl->last_alive() >= t0);
  CHECK(ctrl->cqt() == Nanos(0));  // the sim does not report CQT

  ctrl->reset("test: reset");
  CHECK(ctrl->generation() == 1);
  const TimePoint lost = ctrl->last_alive();
  CHECK(lost >= t0);
  REQUIRE(loop.run_until([&] { return ctrl->state() == CtrlState::Live; }, 5s));
  CHECK(ctrl->generation() == 2);
  CHECK(ctrl->last_alive() >= lost);
}

TEST_CASE("fast_io_fail_tmo: io_fail_fast once the connection is lost that long, cleared when live",
          "[sim][mpath]") {
  auto sim = test::start_sim();
  Loop loop;
  auto o = host_options(sim->ports()[0], sim->nqn());
  o.kato = 0ms;  // the clock jumps
  o.fast_io_fail_tmo = 5s;
  auto ctrl = connect_ctrl(loop, o);
  CHECK_FALSE(ctrl->io_fail_fast());
  REQUIRE(sim->control("port-down 1").has_value());
  REQUIRE(loop.run_until([&] { return ctrl->state() != CtrlState::Live; }, 5s));
  CHECK_FALSE(ctrl->io_fail_fast());
  loop.clock.jump(4s);
  loop.run_for(20ms);
  CHECK_FALSE(ctrl->io_fail_fast());
  loop.clock.jump(1s);
  CHECK(ctrl->io_fail_fast());
  REQUIRE(sim->control("port-up 1").has_value());
  REQUIRE(loop.run_until([&] { return ctrl->state() == CtrlState::Live; }, 5s));
  CHECK_FALSE(ctrl->io_fail_fast());

  // Unset: never.
  auto o2 = host_options(sim->ports()[1], sim->nqn());
  o2.kato = 0ms;
  auto ctrl2 = connect_ctrl(loop, o2);
  REQUIRE(sim->control("port-down 2").has_value());
  REQUIRE(loop.run_until([&] { return ctrl2->state() != CtrlState::Live; }, 5s));
  loop.clock.jump(std::chrono::hours(1));
  CHECK_FALSE(ctrl2->io_fail_fast());
}

TEST_CASE("Identify Controller CQT: bytes 386..387, milliseconds", "[sim][mpath]") {
  std::vector<std::uint8_t> id(wire::kIdentifyDataSize, 0);
  id[386] = 0x34;
  id[387] = 0x12;
  auto c = wire::parse_identify_controller(id);
  REQUIRE(c.has_value());
  CHECK(c->cqt_ms == 0x1234);
  CHECK(c->anatt == 0);  // neighbours untouched
  id[386] = id[387] = 0;
  CHECK(wire::parse_identify_controller(id)->cqt_ms == 0);
}
