// Was a run disturbed? CPU time of the whole machine (/proc/stat) and of every process
// (/proc/PID/stat) before and after a run: what the machine used beyond the suite's own
// processes (the simulated target, the bench, the suite) is another process's load that shared
// the cores with the measurement.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace nvmemp::bench {

struct ProcCpu {
  std::string comm;
  double cpu_s = 0;  // user + system
};

struct CpuSnapshot {
  std::chrono::steady_clock::time_point at;
  double busy_s = 0;   // user + nice + system of every CPU (idle, iowait, irq, softirq, steal left out)
  double steal_s = 0;  // time the hypervisor gave our virtual CPUs to someone else
  std::map<pid_t, ProcCpu> procs;
};

CpuSnapshot take_cpu_snapshot();

struct Disturbance {
  double wall_s = 0;
  double others_cores = 0;  // CPU seconds of other processes per wall second (1.0 = one core)
  double steal_cores = 0;
  std::string culprits;     // the largest other consumers, e.g. "cc1plus 0.62, as 0.05"
};

// `ours_s`: CPU seconds of processes that ended between the snapshots and belong to the run
// (the bench, from wait4); `ours`: pids alive in both whose time is the run's too (the target,
// the suite).
Disturbance measure_disturbance(const CpuSnapshot& before, const CpuSnapshot& after, double ours_s,
                                const std::vector<pid_t>& ours);

}  // namespace nvmemp::bench
