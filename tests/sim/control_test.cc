// The control line protocol: the parser, the socket, port-down/port-up, discovery.
#include <catch2/catch.hpp>

#include <chrono>

#include "control_parse.h"
#include "sim_support.h"
#include "support/tcp_client.h"
#include "wire/identify.h"
#include "wire/libnvme_types.h"
#include "wire/log_pages.h"

using namespace nvmemp;
using namespace nvmemp::wire;
using namespace std::chrono_literals;
using nvmemp::test::run_ok;

namespace {

// Sends lines and reads until as many OK/ERR lines came back.
std::string ctl_session(std::uint16_t port, const std::string& lines, int answers) {
  auto c = test::TcpClient::connect("127.0.0.1", port, 5s);
  REQUIRE(c.has_value());
  REQUIRE(c->send_all(std::vector<std::uint8_t>(lines.begin(), lines.end())).has_value());
  std::string got;
  const auto count = [&] {
    int n = 0;
    std::size_t pos = 0;
    while ((pos = got.find('\n', pos)) != std::string::npos) {
      const std::size_t start = got.rfind('\n', pos - 1);
      const std::string line = got.substr(start == std::string::npos || pos == 0 ? 0 : start + 1,
                                          pos - (start == std::string::npos || pos == 0 ? 0 : start + 1));
      n += line == "OK" || line.rfind("ERR", 0) == 0;
      ++pos;
    }
    return n;
  };
  for (int i = 0; i < 100 && count() < answers; ++i) {
    auto chunk = c->recv_some(5s);
    REQUIRE(chunk.has_value());
    REQUIRE_FALSE(chunk->empty());
    got.append(chunk->begin(), chunk->end());
  }
  return got;
}

}  // namespace

TEST_CASE("control parser: every command and its errors", "[sim]") {
  using sim::ControlOp;
  auto c = sim::parse_control_line("ana 14420 3 non-optimized\r");
  REQUIRE(c.has_value());
  CHECK(c->op == ControlOp::Ana);
  CHECK(c->port == 14420);
  CHECK(c->grpid == 3);
  CHECK(c->state == sim::SimAnaState::NonOptimized);
  CHECK(sim::parse_control_line("  ping ")->op == ControlOp::Ping);
  CHECK(sim::parse_control_line("ns-grp 2 1")->grpid == 1);
  CHECK(sim::parse_control_line("port-up 2")->op == ControlOp::PortUp);
  for (const char* bad : {"", "pong", "ana 1 1", "ana 1 1 sleepy", "ana 0 1 optimized", "ana x 1 optimized",
                          "ns-down", "ns-down 1 2", "port-down 70000", "ns-up -1", "ping extra",
                          "ana 1 4294967296 optimized"}) {
    INFO(bad);
    auto r = sim::parse_control_line(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK_FALSE(r.error().message.empty());
  }
}

TEST_CASE("control socket: ping, status, errors, ana, reset", "[sim]") {
  sim::SimConfig cfg = test::small_config();
  cfg.ctl_port = 0;
  auto sim = test::start_sim(cfg);
  REQUIRE(sim->ctl_port() != 0);
  const std::string out = ctl_session(sim->ctl_port(),
                                      "ping\n\nstatus\nbogus command\nana 9 1 optimized\nana " +
                                          std::to_string(sim->ports()[1]) + " 1 inaccessible\nstatus\nreset\n",
                                      7);
  INFO(out);
  CHECK(out.rfind("pong\nOK\n", 0) == 0);
  CHECK(out.find("ERR unknown command 'bogus'") != std::string::npos);
  CHECK(out.find("ERR no such port: '9'") != std::string::npos);
  CHECK(out.find("port 2 tcp=127.0.0.1:" + std::to_string(sim->ports()[1]) + " linked=1 connections=0 ana: 1=inaccessible") !=
        std::string::npos);
  CHECK(out.find("ns 1 enable=1 ana_grpid=1") != std::string::npos);
  // reset put port 2 back.
  auto st = sim->control("status");
  REQUIRE(st.has_value());
  CHECK(st->find("ana: 1=non-optimized 2=non-optimized") != std::string::npos);
  // The C++ API gives the same errors.
  auto bad = sim->control("ns-down 7");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "no such namespace: '7'");
}

TEST_CASE("discovery: log with the current subsystem, this port's subsystem and referrals", "[sim]") {
  sim::SimConfig cfg = test::small_config();
  cfg.ports = {0, 0, 0};
  auto sim = test::start_sim(cfg);
  auto d = test::bring_up(sim->ports()[1], sim::kDiscoveryNqn);
  auto idc = parse_identify_controller(run_ok(d.q, make_identify(NVME_IDENTIFY_CNS_CTRL, 0)).data);
  REQUIRE(idc.has_value());
  CHECK(idc->subnqn == sim::kDiscoveryNqn);
  auto hdr = parse_discovery_log_header(run_ok(d.q, *make_get_log_page(NVME_LOG_LID_DISCOVER, 0, 0, 1024, 0, true)).data);
  REQUIRE(hdr.has_value());
  REQUIRE(hdr->numrec == 4);
  auto size = discovery_log_size(hdr->numrec);
  REQUIRE(size.has_value());
  auto log = parse_discovery_log(
      run_ok(d.q, *make_get_log_page(NVME_LOG_LID_DISCOVER, 0, 0, static_cast<std::uint32_t>(*size))).data);
  REQUIRE(log.has_value());
  CHECK(log->header.genctr == hdr->genctr);
  const auto& e = log->entries;
  CHECK(e[0].is_current_discovery());
  CHECK(e[0].trsvcid == std::to_string(sim->ports()[1]));
  CHECK(e[0].portid == 2);
  CHECK(e[1].is_nvm_subsystem());
  CHECK(e[1].subnqn == sim->nqn());
  CHECK(e[1].traddr == "127.0.0.1");
  CHECK(e[1].sqflow_disable_supported());
  CHECK(e[2].is_referral());
  CHECK(e[2].trsvcid == std::to_string(sim->ports()[0]));
  CHECK(e[3].is_referral());
  CHECK(e[3].trsvcid == std::to_string(sim->ports()[2]));
  for (const auto& x : e) {
    CHECK(x.is_tcp());
  }
  // No I/O queues and no ANA log on a discovery controller.
  CHECK(test::run(d.q, *make_get_log_page(NVME_LOG_LID_ANA, 0, 0, 4096)).cqe.status.code() == 0x109);
}

TEST_CASE("port-down closes that port's connections and listener, port-up listens again", "[sim]") {
  auto sim = test::start_sim();
  auto a1 = test::bring_up(sim->ports()[0], sim->nqn());
  auto a2 = test::bring_up(sim->ports()[1], sim->nqn());
  REQUIRE(sim->control("port-down 2").has_value());
  CHECK_FALSE(a2.q.execute(make_keep_alive()).has_value());
  CHECK_FALSE(test::SyncQueue::open(sim->ports()[1], false).has_value());
  run_ok(a1.q, make_keep_alive());
  REQUIRE(sim->control("port-up " + std::to_string(sim->ports()[1])).has_value());
  auto again = test::bring_up(sim->ports()[1], sim->nqn());
  run_ok(again.q, make_keep_alive());
  // reset brings a downed port back too.
  REQUIRE(sim->control("port-down 1").has_value());
  REQUIRE(sim->control("reset").has_value());
  auto back = test::bring_up(sim->ports()[0], sim->nqn());
  run_ok(back.q, make_keep_alive());
}
