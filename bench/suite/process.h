// Child processes of the benchmark suite (bench/perf_suite.cc): started with fork/exec,
// optionally pinned to one CPU, output captured through pipes. Every wait has a deadline and a
// child still running when it passes is killed; children die with the suite
// (PR_SET_PDEATHSIG) and on Ctrl-C (interrupted() ends every wait, the caller then stops them).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "nvmemp/result.h"

namespace nvmemp::bench {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path
  int cpu = -1;                   // pin the child to this CPU; -1: not pinned
};

struct ChildResult {
  int exit_code = -1;      // -1 when a signal ended it
  int signal = 0;          // the signal that ended it, 0 if it exited
  bool timed_out = false;  // killed at the deadline (or on Ctrl-C)
  std::string out;         // stdout, whole
  std::string err;         // stderr, at most 64 KiB
  double cpu_s = 0;        // its user + system CPU seconds (wait4)
  double wall_s = 0;
};

// SIGINT and SIGTERM set a flag instead of ending the suite, so it can stop its children.
void install_interrupt_handlers();
bool interrupted();

// Runs a child to its end; kills it (SIGKILL) at `timeout` or on Ctrl-C.
Result<ChildResult> run_child(const ChildSpec& spec, std::chrono::milliseconds timeout);

// A child that runs beside the measurements (the simulated target).
class Daemon {
 public:
  // Starts it and waits (bounded) for its first stdout line, which it returns in `first_line`.
  static Result<std::unique_ptr<Daemon>> start(const ChildSpec& spec, std::chrono::milliseconds ready_timeout,
                                               std::string& first_line);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  bool alive();
  // SIGTERM, then SIGKILL after 2 s; reaps it. Idempotent.
  void stop();

 private:
  Daemon(pid_t pid, int out_fd) : pid_(pid), out_fd_(out_fd) {}
  pid_t pid_;
  int out_fd_;
};

}  // namespace nvmemp::bench
