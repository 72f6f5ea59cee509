// `mpath-connect bench`: an fio-like load over one path (one controller, one I/O queue per
// thread, each thread with its own io_uring reactor), with verify. Prints numbers; never a test.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "controller/controller.h"

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

struct BenchResult {
  std::uint64_t ios = 0;
  std::uint64_t errors = 0;
  std::uint64_t verify_failures = 0;
  double seconds = 0;
  double iops = 0;
  double mib_s = 0;
  double lat_avg_us = 0, lat_p50_us = 0, lat_p99_us = 0, lat_p999_us = 0, lat_max_us = 0;
  std::string first_error;
  std::string ring_flags;
};

// `progress(ios_so_far, seconds)` runs about once a second on the calling thread.
Result<BenchResult> run_bench(const controller::ControllerOptions& copts, const BenchOptions& opts,
                              const std::function<void(std::uint64_t, double)>& progress);

}  // namespace nvmemp::tools
