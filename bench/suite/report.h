// The suite's results: median [min..max] per figure and cell, a plain-text table with '*' on
// figures that came from a disturbed run, the list of those runs, b/a ratios in compare mode,
// and the same as JSON.
#pragma once

#include <cstdio>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "suite/matrix.h"

namespace nvmemp::bench {

struct Stat {
  int n = 0;  // runs with a value
  double median = 0, min = 0, max = 0;
  bool median_disturbed = false, min_disturbed = false, max_disturbed = false;
};

// Over the cell's successful runs whose value is known (>= 0).
Stat summarize(const std::vector<RunRecord>& runs, double RunRecord::*field);

// Per percentile, the median over the successful runs: the cell's latency curve.
std::vector<std::pair<double, double>> median_percentiles(const std::vector<RunRecord>& runs);

void print_table(std::FILE* out, const SuiteOptions& o, const std::vector<CellResult>& results);

nlohmann::ordered_json results_json(const SuiteOptions& o, const std::vector<CellResult>& results,
                                    const nlohmann::ordered_json& machine);

}  // namespace nvmemp::bench
