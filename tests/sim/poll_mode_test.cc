// The I/O contexts' poll modes (PollMode, issue 13): every mode moves data correctly, fails
// over a stalled path (the housekeeping of poll() still runs while a context spins), and two
// busy I/O threads on this 2-core machine leave the control thread its keep-alives.
// Speed is measured by bench/perf_suite, never here.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "bench.h"
#include "sim_support.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

FabricOptions with_mode(PollMode m) {
  FabricOptions o = fast_options();
  o.poll_mode = m;
  return o;
}

}  // namespace

TEST_CASE("poll modes: parsed by name, set per context", "[poll]") {
  CHECK(parse_poll_mode("busy").value() == PollMode::Busy);
  CHECK(parse_poll_mode("hybrid").value() == PollMode::Hybrid);
  CHECK(parse_poll_mode("interrupt").value() == PollMode::Interrupt);
  CHECK(std::string(poll_mode_name(PollMode::Hybrid)) == "hybrid");
  auto bad = parse_poll_mode("spin");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message == "unknown poll mode 'spin': interrupt, hybrid or busy");

  auto sim = start_sim();
  auto f = Fabric::start(with_mode(PollMode::Busy));
  REQUIRE(f.has_value());
  auto io = (*f)->create_io_context();
  REQUIRE(io.has_value());
  CHECK((*io)->poll_mode() == PollMode::Busy);
  (*io)->set_poll_mode(PollMode::Hybrid);
  CHECK((*io)->poll_mode() == PollMode::Hybrid);
  // Nothing outstanding: every mode sleeps for the timeout, it does not return at once.
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE((*io)->poll(30ms).has_value());
  CHECK(std::chrono::steady_clock::now() - t0 >= 25ms);
}

TEST_CASE("poll modes: verify over two paths in every mode", "[poll]") {
  auto sim = start_sim();
  for (PollMode m : {PollMode::Interrupt, PollMode::Hybrid, PollMode::Busy}) {
    INFO(poll_mode_name(m));
    tools::BenchOptions b;
    b.workload = tools::Workload::Verify;
    b.iodepth = 8;
    b.seconds = 1.0;
    b.seed = 11;
    auto r = tools::run_bench(with_mode(m), both_ports_target(*sim), b, {});
    REQUIRE(r.has_value());
    CHECK(r->ios > 100);
    CHECK(r->errors == 0);
    CHECK(r->verify_failures == 0);
  }
}

TEST_CASE("poll modes: a blackholed path is suspected and its reads move while the context spins", "[poll]") {
  auto sim = start_sim();
  for (PollMode m : {PollMode::Hybrid, PollMode::Busy}) {
    INFO(poll_mode_name(m));
    REQUIRE(sim->blackhole(1, false).has_value());
    std::thread fault([&] {
      std::this_thread::sleep_for(500ms);
      (void)sim->blackhole(1, true);
    });
    tools::BenchOptions b;
    b.workload = tools::Workload::RandRead;
    b.iodepth = 8;
    b.seconds = 2.0;
    auto r = tools::run_bench(with_mode(m), both_ports_target(*sim), b, {});
    fault.join();
    REQUIRE(r.has_value());
    CHECK(r->errors == 0);
    // The reads stuck on port 1 moved after the stall timeout (0.3 s), not after a keep-alive
    // timeout or never: the gap is well under a second.
    CHECK(r->max_stall_ms < 1000);
    REQUIRE(r->paths.size() == 2);
    CHECK(r->paths[1].ios > 0);
  }
  REQUIRE(sim->blackhole(1, false).has_value());
}

TEST_CASE("poll modes: two busy I/O threads on two cores starve neither keep-alive nor the control thread",
          "[poll]") {
  auto sim = start_sim();
  FabricOptions o = with_mode(PollMode::Busy);
  o.keep_alive_tmo = 5s;
  tools::BenchOptions b;
  b.workload = tools::Workload::RandRead;
  b.iodepth = 32;
  b.threads = 2;
  b.seconds = 8.0;  // three keep-alive intervals (KATO/2) and more
  auto r = tools::run_bench(o, both_ports_target(*sim), b, {});
  REQUIRE(r.has_value());
  CHECK(r->errors == 0);
  CHECK(r->ios > 1000);
  for (const auto& p : r->paths) {
    INFO(p.traddr << ":" << p.trsvcid);
    CHECK(p.state == "live");
    CHECK(p.reconnects == 0);  // no keep-alive expiry on either side, no reset
    CHECK(p.stalls == 0);
  }
}

}  // namespace nvmemp::test
