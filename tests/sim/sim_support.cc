#include "sim_support.h"

#include <catch2/catch.hpp>

#include "bench.h"
#include "wire/registers.h"

namespace nvmemp::test {

using namespace wire;

sim::SimConfig small_config() {
  sim::SimConfig cfg;
  cfg.ns_size_bytes = 8u << 20;
  return cfg;
}

std::unique_ptr<sim::SimTarget> start_sim(sim::SimConfig cfg) {
  auto t = sim::SimTarget::start(cfg);
  INFO((t ? std::string() : t.error().message));
  REQUIRE(t.has_value());
  return std::move(*t);
}

Result<Completion> connect_raw(SyncQueue& q, const std::string& subnqn, std::uint16_t qid, std::uint16_t cntlid,
                               std::uint32_t kato_ms, const std::string& hostnqn, std::uint8_t cattr) {
  auto data = encode_connect_data(test_host_id(), cntlid, subnqn, hostnqn);
  if (!data) {
    return tl::unexpected(data.error());
  }
  ConnectParams p;
  p.qid = qid;
  p.sqsize = 127;
  p.kato_ms = kato_ms;
  p.cattr = cattr;
  return q.execute(make_connect(p), std::vector<std::uint8_t>(data->begin(), data->end()));
}

Completion run(SyncQueue& q, const Sqe& sqe, const std::vector<std::uint8_t>& data) {
  auto c = q.execute(sqe, data);
  INFO("opcode " << int(sqe.opcode()) << ": " << (c ? std::string() : c.error().message));
  REQUIRE(c.has_value());
  return std::move(*c);
}

Completion run_ok(SyncQueue& q, const Sqe& sqe, const std::vector<std::uint8_t>& data) {
  Completion c = run(q, sqe, data);
  INFO("opcode " << int(sqe.opcode()) << " status " << c.cqe.status.to_string());
  REQUIRE(c.cqe.status.ok());
  return c;
}

AdminQueue bring_up(std::uint16_t port, const std::string& subnqn, bool digests, std::uint32_t kato_ms,
                    const std::string& hostnqn) {
  auto q = SyncQueue::open(port, digests);
  INFO((q ? std::string() : q.error().message));
  REQUIRE(q.has_value());
  auto c = connect_raw(*q, subnqn, 0, kCntlidDynamic, kato_ms, hostnqn);
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.has_value());
  INFO("Connect status " << c->cqe.status.to_string(StatusContext::FabricsCommand));
  REQUIRE(c->cqe.status.ok());
  AdminQueue a{std::move(*q), connect_cntlid(c->cqe.dw0)};
  run_ok(a.q, make_property_set(kRegCc, cc_enable_value(), false));
  const Completion csts = run_ok(a.q, make_property_get(kRegCsts, false));
  REQUIRE(csts_rdy(csts.cqe.dw0));
  return a;
}

SyncQueue open_io(std::uint16_t port, const std::string& subnqn, std::uint16_t cntlid, std::uint16_t qid, bool digests,
                  std::uint8_t cattr, const std::string& hostnqn) {
  auto q = SyncQueue::open(port, digests);
  INFO((q ? std::string() : q.error().message));
  REQUIRE(q.has_value());
  auto c = connect_raw(*q, subnqn, qid, cntlid, 0, hostnqn, cattr);
  INFO((c ? std::string() : c.error().message));
  REQUIRE(c.has_value());
  INFO("I/O Connect status " << c->cqe.status.to_string(StatusContext::FabricsCommand));
  REQUIRE(c->cqe.status.ok());
  return std::move(*q);
}

std::vector<std::uint8_t> pattern(std::size_t len, std::uint32_t seed) {
  std::vector<std::uint8_t> out(len);
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (auto& b : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<std::uint8_t>(x);
  }
  return out;
}

FabricOptions fast_options() {
  FabricOptions f;
  f.hostnqn = kTestHostNqn;
  f.keep_alive_tmo = std::chrono::seconds(2);
  f.reconnect_delay = std::chrono::seconds(1);
  f.ctrl_loss_tmo = std::chrono::seconds(60);
  return f;
}

tools::BenchTarget both_ports_target(const sim::SimTarget& sim) {
  tools::BenchTarget t;
  t.subnqn = sim.nqn();
  for (auto p : sim.ports()) t.paths.push_back(Endpoint{"127.0.0.1", p, "", ""});
  return t;
}

}  // namespace nvmemp::test
