// The benchmark suite's options and its matrix of cells: poll mode x workload x queue depth x
// digests x paths (x bench binary in compare mode), and what one run of a cell measured.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "suite/cpu_sample.h"

namespace nvmemp::bench {

struct SuiteOptions {
  std::string target;                 // nvme-mpath-simtarget
  std::vector<std::string> benches;   // mpath-connect: one, or two in compare mode (a, b)
  std::vector<std::string> modes{"interrupt"};
  std::vector<std::string> workloads{"4k-rand", "128k-seq"};
  std::vector<std::uint32_t> qds{1, 32, 128};
  std::vector<bool> digests{false, true};
  std::vector<int> paths{1, 2};
  int runs = 5;
  double seconds = 5;
  int target_cpu = -1;
  int bench_cpu = -1;
  double disturb_pct = 10;  // a run is disturbed when others used more than this % of one core
  std::vector<std::string> target_args;  // appended to the target's command line
  std::vector<std::string> bench_args;   // appended to every bench command line
  std::string json_path;
  std::string png_path;
  // --poll goes to the bench only when the mode list is not the default {interrupt}, so the
  // suite also drives a bench that has no --poll option.
  bool pass_poll() const { return !(modes.size() == 1 && modes[0] == "interrupt"); }
};

struct WorkloadSpec {
  const char* name;  // as in --workloads
  const char* rw;    // bench -w
  const char* bs;    // bench --bs
};

// "4k-rand" (randread 4 KiB) and "128k-seq" (read 128 KiB); nullptr for another name.
const WorkloadSpec* find_workload(const std::string& name);

struct Cell {
  std::string mode;
  std::string workload;
  std::uint32_t qd = 1;
  bool digest = false;
  int paths = 1;
  int binary = 0;  // index into SuiteOptions::benches
  // "interrupt 4k-rand qd32 digest-off 1-path" (+ " [a]"/" [b]" in compare mode).
  std::string name(bool with_binary) const;
};

// Every combination, in table order.
std::vector<Cell> make_cells(const SuiteOptions& o);

struct RunRecord {
  int rep = 0;  // 1-based repetition
  bool ok = false;
  std::string error;  // why not ok
  double iops = 0, lat_avg_us = 0, lat_p50_us = 0, lat_p99_us = 0;
  double cpu_s = -1;                // the bench's cpu_s over its timed window; -1: not reported
  double cpu_s_per_mio = -1;        // cpu_s per million I/Os; -1: unknown
  std::uint64_t ios = 0;
  std::vector<std::pair<double, double>> percentiles_us;  // (percentile, us)
  double max_stall_ms = 0;               // the bench's longest gap with I/O outstanding
  std::vector<std::uint64_t> path_ios;   // I/Os per path, in --path order
  Disturbance dist;
  bool disturbed = false;
};

struct CellResult {
  Cell cell;
  std::vector<RunRecord> runs;
};

}  // namespace nvmemp::bench
