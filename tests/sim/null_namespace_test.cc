// The null namespace (SimConfig::null_namespaces, `nvme-mpath-simtarget --null`): writes of
// every size class are accepted and discarded, reads answer zeros from the shared zero buffer,
// in one or several C2HData, with and without digests, and the ordinary way while a fault
// delays PDUs.
#include <catch2/catch.hpp>

#include "sim_support.h"

using namespace nvmemp;
using namespace nvmemp::wire;
using nvmemp::test::run_ok;

TEST_CASE("Null namespace: writes are discarded, reads answer zeros", "[sim]") {
  const std::uint32_t c2h_chunk = GENERATE(0u, 4096u);
  const bool digests = GENERATE(false, true);
  INFO("c2h_chunk " << c2h_chunk << (digests ? ", digests" : ""));
  sim::SimConfig cfg = test::small_config();
  cfg.null_namespaces = true;
  cfg.c2h_chunk = c2h_chunk;
  cfg.maxh2cdata = 16384;  // a 64 KiB write moves by several R2Ts
  auto sim = test::start_sim(cfg);
  auto a = test::bring_up(sim->ports()[0], sim->nqn(), digests);
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid, 1, digests);
  const std::uint32_t max_icd = max_in_capsule_data(cfg.ioccsz);
  std::uint64_t slba = 0;
  std::uint32_t seed = 1;
  for (const std::uint32_t len : {512u, 4096u, 65536u, 1u << 20}) {
    INFO("length " << len);
    const std::uint32_t nlb = len / 512;
    run_ok(io, *make_write(1, slba, nlb, len, max_icd), test::pattern(len, seed++));
    const auto back = run_ok(io, *make_read(1, slba, nlb, len));
    CHECK(back.data == std::vector<std::uint8_t>(len, 0));
    slba += nlb;
  }
  run_ok(io, make_flush(1));
}

TEST_CASE("Null namespace: a port with a latency fault still reads zeros", "[sim]") {
  sim::SimConfig cfg = test::small_config();
  cfg.null_namespaces = true;
  auto sim = test::start_sim(cfg);
  auto a = test::bring_up(sim->ports()[0], sim->nqn());
  auto io = test::open_io(sim->ports()[0], sim->nqn(), a.cntlid, 1);
  run_ok(io, *make_write(1, 0, 8, 4096, max_in_capsule_data(cfg.ioccsz)), test::pattern(4096, 7));
  REQUIRE(sim->set_latency(1, 5).has_value());
  CHECK(run_ok(io, *make_read(1, 0, 8, 4096)).data == std::vector<std::uint8_t>(4096, 0));
  REQUIRE(sim->set_latency(1, 0).has_value());
  CHECK(run_ok(io, *make_read(1, 0, 8, 4096)).data == std::vector<std::uint8_t>(4096, 0));
}
