#include "suite/cpu_sample.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace nvmemp::bench {

namespace {

double ticks_per_s() {
  static const double hz = [] {
    const long t = ::sysconf(_SC_CLK_TCK);
    return t > 0 ? static_cast<double>(t) : 100.0;
  }();
  return hz;
}

// comm and utime + stime of /proc/PID/stat; false when the process is gone or unreadable.
bool read_proc(pid_t pid, ProcCpu& out) {
  std::ifstream f(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(f, line)) {
    return false;
  }
  // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: split at the last ')'.
  const auto open = line.find('(');
  const auto close = line.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return false;
  }
  out.comm = line.substr(open + 1, close - open - 1);
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  // After comm: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15).
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) {
      utime = std::strtod(field.c_str(), nullptr);
    } else if (i == 15) {
      stime = std::strtod(field.c_str(), nullptr);
    }
  }
  out.cpu_s = (utime + stime) / ticks_per_s();
  return true;
}

}  // namespace

CpuSnapshot take_cpu_snapshot() {
  CpuSnapshot s;
  s.at = std::chrono::steady_clock::now();
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal && cpu == "cpu") {
    s.busy_s = (user + nice + system) / ticks_per_s();
    s.steal_s = steal / ticks_per_s();
  }
  DIR* d = ::opendir("/proc");
  if (d == nullptr) {
    return s;
  }
  for (int n = 0; n < 100000; ++n) {  // bounded: /proc lists each process once
    const dirent* e = ::readdir(d);
    if (e == nullptr) {
      break;
    }
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    ProcCpu p;
    if (pid > 0 && *end == '\0' && read_proc(static_cast<pid_t>(pid), p)) {
      s.procs.emplace(static_cast<pid_t>(pid), std::move(p));
    }
  }
  ::closedir(d);
  return s;
}

Disturbance measure_disturbance(const CpuSnapshot& before, const CpuSnapshot& after, double ours_s,
                                const std::vector<pid_t>& ours) {
  Disturbance r;
  r.wall_s = std::chrono::duration<double>(after.at - before.at).count();
  if (r.wall_s <= 0) {
    return r;
  }
  double ours_total = ours_s;
  std::vector<std::pair<double, std::string>> others;  // per command name
  std::map<std::string, double> by_comm;
  for (const auto& [pid, p] : after.procs) {
    auto it = before.procs.find(pid);
    // A process that started during the run counts whole (its comm must match: pids are reused).
    const double used = it != before.procs.end() && it->second.comm == p.comm ? p.cpu_s - it->second.cpu_s : p.cpu_s;
    if (std::find(ours.begin(), ours.end(), pid) != ours.end()) {
      ours_total += used;
    } else if (used > 0) {
      by_comm[p.comm] += used;
    }
  }
  const double others_s = std::max(0.0, after.busy_s - before.busy_s - ours_total);
  r.others_cores = others_s / r.wall_s;
  r.steal_cores = std::max(0.0, after.steal_s - before.steal_s) / r.wall_s;
  for (const auto& [comm, s] : by_comm) {
    others.emplace_back(s, comm);
  }
  std::sort(others.begin(), others.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  double named = 0;
  for (std::size_t i = 0; i < others.size() && i < 3; ++i) {
    r.culprits += fmt::format("{}{} {:.2f}", r.culprits.empty() ? "" : ", ", others[i].second, others[i].first / r.wall_s);
    named += others[i].first;
  }
  // Processes that came and went between the snapshots (compiler jobs) are in /proc/stat only.
  if (others_s - named > 0.05 * r.wall_s) {
    r.culprits += fmt::format("{}short-lived {:.2f}", r.culprits.empty() ? "" : ", ", (others_s - named) / r.wall_s);
  }
  return r;
}

}  // namespace nvmemp::bench
