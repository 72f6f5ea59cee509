// perf_suite: the benchmark suite of issue 13. Starts the simulated target (null namespace) as
// a process, runs `mpath-connect bench -o json` as one process per run over a matrix of poll
// modes x workloads x queue depths x digests x paths, repetitions alternated round-robin across
// the cells (never all runs of one cell in a row), and reports each figure as median
// [min..max], with '*' on figures from runs another process disturbed. Compare mode
// (--bench-a/--bench-b) alternates two bench binaries cell by cell and prints b/a ratios.
// Run by hand (./build.sh perf [args], or build/bench/perf_suite --help); never a ctest.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "suite/matrix.h"
#include "suite/plot.h"
#include "suite/process.h"
#include "suite/report.h"
#include "suite/runner.h"

namespace {

namespace fs = std::filesystem;
using namespace nvmemp::bench;

// build/bench/perf_suite -> build/
fs::path build_dir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("build") : self.parent_path().parent_path();
}

std::string check_executable(const std::string& what, const std::string& path) {
  if (::access(path.c_str(), X_OK) != 0) {
    return fmt::format("{} '{}' is not an executable file (build first: ./build.sh build)", what, path);
  }
  return {};
}

nlohmann::ordered_json machine_json() {
  utsname u{};
  ::uname(&u);
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  char when[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"date", when}, {"kernel", u.release}, {"cpus", ::sysconf(_SC_NPROCESSORS_ONLN)},
          {"loadavg_at_start", {load[0], load[1], load[2]}}};
}

std::string run_line(const Cell& c, const RunRecord& r, bool compare) {
  if (!r.ok) {
    return fmt::format("{}: FAILED: {}", c.name(compare), r.error);
  }
  return fmt::format("{}: {:.1f}K IOPS, avg {:.1f} us, p99 {:.1f} us, {} CPU s/M I/O{}", c.name(compare),
                     r.iops / 1e3, r.lat_avg_us, r.lat_p99_us,
                     r.cpu_s_per_mio < 0 ? std::string("?") : fmt::format("{:.2f}", r.cpu_s_per_mio),
                     r.disturbed ? fmt::format("  * disturbed: others {:.0f}% of a core ({})",
                                               r.dist.others_cores * 100, r.dist.culprits)
                                 : "");
}

}  // namespace

int main(int argc, char** argv) {
  SuiteOptions o;
  const fs::path build = build_dir();
  o.target = (build / "tools/nvme-mpath-simtarget").string();
  std::string bench = (build / "tools/mpath-connect/mpath-connect").string();
  std::string bench_a, bench_b;
  std::vector<std::string> digests{"off", "on"};
  bool dry_run = false;

  CLI::App app{"perf_suite: mpath-connect bench against the simulated target's null namespace, over a matrix "
               "of cells, runs alternated; prints median [min..max] per figure"};
  app.add_option("--target", o.target, "nvme-mpath-simtarget binary")->capture_default_str();
  app.add_option("--bench", bench, "mpath-connect binary")->capture_default_str();
  app.add_option("--bench-a", bench_a, "compare mode: first mpath-connect binary (e.g. main's build)");
  app.add_option("--bench-b", bench_b, "compare mode: second mpath-connect binary; ratios are b/a");
  app.add_option("--modes", o.modes,
                 "poll modes, comma-separated; --poll MODE goes to the bench unless the list is just 'interrupt'")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--workloads", o.workloads, "4k-rand (randread 4 KiB), 128k-seq (read 128 KiB)")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--qd", o.qds, "queue depths")->delimiter(',')->capture_default_str()->check(CLI::Range(1u, 1024u));
  app.add_option("--digest", digests, "off, on: header and data digests (bench --digest)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "on"}));
  app.add_option("--paths", o.paths, "1, 2: paths (bench --path per target port)")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Range(1, 2));
  app.add_option("--runs", o.runs, "runs per cell")->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--time", o.seconds, "seconds per run")->capture_default_str()->check(CLI::Range(0.5, 3600.0));
  app.add_option("--target-cpu", o.target_cpu, "pin the simulated target to this CPU (it then polls its core)")
      ->check(CLI::Range(0, 4095));
  app.add_option("--bench-cpu", o.bench_cpu, "pin each bench process to this CPU")->check(CLI::Range(0, 4095));
  app.add_option("--disturb-pct", o.disturb_pct,
                 "a run is disturbed when other processes used more than this % of one core meanwhile")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10000.0));
  app.add_option("--target-arg", o.target_args, "extra simulated target argument (repeatable)")->allow_extra_args(false);
  app.add_option("--bench-arg", o.bench_args, "extra bench argument, e.g. --bench-arg=--policy=round-robin (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--json", o.json_path, "write the results as JSON here");
  app.add_option("--png", o.png_path, "draw the latency distributions here (gnuplot)");
  app.add_flag("--dry-run", dry_run, "print the cells and bench command lines, run nothing");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (bench_a.empty() != bench_b.empty()) {
    std::fprintf(stderr, "perf_suite: compare mode needs both --bench-a and --bench-b\n");
    return 2;
  }
  o.benches = bench_a.empty() ? std::vector<std::string>{bench} : std::vector<std::string>{bench_a, bench_b};
  o.digests.clear();
  for (const auto& d : digests) {
    o.digests.push_back(d == "on");
  }
  for (const auto& w : o.workloads) {
    if (find_workload(w) == nullptr) {
      std::fprintf(stderr, "perf_suite: --workloads: unknown '%s' (4k-rand, 128k-seq)\n", w.c_str());
      return 2;
    }
  }
  if (o.modes.empty() || o.workloads.empty() || o.qds.empty() || o.digests.empty() || o.paths.empty()) {
    std::fprintf(stderr, "perf_suite: every list (--modes, --workloads, --qd, --digest, --paths) needs a value\n");
    return 2;
  }
  std::vector<std::string> bad{check_executable("--target", o.target)};
  for (const auto& b : o.benches) {
    bad.push_back(check_executable("bench", b));
  }
  for (const auto& m : bad) {
    if (!m.empty()) {
      std::fprintf(stderr, "perf_suite: %s\n", m.c_str());
      return 2;
    }
  }

  const std::vector<Cell> cells = make_cells(o);
  const bool compare = o.benches.size() > 1;
  std::vector<CellResult> results;
  for (const auto& c : cells) {
    results.push_back(CellResult{c, {}});
  }
  std::fprintf(stderr, "perf_suite: %zu cells x %d runs x %.1f s: about %.1f minutes\n", cells.size(), o.runs,
               o.seconds, static_cast<double>(cells.size()) * o.runs * (o.seconds + 1.5) / 60.0);

  install_interrupt_handlers();
  Runner runner(o);
  if (auto t = runner.ensure_target(); !t) {
    std::fprintf(stderr, "perf_suite: cannot start the simulated target: %s\n", t.error().message.c_str());
    return 1;
  }
  if (dry_run) {
    for (const auto& c : cells) {
      std::printf("%s: %s\n", c.name(compare).c_str(), fmt::format("{}", fmt::join(runner.bench_argv(c), " ")).c_str());
    }
    runner.stop();
    return 0;
  }
  nlohmann::ordered_json machine = machine_json();
  for (int rep = 1; rep <= o.runs && !interrupted(); ++rep) {
    // Round-robin: every cell once per repetition, so slow drifts of the machine hit all alike.
    for (std::size_t i = 0; i < cells.size() && !interrupted(); ++i) {
      RunRecord r = runner.run(cells[i], rep);
      std::fprintf(stderr, "[run %d/%d, cell %zu/%zu] %s\n", rep, o.runs, i + 1, cells.size(),
                   run_line(cells[i], r, compare).c_str());
      results[i].runs.push_back(std::move(r));
    }
  }
  runner.stop();
  double load[3] = {0, 0, 0};
  ::getloadavg(load, 3);
  machine["loadavg_at_end"] = {load[0], load[1], load[2]};
  if (interrupted()) {
    std::fprintf(stderr, "perf_suite: interrupted; the target is stopped; results so far:\n");
  }
  print_table(stdout, o, results);
  std::fflush(stdout);
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path);
    f << results_json(o, results, machine).dump(1) << "\n";
    std::fprintf(stderr, "perf_suite: %s %s\n", f ? "wrote" : "cannot write", o.json_path.c_str());
  }
  if (!o.png_path.empty()) {
    std::fprintf(stderr, "perf_suite: %s\n", draw_latency_png(o, results, o.png_path).c_str());
  }
  return interrupted() ? 130 : 0;
}
