// The latency distributions as one PNG drawn by gnuplot (Debian: gnuplot-nox): a panel per
// workload, a line per poll mode and queue depth (and bench binary in compare mode) with the
// median latency at each percentile, at the first digest and path setting of the matrix.
// Without gnuplot the suite says so and draws nothing; a plot never fails the suite.
#pragma once

#include <string>
#include <vector>

#include "suite/matrix.h"

namespace nvmemp::bench {

// Returns what happened, for one line of output ("wrote PATH", or why not).
std::string draw_latency_png(const SuiteOptions& o, const std::vector<CellResult>& results, const std::string& png);

}  // namespace nvmemp::bench
