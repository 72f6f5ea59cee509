// `mpath-connect bench`: an fio-like load on one namespace head through the library API
// (nvmemp/mpath.h): one IoContext (io_uring ring, one I/O queue per path) per thread, any
// number of paths, with verify. Prints numbers; never a test.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nvmemp/mpath.h"

namespace nvmemp::tools {

enum class Workload { RandRead, RandWrite, Read, Write, RandRw, Verify };
Result<Workload> parse_workload(const std::string& name);
const char* workload_name(Workload w);

struct BenchOptions {
  Workload workload = Workload::RandRead;
  std::uint32_t nsid = 1;
  std::uint32_t bs = 4096;
  std::uint32_t iodepth = 32;
  std::uint32_t threads = 1;
  double seconds = 10;
  std::uint64_t seed = 0;  // verify pattern seed; 0: from the clock
};

// Which paths: every TCP entry of `subnqn` in the discovery log at `discovery` (connect_all),
// else each of `paths`.
struct BenchTarget {
  std::string subnqn;
  bool connect_all = false;
  Endpoint discovery;
  std::vector<Endpoint> paths;
};

struct BenchPath {
  std::string traddr;
  std::uint16_t trsvcid = 0;
  std::uint16_t cntlid = 0;
  std::string ana_state;
  std::string state;
  std::uint64_t ios = 0, errors = 0, failovers = 0, stalls = 0, reconnects = 0;
  std::string auth;  // "dhchap sha256 ffdhe2048" or "none"
  std::string tls;   // "TLS 1.3 TLS_AES_128_GCM_SHA256" or "none"
};

struct Stall {
  double at_s = 0;  // seconds after the start when the gap began
  double ms = 0;
};

struct BenchResult {
  std::uint64_t ios = 0;
  std::uint64_t errors = 0;
  std::uint64_t verify_failures = 0;
  double seconds = 0;
  double iops = 0;
  double mib_s = 0;
  double lat_avg_us = 0, lat_p50_us = 0, lat_p99_us = 0, lat_p999_us = 0, lat_max_us = 0;
  // The latency distribution: (percentile, us) at kLatencyPercentiles, for CDF plots.
  std::vector<std::pair<double, double>> lat_percentiles_us;
  // CPU seconds (user + system) the whole bench process used during the timed I/O window
  // (getrusage RUSAGE_SELF): all its threads, the control thread included.
  double cpu_s = 0;
  std::string first_error;
  std::string wwid;
  std::string policy;
  std::uint64_t failovers = 0;
  std::uint64_t retries = 0;
  std::int64_t start_unix_ms = 0;  // when I/O started (system clock), to place events on `stalls`
  double max_stall_ms = 0;     // longest gap with no completion while I/O was outstanding
  std::vector<Stall> stalls;   // every such gap of 100 ms or more
  std::vector<BenchPath> paths;
};

inline constexpr double kLatencyPercentiles[] = {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.99};

// `progress(ios_so_far, seconds)` runs about once a second on the calling thread.
Result<BenchResult> run_bench(const FabricOptions& fopts, const BenchTarget& target, const BenchOptions& opts,
                              const std::function<void(std::uint64_t, double)>& progress);

}  // namespace nvmemp::tools
