// The library's own host stack (Controller, IoQueue on io_uring, QueuePair) against the
// simulated target, on the paths the real targets never take: several C2HData per read,
// several R2Ts per write, a small MAXH2CDATA, CPDA != 0, corrupted digests, a blackhole.
#include <catch2/catch.hpp>

#include "controller/io_queue.h"
#include "host_pair.h"
#include "sim_support.h"
#include "support/byte_diff.h"
#include "support/control_loop.h"

using namespace nvmemp;
using namespace nvmemp::controller;
using namespace std::chrono_literals;

namespace {

using test::g_done;
using test::on_done;

ControllerOptions host_options(std::uint16_t port, const std::string& nqn, bool digests) {
  ControllerOptions o = test::sim_host_options(port, nqn);
  o.hdgst = o.ddgst = digests;
  return o;
}

using Host = test::HostPair;
Host connect_host(test::ControlLoop& loop, const ControllerOptions& o) {
  return test::connect_host_pair(loop, o, &on_done);
}

transport::Completion exec(test::ControlLoop& loop, IoQueue& q, const wire::Sqe& sqe, MutBytes r, Bytes w) {
  g_done.clear();
  auto cid = q.qp().submit(transport::Command{sqe, r, w, nullptr});
  INFO((cid ? std::string() : cid.error().message));
  REQUIRE(cid.has_value());
  REQUIRE(loop.run_until([&] { return !g_done.empty(); }, 10s));
  return g_done[0];
}

}  // namespace

TEST_CASE("Host library I/O against the sim: every size class, odd PDU layouts, digests", "[sim][host]") {
  struct Layout {
    const char* name;
    std::uint32_t maxh2cdata, c2h_chunk, r2t_chunk;
    std::uint8_t cpda;
  };
  const Layout layouts[] = {{"defaults", 4u << 20, 0, 0, 0},
                            {"several R2Ts, 4 KiB MAXH2CDATA", 4096, 0, 8192, 0},
                            {"several C2HData per read", 4u << 20, 4096, 0, 0},
                            {"CPDA 3 (64-byte aligned data)", 4u << 20, 0, 0, 3}};
  for (const auto& l : layouts) {
    for (const bool digests : {false, true}) {
      INFO(l.name << (digests ? ", digests" : ""));
      auto cfg = test::small_config();
      cfg.maxh2cdata = l.maxh2cdata;
      cfg.c2h_chunk = l.c2h_chunk;
      cfg.r2t_chunk = l.r2t_chunk;
      cfg.cpda = l.cpda;
      auto sim = test::start_sim(cfg);
      test::ControlLoop loop;
      auto o = host_options(sim->ports()[0], sim->nqn(), digests);
      Host h = connect_host(loop, o);
      const std::uint32_t max_icd = h.ctrl->info().max_icd;
      std::uint64_t slba = 0;
      for (const std::uint32_t bytes : {512u, 4096u, 16384u, 16896u, 65536u, 1u << 20}) {
        INFO(bytes << " bytes");
        const auto data = test::pattern(bytes, bytes + l.cpda);
        auto w = wire::make_write(1, slba, bytes / 512, bytes, max_icd);
        REQUIRE(w.has_value());
        CHECK(exec(loop, *h.io, *w, {}, data).status.ok());
        std::vector<std::uint8_t> back(bytes);
        CHECK(exec(loop, *h.io, *wire::make_read(1, slba, bytes / 512, bytes), back, {}).status.ok());
        CHECK(test::byte_diff(back, data) == "");
        slba += bytes / 512;
      }
    }
  }
}

TEST_CASE("Host library: keep-alive holds the sim controller, ANA AEN updates the host", "[sim][host]") {
  auto sim = test::start_sim();
  test::ControlLoop loop;
  auto o = host_options(sim->ports()[0], sim->nqn(), false);
  o.kato = 1000ms;  // the sim kills a controller silent for KATO
  o.admin_timeout = 800ms;  // the AER stays outstanding far longer: it must not time out
  Host h = connect_host(loop, o);
  int events = 0;
  h.ctrl->on_event([&](Controller&, const wire::AsyncEvent& ev) { events += ev.info == 0x03; });
  loop.run_for(2500ms);
  CHECK(h.ctrl->state() == CtrlState::Live);
  REQUIRE(sim->control("ana 1 1 inaccessible").has_value());
  REQUIRE(loop.run_until([&] { return events == 1; }, 5s));
  REQUIRE(h.ctrl->info().ana.has_value());
  bool seen = false;
  for (const auto& g : h.ctrl->info().ana->groups) {
    if (g.anagrpid == 1) {
      seen = true;
      CHECK(g.state == wire::AnaState::Inaccessible);
    }
  }
  CHECK(seen);
  // I/O to a namespace of that group now fails with an ANA status: a path error.
  std::vector<std::uint8_t> buf(512);
  auto c = exec(loop, *h.io, *wire::make_read(1, 0, 1, 512), buf, {});
  CHECK(c.status.is_ana_error());
}

TEST_CASE("Host library: a corrupted data digest fails one command, a bad header digest the queue",
          "[sim][host]") {
  auto sim = test::start_sim();
  test::ControlLoop loop;
  auto o = host_options(sim->ports()[0], sim->nqn(), true);
  Host h = connect_host(loop, o);
  std::vector<std::uint8_t> buf(4096);
  REQUIRE(sim->control("corrupt-digest 1").has_value());
  // The next PDU with a digest is the read's C2HData or its CapsuleResp: either the command
  // fails with a retryable transport status, or the queue pair fails with the reason named.
  g_done.clear();
  REQUIRE(h.io->qp().submit(transport::Command{*wire::make_read(1, 0, 8, 4096), buf, {}, nullptr}).has_value());
  REQUIRE(loop.run_until([&] { return !g_done.empty(); }, 10s));
  const auto st = g_done[0].status;
  if (h.io->qp().state() == transport::QpState::Failed) {
    CHECK(h.io->qp().failure().find("digest") != std::string::npos);
    CHECK(st.is_path_error());
  } else {
    CHECK(st.sc() == 0x22);  // Transient Transport Error
    CHECK_FALSE(st.dnr());
  }
}

TEST_CASE("Host library: a blackholed path times out and resets the controller", "[sim][host]") {
  auto sim = test::start_sim();
  test::ControlLoop loop;
  auto o = host_options(sim->ports()[0], sim->nqn(), false);
  o.kato = 1000ms;
  Host h = connect_host(loop, o);
  REQUIRE(sim->blackhole(1, true).has_value());
  // Nothing answers any more, the TCP connection stays open: keep-alive notices.
  REQUIRE(loop.run_until([&] { return h.ctrl->state() != CtrlState::Live; }, 5s));
  CHECK(h.ctrl->last_error().find("keep-alive") != std::string::npos);
  REQUIRE(sim->blackhole(1, false).has_value());
  REQUIRE(loop.run_until([&] { return h.ctrl->state() == CtrlState::Live; }, 10s));
}
