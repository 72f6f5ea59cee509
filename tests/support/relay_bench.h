// The TLS relay tests' verify run with faults (tests/sim/tls_relay_test.cc against the simulated
// target, tests/real/tls_relay_real_test.cc against nvmet): the control commands sent while the
// bench runs, and what its result must show. Needs mpath_bench (bench.h).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "bench.h"

namespace nvmemp::test {

using ControlStep = std::pair<std::chrono::milliseconds, const char*>;

// `base` with NVMe/TCP over TLS on and `configured_key` ("NVMeTLSkey-1:...") as its key.
inline FabricOptions with_tls_key(FabricOptions base, const char* configured_key) {
  base.tls = true;
  auto key = parse_tls_key(configured_key, "the test's configured PSK");
  REQUIRE(key.has_value());
  base.tls_key = std::move(*key);
  return base;
}

// A bench target: `subnqn` through 127.0.0.1:<each port> (the relay's listeners).
inline tools::BenchTarget loopback_paths(const std::string& subnqn, const std::vector<std::uint16_t>& ports) {
  tools::BenchTarget t;
  t.subnqn = subnqn;
  for (const auto port : ports) t.paths.push_back(Endpoint{"127.0.0.1", port, "", ""});
  return t;
}

// Runs `bench` while another thread sends each step's command through `control`, `delay` after
// the previous one; CHECKs that every command was accepted. Returns the bench's result.
inline Result<tools::BenchResult> bench_with_control(const std::function<Result<tools::BenchResult>()>& bench,
                                                     const std::vector<ControlStep>& steps,
                                                     const std::function<Result<std::string>(const char*)>& control) {
  std::vector<std::string> errors;
  std::thread script([&] {
    for (const auto& [delay, cmd] : steps) {
      std::this_thread::sleep_for(delay);
      if (auto r = control(cmd); !r) errors.push_back(fmt::format("{}: {}", cmd, r.error().message));
    }
  });
  auto r = bench();
  script.join();
  INFO(fmt::format("{}", fmt::join(errors, "\n")));
  CHECK(errors.empty());
  return r;
}

// A verify run over two paths through the relay, port 1 taken down and brought back up during
// it: no error, no mismatch, both paths live on TLS `suite`, port 1 reconnected (through the
// relay) and optimized again, port 2 carried I/O meanwhile.
inline void check_relay_failover_bench(const tools::BenchResult& r, const char* suite, const char* who) {
  std::printf("%s: ios %llu, failovers %llu, max stall %.0f ms\n", who, static_cast<unsigned long long>(r.ios),
              static_cast<unsigned long long>(r.failovers), r.max_stall_ms);
  INFO("first error: " << r.first_error);
  CHECK(r.errors == 0);
  CHECK(r.verify_failures == 0);
  CHECK(r.ios > 0);
  REQUIRE(r.paths.size() == 2);
  for (const auto& p : r.paths) {
    INFO(p.traddr << ":" << p.trsvcid);
    CHECK(p.tls == std::string("TLS 1.3 ") + suite);
    CHECK(p.state == "live");
  }
  CHECK(r.paths[0].reconnects >= 1);
  CHECK(r.paths[1].ios > 0);
  CHECK(r.paths[0].ana_state == "optimized");
}

}  // namespace nvmemp::test
