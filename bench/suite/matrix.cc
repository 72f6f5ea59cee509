#include "suite/matrix.h"

#include <fmt/format.h>

namespace nvmemp::bench {

namespace {

constexpr WorkloadSpec kWorkloads[] = {
    {"4k-rand", "randread", "4k"},
    {"128k-seq", "read", "128k"},
};

}  // namespace

const WorkloadSpec* find_workload(const std::string& name) {
  for (const auto& w : kWorkloads) {
    if (name == w.name) {
      return &w;
    }
  }
  return nullptr;
}

std::string Cell::name(bool with_binary) const {
  std::string s = fmt::format("{} {} qd{} digest-{} {}-path", mode, workload, qd, digest ? "on" : "off", paths);
  if (with_binary) {
    s += binary == 0 ? " [a]" : " [b]";
  }
  return s;
}

std::vector<Cell> make_cells(const SuiteOptions& o) {
  std::vector<Cell> cells;
  for (const auto& w : o.workloads) {
    for (const bool d : o.digests) {
      for (const int p : o.paths) {
        for (const auto& m : o.modes) {
          for (const auto qd : o.qds) {
            for (std::size_t b = 0; b < o.benches.size(); ++b) {
              cells.push_back(Cell{m, w, qd, d, p, static_cast<int>(b)});
            }
          }
        }
      }
    }
  }
  return cells;
}

}  // namespace nvmemp::bench
