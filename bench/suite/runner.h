// Runs the suite's cells: one simulated target process (null namespace, two ports on
// 127.0.0.1) for the whole sitting, and one `mpath-connect bench -o json` process per run.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "nvmemp/result.h"
#include "suite/matrix.h"
#include "suite/process.h"

namespace nvmemp::bench {

inline constexpr const char* kSuiteNqn = "nqn.2026-01.io.example:perf-suite";

class Runner {
 public:
  explicit Runner(const SuiteOptions& o) : o_(o) {}
  // Starts the target (again, when it died) and learns its ports.
  Result<void> ensure_target();
  // One run of `c`; never throws, a failure is a record with ok = false.
  RunRecord run(const Cell& c, int rep);
  void stop() { target_.reset(); }
  const std::vector<std::uint16_t>& ports() const { return ports_; }
  // The bench command line of a run of `c` (the target must be up: it names its ports).
  std::vector<std::string> bench_argv(const Cell& c) const;

 private:
  const SuiteOptions& o_;
  std::unique_ptr<Daemon> target_;
  std::vector<std::uint16_t> ports_;
};

}  // namespace nvmemp::bench
