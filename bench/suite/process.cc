#include "suite/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace nvmemp::bench {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

volatile std::sig_atomic_t g_interrupted = 0;

void on_signal(int) { g_interrupted = 1; }

constexpr std::size_t kMaxErr = 64 * 1024;

struct Spawned {
  pid_t pid = -1;
  int out = -1;  // read end of the child's stdout
  int err = -1;  // read end of its stderr; -1 when it inherits ours
};

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) {
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

Result<Spawned> spawn(const ChildSpec& spec, bool capture_err) {
  if (spec.argv.empty()) {
    return make_error(Errc::InvalidArgument, "spawn: empty command");
  }
  std::vector<char*> argv;
  for (const auto& a : spec.argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || (capture_err && ::pipe2(err, O_CLOEXEC) != 0)) {
    return make_error(Errc::Io, fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return make_error(Errc::Io, fmt::format("fork for {}: {}", spec.argv[0], std::strerror(errno)));
  }
  if (pid == 0) {
    // The child dies with the suite, even when the suite is killed with SIGKILL.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::dup2(out[1], STDOUT_FILENO);
    if (capture_err) {
      ::dup2(err[1], STDERR_FILENO);
    }
    if (spec.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(spec.cpu, &set);
      if (::sched_setaffinity(0, sizeof set, &set) != 0) {
        write_all(STDERR_FILENO, fmt::format("cannot pin {} to CPU {}: {}\n", spec.argv[0], spec.cpu,
                                             std::strerror(errno)));
        ::_exit(126);
      }
    }
    ::execv(argv[0], argv.data());
    write_all(STDERR_FILENO, fmt::format("cannot run {}: {}\n", spec.argv[0], std::strerror(errno)));
    ::_exit(127);
  }
  ::close(out[1]);
  if (capture_err) {
    ::close(err[1]);
  }
  return Spawned{pid, out[0], capture_err ? err[0] : -1};
}

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

// Waits for `pid` until `deadline`, then kills it and waits for it to go (SIGKILL cannot be
// ignored, so that wait is short; it is bounded all the same).
void reap(pid_t pid, Clock::time_point deadline, ChildResult& r) {
  int status = 0;
  rusage ru{};
  bool killed = false;
  const auto give_up = deadline + 5s;
  for (;;) {
    const pid_t w = ::wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) {
      break;
    }
    if (w < 0 && errno != EINTR) {
      return;  // not our child any more: nothing to reap
    }
    const auto now = Clock::now();
    if (!killed && (now >= deadline || interrupted())) {
      ::kill(pid, SIGKILL);
      killed = true;
      r.timed_out = true;
    }
    if (now >= give_up) {
      return;
    }
    std::this_thread::sleep_for(2ms);
  }
  r.cpu_s = seconds(ru.ru_utime) + seconds(ru.ru_stime);
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
  }
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR and the wait looks at the flag
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_interrupted != 0; }

Result<ChildResult> run_child(const ChildSpec& spec, std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  auto sp = spawn(spec, true);
  if (!sp) {
    return tl::unexpected(sp.error());
  }
  ChildResult r;
  pollfd fds[2] = {{sp->out, POLLIN, 0}, {sp->err, POLLIN, 0}};
  int open_fds = 2;
  char buf[16384];
  while (open_fds > 0 && !interrupted()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      break;
    }
    const int n = ::poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left.count(), 100)));
    if (n < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2 && n > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) {
        continue;
      }
      const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        std::string& dst = i == 0 ? r.out : r.err;
        if (i == 0 || dst.size() < kMaxErr) {
          dst.append(buf, static_cast<std::size_t>(got));
        }
      } else if (got == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) {
      ::close(f.fd);
    }
  }
  reap(sp->pid, interrupted() ? Clock::now() : deadline, r);
  r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

Result<std::unique_ptr<Daemon>> Daemon::start(const ChildSpec& spec, std::chrono::milliseconds ready_timeout,
                                              std::string& first_line) {
  auto sp = spawn(spec, false);
  if (!sp) {
    return tl::unexpected(sp.error());
  }
  std::unique_ptr<Daemon> d(new Daemon(sp->pid, sp->out));
  const auto deadline = Clock::now() + ready_timeout;
  first_line.clear();
  char c = 0;
  while (first_line.empty() || first_line.back() != '\n') {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || interrupted()) {
      return make_error(Errc::Timeout, fmt::format("{} printed no line within {} ms", spec.argv[0],
                                                   ready_timeout.count()));
    }
    pollfd p{d->out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 100))) <= 0) {
      continue;
    }
    const ssize_t n = ::read(d->out_fd_, &c, 1);
    if (n == 0 || (n < 0 && errno != EINTR)) {
      return make_error(Errc::Io, fmt::format("{} exited before it was ready (see its messages above)",
                                              spec.argv[0]));
    }
    if (n == 1 && first_line.size() < 4096) {
      first_line.push_back(c);
    }
  }
  first_line.pop_back();
  return d;
}

Daemon::~Daemon() { stop(); }

bool Daemon::alive() {
  if (pid_ < 0) {
    return false;
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

void Daemon::stop() {
  if (pid_ >= 0) {
    ::kill(pid_, SIGTERM);
    ChildResult ignored;
    reap(pid_, Clock::now() + 2s, ignored);
    pid_ = -1;
  }
  if (out_fd_ >= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
  }
}

}  // namespace nvmemp::bench
