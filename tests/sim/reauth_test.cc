// Re-authentication on request (Controller::reauthenticate, IoQueue::reauthenticate) against the
// simulated target's controller side: a renewed exchange on the live admin queue and I/O queue
// while I/O goes on; a refusal, as a Failure1 (refuse-reauth) or as SPDK's Command Sequence
// Error (refuse-reauth-cse), leaves both queues as they were; a queue that never authenticated
// has nothing to renew. Fabric::reset: a controller reset on request reconnects at once and
// authenticates every queue anew.
#include <catch2/catch.hpp>

#include "auth/dhchap_keys.h"
#include "auth_support.h"
#include "controller/io_queue.h"
#include "host_pair.h"
#include "sim_support.h"
#include "support/control_loop.h"
#include "support/log_capture.h"
#include "support/polled_reader.h"
#include "wire/sqe.h"

using namespace nvmemp;
using namespace nvmemp::controller;
using namespace std::chrono_literals;
using auth::DhchapHash;
using auth::DhGroup;

namespace {

using test::g_done;
using test::on_done;

std::shared_ptr<const auth::DhchapKeys> keys_for(const std::string& subnqn) {
  auto host = auth::parse_dhchap_secret(test::kAuthHostKey, "test host key");
  REQUIRE(host.has_value());
  auto ctrl = auth::parse_dhchap_secret(test::kAuthCtrlKey, "test controller key");
  REQUIRE(ctrl.has_value());
  auto k = auth::make_dhchap_keys(*host, &*ctrl, test::kTestHostNqn, subnqn);
  REQUIRE(k.has_value());
  return *k;
}

using Host = test::HostPair;

Host connect_host(test::ControlLoop& loop, std::uint16_t port, const std::string& nqn, bool with_keys) {
  ControllerOptions o = test::sim_host_options(port, nqn);
  if (with_keys) o.dhchap = keys_for(nqn);
  return test::connect_host_pair(loop, o, &on_done);
}

Result<std::string> reauth_ctrl(test::ControlLoop& loop, Controller& c) {
  std::optional<Result<std::string>> out;
  c.reauthenticate([&](const Result<std::string>& r) { out = r; });
  REQUIRE(loop.run_until([&] { return out.has_value(); }, 10s));
  return *out;
}

Result<std::string> reauth_queue(test::ControlLoop& loop, IoQueue& q) {
  std::optional<Result<std::string>> out;
  q.reauthenticate([&](const Result<std::string>& r) { out = r; });
  REQUIRE(loop.run_until([&] { return out.has_value(); }, 10s));
  return *out;
}

// A 4 KiB read on the I/O queue and an Identify on the admin queue both complete with success.
void both_queues_work(test::ControlLoop& loop, Host& h) {
  std::vector<std::uint8_t> buf(4096);
  g_done.clear();
  auto cid = h.io->qp().submit(transport::Command{*wire::make_read(1, 0, 8, 4096), buf, {}, nullptr});
  REQUIRE(cid.has_value());
  REQUIRE(loop.run_until([&] { return !g_done.empty(); }, 10s));
  CHECK(g_done[0].status.ok());
  std::optional<bool> id_ok;
  auto a = h.ctrl->admin(wire::make_identify(1, 0), 4096, {}, [&](const AdminResult& r) { id_ok = r.completion.status.ok(); });
  REQUIRE(a.has_value());
  REQUIRE(loop.run_until([&] { return id_ok.has_value(); }, 10s));
  CHECK(*id_ok);
  CHECK(h.ctrl->state() == CtrlState::Live);
  CHECK(h.io->live());
}

}  // namespace

TEST_CASE("reauth: the live admin and I/O queues renew their authentication, a refusal leaves both as they were",
          "[sim][auth]") {
  auto sim = test::start_sim(test::small_config());
  REQUIRE(sim->control(test::auth_host_line(DhchapHash::Sha384, DhGroup::Ffdhe3072, true)));
  test::ControlLoop loop;
  Host h = connect_host(loop, sim->ports()[0], sim->nqn(), true);
  CHECK(h.ctrl->info().auth == "dhchap sha384 ffdhe3072");
  CHECK(h.io->auth() == "dhchap sha384 ffdhe3072");

  // Renewed with the group the target now forces: the new pair shows.
  REQUIRE(sim->control(test::auth_host_line(DhchapHash::Sha512, DhGroup::Ffdhe2048, true)));
  auto a = reauth_ctrl(loop, *h.ctrl);
  INFO((a ? *a : a.error().message));
  REQUIRE(a.has_value());
  CHECK(*a == "dhchap sha512 ffdhe2048");
  CHECK(h.ctrl->info().auth == *a);
  // The I/O queue's renewal with reads in flight around it.
  std::vector<std::uint8_t> buf(4096);
  g_done.clear();
  REQUIRE(h.io->qp().submit(transport::Command{*wire::make_read(1, 0, 8, 4096), buf, {}, nullptr}).has_value());
  auto q = reauth_queue(loop, *h.io);
  INFO((q ? *q : q.error().message));
  REQUIRE(q.has_value());
  CHECK(*q == "dhchap sha512 ffdhe2048");
  REQUIRE(loop.run_until([&] { return !g_done.empty(); }, 10s));
  CHECK(g_done.size() == 1);  // the read's completion went to the caller, the exchange's did not
  CHECK(g_done[0].status.ok());
  both_queues_work(loop, h);

  // A second request while one runs is refused, the first completes.
  std::optional<Result<std::string>> first, second;
  h.ctrl->reauthenticate([&](const Result<std::string>& r) { first = r; });
  h.ctrl->reauthenticate([&](const Result<std::string>& r) { second = r; });
  REQUIRE(loop.run_until([&] { return first.has_value() && second.has_value(); }, 10s));
  CHECK(first->has_value());
  REQUIRE_FALSE(second->has_value());
  CHECK(second->error().message.find("already under way") != std::string::npos);

  for (const char* fault : {"refuse-reauth", "refuse-reauth-cse"}) {
    INFO(fault);
    REQUIRE(sim->control(std::string("auth-fault ") + fault));
    auto ra = reauth_ctrl(loop, *h.ctrl);
    REQUIRE_FALSE(ra.has_value());
    INFO(ra.error().message);
    CHECK(ra.error().message.find("keeps its earlier authentication (dhchap sha512 ffdhe2048)") != std::string::npos);
    auto rq = reauth_queue(loop, *h.io);
    REQUIRE_FALSE(rq.has_value());
    INFO(rq.error().message);
    CHECK(rq.error().message.find("keeps its earlier authentication") != std::string::npos);
    CHECK(h.ctrl->info().auth == "dhchap sha512 ffdhe2048");
    CHECK(h.io->auth() == "dhchap sha512 ffdhe2048");
    both_queues_work(loop, h);
  }
  REQUIRE(sim->control("auth-fault off"));
  CHECK(reauth_ctrl(loop, *h.ctrl).has_value());
  CHECK(reauth_queue(loop, *h.io).has_value());
  both_queues_work(loop, h);
}

TEST_CASE("reauth: a controller that never asked for authentication has nothing to renew", "[sim][auth]") {
  auto sim = test::start_sim(test::small_config());
  test::ControlLoop loop;
  Host h = connect_host(loop, sim->ports()[0], sim->nqn(), true);
  CHECK(h.ctrl->info().auth == "none");
  auto a = reauth_ctrl(loop, *h.ctrl);
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error().code == Errc::InvalidArgument);
  CHECK(a.error().message.find("nothing to re-authenticate") != std::string::npos);
  auto q = reauth_queue(loop, *h.io);
  REQUIRE_FALSE(q.has_value());
  CHECK(q.error().code == Errc::InvalidArgument);
  both_queues_work(loop, h);
}


namespace {

// Waits (at most 10 s) until the reader has completed `more` reads after now.
void wait_reads(test::PolledReader& reader, std::uint64_t more) {
  const std::uint64_t before = reader.done();
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       reader.done() < before + more && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
  }
}

// A Fabric with the test keys connected to both ports of a target that asks for sha256/ffdhe2048
// bidirectionally, and an I/O context writing, reading back and comparing blocks of the head on
// its own thread; returns once both paths' I/O queues carry I/O in it.
struct AuthedFabric {
  std::unique_ptr<Fabric> fabric;
  std::vector<std::uint16_t> ids;
  std::unique_ptr<test::PolledReader> reader;
};

AuthedFabric authed_fabric_under_io(sim::SimTarget& sim) {
  REQUIRE(sim.control(test::auth_host_line(DhchapHash::Sha256, DhGroup::Ffdhe2048, true)));
  FabricOptions fo = test::fast_options();
  auto hk = parse_dhchap_key(test::kAuthHostKey, "test host key");
  auto ck = parse_dhchap_key(test::kAuthCtrlKey, "test controller key");
  REQUIRE(hk.has_value());
  REQUIRE(ck.has_value());
  fo.dhchap_secret = *hk;
  fo.dhchap_ctrl_secret = *ck;
  auto f = Fabric::start(fo);
  REQUIRE(f.has_value());
  AuthedFabric out;
  out.fabric = std::move(*f);
  for (auto port : sim.ports()) {
    auto p = out.fabric->connect(Endpoint{"127.0.0.1", port, "", ""}, sim.nqn());
    INFO((p ? std::string() : p.error().message));
    REQUIRE(p.has_value());
    CHECK(p->auth == "dhchap sha256 ffdhe2048");
    out.ids.push_back(p->id);
  }
  auto h = out.fabric->find_head(sim.nqn(), 1);
  REQUIRE(h.has_value());
  out.reader = std::make_unique<test::PolledReader>(*out.fabric, h->id, h->block_size, true);  // verify
  wait_reads(*out.reader, 50);
  REQUIRE(out.reader->done() >= 50);  // both paths' I/O queues are up in the context
  return out;
}

}  // namespace

TEST_CASE("reauth: Fabric::reauthenticate renews a path's admin queue and its I/O queues under I/O", "[sim][auth]") {
  auto sim = test::start_sim(test::small_config());
  AuthedFabric af = authed_fabric_under_io(*sim);
  auto& f = af.fabric;
  auto& reader = *af.reader;
  const auto& ids = af.ids;

  REQUIRE(sim->control(test::auth_host_line(DhchapHash::Sha512, DhGroup::Ffdhe3072, true)));
  for (auto id : ids) {
    test::LogCapture logs;
    auto r = f->reauthenticate(id);
    INFO((r ? r->auth : r.error().message));
    REQUIRE(r.has_value());
    CHECK(r->auth == "dhchap sha512 ffdhe3072");
    INFO(logs.text());
    CHECK(logs.text().find("the admin queue and 1 I/O queue(s)") != std::string::npos);  // the reader's context
  }
  REQUIRE(sim->control("auth-fault refuse-reauth"));
  auto refused = f->reauthenticate(ids[0]);
  REQUIRE_FALSE(refused.has_value());
  INFO(refused.error().message);
  CHECK(refused.error().message.find("keeps its earlier authentication") != std::string::npos);
  REQUIRE(sim->control("auth-fault off"));
  auto missing = f->reauthenticate(999);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == Errc::NotFound);

  const std::uint64_t before = reader.done();
  wait_reads(reader, 50);
  CHECK(reader.done() >= before + 50);  // I/O went on through it all
  CHECK(reader.failed() == 0);
  CHECK(reader.mismatches() == 0);
  for (const auto& p : f->topology().paths) CHECK(p.state == "live");
}

TEST_CASE("reset: Fabric::reset reconnects a path under I/O at once, every queue authenticated anew", "[sim][auth]") {
  auto sim = test::start_sim(test::small_config());
  AuthedFabric af = authed_fabric_under_io(*sim);
  auto& f = af.fabric;
  auto& reader = *af.reader;
  // The target now asks for another pair: the reconnect's exchanges show they ran again.
  REQUIRE(sim->control(test::auth_host_line(DhchapHash::Sha384, DhGroup::Ffdhe4096, true)));
  test::LogCapture logs;
  auto r = f->reset(af.ids[0]);
  INFO((r ? r->auth : r.error().message));
  REQUIRE(r.has_value());
  CHECK(r->state == "live");
  CHECK(r->reconnects == 1);
  CHECK(r->auth == "dhchap sha384 ffdhe4096");
  INFO(logs.text());
  CHECK(logs.text().find("reset on request") != std::string::npos);
  // The path carries reads again: its I/O queue in the reader's context connected and
  // authenticated (the target refuses I/O on a queue that did not).
  auto ios_on = [&](std::uint16_t id) {
    for (const auto& p : f->topology().paths) {
      if (p.id == id) return p.counters.ios;
    }
    return std::uint64_t{0};
  };
  const std::uint64_t ios_before = ios_on(af.ids[0]);
  for (const auto until = std::chrono::steady_clock::now() + 10s;
       ios_on(af.ids[0]) < ios_before + 20 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(10ms);
  }
  CHECK(ios_on(af.ids[0]) >= ios_before + 20);

  // A path that is not live is reconnecting on its own already; an unknown path does not exist.
  REQUIRE(sim->control("port-down 2"));
  for (const auto until = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < until;) {
    auto t = f->topology();
    if (std::any_of(t.paths.begin(), t.paths.end(), [&](const PathInfo& p) { return p.id == af.ids[1] && p.state != "live"; }))
      break;
    std::this_thread::sleep_for(10ms);
  }
  auto down = f->reset(af.ids[1]);
  REQUIRE_FALSE(down.has_value());
  INFO(down.error().message);
  CHECK(down.error().message.find("is not live") != std::string::npos);
  CHECK(f->reset(999).error().code == Errc::NotFound);
  REQUIRE(sim->control("port-up 2"));
  wait_reads(reader, 50);
  CHECK(reader.failed() == 0);  // the reset's I/O failed over or was retried: none lost
  CHECK(reader.mismatches() == 0);
}
