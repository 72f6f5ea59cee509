#include "suite/runner.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "suite/sim_control.h"

namespace nvmemp::bench {

namespace {

using namespace std::chrono_literals;

// "nvme-mpath-simtarget: nqn=... ports=4420,4421" -> {4420, 4421}.
std::vector<std::uint16_t> parse_ports(const std::string& line) {
  std::vector<std::uint16_t> ports;
  const auto at = line.find("ports=");
  if (at == std::string::npos) {
    return ports;
  }
  const char* p = line.data() + at + 6;
  const char* end = line.data() + line.size();
  while (p < end) {
    std::uint16_t v = 0;
    const auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || v == 0) {
      break;
    }
    ports.push_back(v);
    if (next >= end || *next != ',') {
      break;
    }
    p = next + 1;
  }
  return ports;
}

std::string final_line(const std::string& s) {
  std::string t = s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) {
    t.pop_back();
  }
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

}  // namespace

Result<void> Runner::ensure_target() {
  if (target_ && target_->alive()) {
    return {};
  }
  if (target_) {
    std::fprintf(stderr, "perf_suite: the simulated target died; starting it again\n");
  }
  ChildSpec spec;
  spec.argv = {o_.target, "--null", "--nqn", kSuiteNqn, "--port", "0", "--port", "0", "--ctl-port", "0",
               "--namespaces", "1", "--ns-size", "1G", "--lba-size", "4096"};
  spec.argv.insert(spec.argv.end(), o_.target_args.begin(), o_.target_args.end());
  spec.cpu = o_.target_cpu;
  std::string line;
  auto d = Daemon::start(spec, 10s, line);
  if (!d) {
    return tl::unexpected(d.error());
  }
  ports_ = parse_ports(line);
  if (ports_.size() < 2) {
    return make_error(Errc::Malformed, fmt::format("{}: expected two ports in its first line, got '{}'", o_.target,
                                                   line));
  }
  target_ = std::move(*d);
  // The target makes port 2 non-optimized, which would leave the second path idle: both
  // optimized, so two paths share the I/O as the policy says.
  const auto ctl = line.find(" ctl=");
  const int ctl_port = ctl == std::string::npos ? 0 : std::atoi(line.c_str() + ctl + 5);
  if (ctl_port <= 0 || ctl_port > 65535) {
    return make_error(Errc::Malformed, fmt::format("{}: no control port in its first line '{}'", o_.target, line));
  }
  if (auto a = sim_control(static_cast<std::uint16_t>(ctl_port), "ana 2 1 optimized", 5s); !a) {
    return tl::unexpected(a.error());
  }
  return {};
}

std::vector<std::string> Runner::bench_argv(const Cell& c) const {
  const WorkloadSpec* w = find_workload(c.workload);
  std::vector<std::string> a = {o_.benches[static_cast<std::size_t>(c.binary)], "bench"};
  for (int p = 0; p < c.paths; ++p) {
    a.insert(a.end(), {"--path", fmt::format("127.0.0.1:{}", ports_[static_cast<std::size_t>(p)])});
  }
  a.insert(a.end(), {"-n", kSuiteNqn, "--nsid", "1", "-w", w->rw, "--bs", w->bs, "--iodepth", std::to_string(c.qd),
                     "--time", fmt::format("{}", o_.seconds), "-o", "json"});
  if (c.digest) {
    a.emplace_back("--digest");
  }
  if (o_.pass_poll()) {
    a.insert(a.end(), {"--poll", c.mode});
  }
  a.insert(a.end(), o_.bench_args.begin(), o_.bench_args.end());
  return a;
}

RunRecord Runner::run(const Cell& c, int rep) {
  RunRecord r;
  r.rep = rep;
  if (auto t = ensure_target(); !t) {
    r.error = t.error().message;
    return r;
  }
  ChildSpec spec;
  spec.argv = bench_argv(c);
  spec.cpu = o_.bench_cpu;
  // The bench sets up for about a second, runs, then drains; 60 s more is far beyond that.
  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(o_.seconds * 1000) + 60'000);
  const CpuSnapshot before = take_cpu_snapshot();
  auto child = run_child(spec, timeout);
  const CpuSnapshot after = take_cpu_snapshot();
  if (!child) {
    r.error = child.error().message;
    return r;
  }
  r.dist = measure_disturbance(before, after, child->cpu_s, {target_->pid(), ::getpid()});
  r.disturbed = (r.dist.others_cores + r.dist.steal_cores) * 100.0 > o_.disturb_pct;
  if (child->timed_out) {
    r.error = interrupted() ? "interrupted" : fmt::format("no result within {} s: killed", timeout.count() / 1000);
    return r;
  }
  const auto j = nlohmann::json::parse(child->out, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("iops")) {
    r.error = fmt::format("exit {}{}: {}", child->exit_code, child->signal != 0 ? fmt::format(" (signal {})", child->signal) : "",
                          final_line(child->err.empty() ? child->out : child->err));
    return r;
  }
  if (child->exit_code != 0 || j.value("errors", 0) != 0) {
    r.error = fmt::format("{} I/O errors: {}", j.value("errors", 0), j.value("first_error", final_line(child->err)));
    return r;
  }
  r.iops = j.value("iops", 0.0);
  r.ios = j.value("ios", std::uint64_t{0});
  const auto& lat = j["lat_us"];
  r.lat_avg_us = lat.value("avg", 0.0);
  r.lat_p50_us = lat.value("p50", 0.0);
  r.lat_p99_us = lat.value("p99", 0.0);
  // A bench older than the suite prints no cpu_s (nor percentiles): those figures stay unknown.
  if (j.contains("cpu_s") && r.ios > 0) {
    r.cpu_s = j.value("cpu_s", 0.0);
    r.cpu_s_per_mio = r.cpu_s * 1e6 / static_cast<double>(r.ios);
  }
  if (j.contains("lat_percentiles_us")) {
    for (const auto& pr : j["lat_percentiles_us"]) {
      if (pr.is_array() && pr.size() == 2) {
        r.percentiles_us.emplace_back(pr[0].get<double>(), pr[1].get<double>());
      }
    }
  }
  r.max_stall_ms = j.value("max_stall_ms", 0.0);
  if (j.contains("paths") && j["paths"].is_array()) {
    for (const auto& p : j["paths"]) {
      r.path_ios.push_back(p.value("ios", std::uint64_t{0}));
    }
  }
  r.ok = true;
  return r;
}

}  // namespace nvmemp::bench
