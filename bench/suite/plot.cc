#include "suite/plot.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "suite/process.h"
#include "suite/report.h"

namespace nvmemp::bench {

namespace {

namespace fs = std::filesystem;

std::string find_in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto end = std::min(dirs.find(':', start), dirs.size());
    const std::string cand = dirs.substr(start, end - start) + "/" + name;
    if (end > start && ::access(cand.c_str(), X_OK) == 0) {
      return cand;
    }
    start = end + 1;
  }
  return {};
}

struct Series {
  std::string workload;
  std::string title;
  std::vector<std::pair<double, double>> curve;
};

}  // namespace

std::string draw_latency_png(const SuiteOptions& o, const std::vector<CellResult>& results, const std::string& png) {
  const std::string gnuplot = find_in_path("gnuplot");
  if (gnuplot.empty()) {
    return "gnuplot not found (apt-get install gnuplot-nox, or ./build.sh perf): no PNG drawn";
  }
  const bool compare = o.benches.size() > 1;
  std::vector<Series> series;
  for (const auto& cr : results) {
    const Cell& c = cr.cell;
    if (c.digest != o.digests.front() || c.paths != o.paths.front()) {
      continue;
    }
    auto curve = median_percentiles(cr.runs);
    if (curve.empty()) {
      continue;
    }
    std::string title = fmt::format("{} QD{}", c.mode, c.qd);
    if (compare) {
      title += c.binary == 0 ? " [a]" : " [b]";
    }
    series.push_back(Series{c.workload, title, std::move(curve)});
  }
  if (series.empty()) {
    return "no latency percentiles in the results (a bench older than the suite?): no PNG drawn";
  }
  char dir_template[] = "/tmp/perf_suite.XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) {
    return "cannot make a temporary directory for gnuplot: no PNG drawn";
  }
  const fs::path dir = dir_template;
  {
    std::ofstream data(dir / "latency.dat");
    for (const auto& s : series) {
      data << "# " << s.workload << " " << s.title << "\n";
      for (const auto& [pct, us] : s.curve) {
        data << pct << " " << us << "\n";
      }
      data << "\n\n";  // one gnuplot index per series
    }
  }
  std::vector<std::string> panels;
  for (const auto& s : series) {
    if (std::find(panels.begin(), panels.end(), s.workload) == panels.end()) {
      panels.push_back(s.workload);
    }
  }
  std::string script = fmt::format(
      "set terminal pngcairo size {},520 noenhanced font ',10'\n"
      "set output '{}'\n"
      // Two title lines: one would be wider than a single 560-pixel panel and lose its ends.
      "set multiplot layout 1,{} title \"nvme-mpath bench latency, simulated target (null namespace)\\n"
      "median of {} runs at each percentile\"\n"
      "set logscale x\nset grid\nset xlabel 'latency (us)'\nset ylabel 'percentile'\n"
      "set ytics ('1' 0.00436, '50' 0.30103, '90' 1, '99' 2, '99.9' 3, '99.99' 4)\n"
      "set yrange [0:4.2]\nset key top left\n",
      560 * panels.size(), png, panels.size(), o.runs);
  for (const auto& p : panels) {
    script += fmt::format("set title '{}, digest {}, {} path(s)'\nplot ", p, o.digests.front() ? "on" : "off",
                          o.paths.front());
    bool first = true;
    for (std::size_t i = 0; i < series.size(); ++i) {
      if (series[i].workload != p) {
        continue;
      }
      script += fmt::format("{}'{}' index {} using 2:(-log10(1-$1/100)) with linespoints title '{}'",
                            first ? "" : ", ", (dir / "latency.dat").string(), i, series[i].title);
      first = false;
    }
    script += "\n";
  }
  script += "unset multiplot\n";
  { std::ofstream(dir / "latency.gp") << script; }
  ChildSpec spec;
  spec.argv = {gnuplot, (dir / "latency.gp").string()};
  auto r = run_child(spec, std::chrono::seconds(30));
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!r || r->exit_code != 0) {
    return fmt::format("gnuplot failed ({}): no PNG drawn", r ? r->err : r.error().message);
  }
  return "wrote " + png;
}

}  // namespace nvmemp::bench
