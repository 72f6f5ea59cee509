// I/O through each nvmet port the way the library does it: Controller (admin, keep-alive)
// plus an IoQueue connected with its cntlid.
#include <catch2/catch.hpp>

#include "controller/io_queue.h"
#include "real/real_target.h"
#include "support/byte_diff.h"
#include "support/control_loop.h"
#include "support/sync_queue.h"

using namespace nvmemp;
using namespace nvmemp::controller;
using namespace std::chrono_literals;

namespace {
std::vector<transport::Completion> g_done;
void on_done(void*, const transport::Completion& c) { g_done.push_back(c); }
}  // namespace

TEST_CASE("4 KiB and 1 MiB write/read-back through each port, digests on and off", "[real][io]") {
  const auto& rt = test::real_target();
  REQUIRE(test::real_target_ctl(rt, "reset").has_value());
  const bool digests = GENERATE(false, true);
  for (const std::uint16_t port : {rt.port1, rt.port2}) {
    INFO("port " << port << (digests ? " with digests" : ""));
    test::ControlLoop loop;
    ControllerOptions o;
    o.endpoint = transport::TcpEndpoint{"127.0.0.1", port, "", ""};
    o.subnqn = rt.nqn;
    o.host.hostnqn = test::kTestHostNqn;
    o.host.hostid = test::test_host_id();
    o.hdgst = o.ddgst = digests;
    Controller c(loop.reactor(), loop.clock, o);
    loop.add(c);
    bool up = false;
    c.connect([&](const Result<void>& r) {
      up = true;
      REQUIRE(r.has_value());
    });
    REQUIRE(loop.run_until([&] { return up; }, 20s));
    auto q = IoQueue::open(loop.reactor(), loop.clock, o, c.info(), 1, &on_done, nullptr);
    INFO((q ? std::string() : q.error().message));
    REQUIRE(q.has_value());
    for (const std::uint32_t bytes : {4096u, 1u << 20}) {
      std::vector<std::uint8_t> data(bytes);
      for (std::size_t i = 0; i < bytes; ++i) data[i] = static_cast<std::uint8_t>(i * 13 + port + bytes);
      const std::uint64_t slba = bytes == 4096 ? 16 : 4096;
      g_done.clear();
      auto w = wire::make_write(2, slba, bytes / 512, bytes, c.info().max_icd);
      REQUIRE((*q)->qp().submit(transport::Command{*w, {}, data, nullptr}).has_value());
      REQUIRE(loop.run_until([&] { return !g_done.empty(); }, 10s));
      CHECK(g_done[0].status.ok());
      std::vector<std::uint8_t> back(bytes);
      g_done.clear();
      auto r = wire::make_read(2, slba, bytes / 512, bytes);
      REQUIRE((*q)->qp().submit(transport::Command{*r, back, {}, nullptr}).has_value());
      REQUIRE(loop.run_until([&] { return !g_done.empty(); }, 10s));
      CHECK(g_done[0].status.ok());
      CHECK(test::byte_diff(back, data) == "");
    }
  }
}
