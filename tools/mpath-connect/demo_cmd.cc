// `mpath-connect demo` (./build.sh demo): the whole product on a simulated fabric.
//   1. starts nvme-mpath-simtarget in the background (one subsystem, two ports),
//   2. starts nvme-mpathd with config/demo.toml (connects both paths, exports nsid 1 over NBD),
//   3. prints the topology as `mpath-connect list` does,
//   4. runs write-verify I/O through the NBD export (libnbd, 4 connections) with a live
//      progress line, while it makes the optimized path inaccessible and optimized again, then
//      takes its port down and up; after each event it shows where I/O goes now,
//   5. shows what each event cost (longest I/O), the paths' counters and a summary,
//   6. stops the daemon (SIGTERM: drain, disconnect) and the target; leaves no process behind.
// Exit 0 when no I/O failed and every read matched what was written. About 30 seconds.
#include "demo_cmd.h"

#include <arpa/inet.h>
#include <libnbd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "control_server.h"
#include "daemon_cmds.h"

namespace nvmemp::tools {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// What config/demo.toml names.
constexpr std::uint16_t kPort1 = 14520, kPort2 = 14521, kCtlPort = 14530;
constexpr const char* kDemoDir = "/tmp/nvme-mpath-demo";
constexpr const char* kControlSock = "/tmp/nvme-mpath-demo/control.sock";
constexpr const char* kExportUri = "nbd+unix:///sim-1?socket=/tmp/nvme-mpath-demo/sim-1.sock";
constexpr const char* kExportSock = "/tmp/nvme-mpath-demo/sim-1.sock";

// A child process that is stopped (SIGTERM, then SIGKILL) when this object goes, and dies with
// this process in any case (PR_SET_PDEATHSIG).
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { stop(); }

  bool start(const std::vector<std::string>& argv, const std::string& log_path) {
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);
      if (!log_path.empty()) {
        if (std::FILE* f = std::fopen(log_path.c_str(), "w")) {
          ::dup2(::fileno(f), STDOUT_FILENO);
          ::dup2(::fileno(f), STDERR_FILENO);
        }
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
      ::_exit(127);
    }
    return true;
  }
  bool running() {
    if (pid_ <= 0) return false;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status (-1: killed or unknown).
  int stop(std::chrono::milliseconds grace = 10000ms) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + grace;
    int st = 0;
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      }
      std::this_thread::sleep_for(20ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

// The binaries next to this one: the build tree (tools/mpath-connect/mpath-connect,
// tools/nvme-mpathd/nvme-mpathd, tools/nvme-mpath-simtarget) or an install (one directory).
std::string find_binary(const std::string& name) {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const fs::path& p : {self / name, self.parent_path() / name, self.parent_path() / name / name}) {
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return {};
}

std::string find_demo_config() {
  if (const char* env = std::getenv("NVME_MPATH_DEMO_CONFIG")) return env;
  std::error_code ec;
  for (const fs::path& p : {fs::path("config/demo.toml"), fs::path(NVME_MPATH_SOURCE_DIR) / "config/demo.toml",
                            fs::path("/etc/nvme-mpath/demo.toml")}) {
    if (fs::exists(p, ec)) return p.string();
  }
  return {};
}

// One line to the simulated target's control port; its answer (OK/ERR lines).
Result<std::string> sim_control(const std::string& line) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::Io, std::strerror(errno));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(kCtlPort);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string answer;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    const std::string msg = line + "\n";
    if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(msg.size())) {
      char buf[512];
      while (answer.find("OK") == std::string::npos && answer.find("ERR") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  if (answer.find("OK") != std::string::npos) return answer;
  return make_error(Errc::Io, fmt::format("simulated target control 127.0.0.1:{}: '{}' answered '{}'", kCtlPort, line,
                                          answer));
}

// ---- the I/O: write-verify through the NBD export ----------------------------------------------

struct IoStats {
  std::atomic<std::uint64_t> ios{0}, errors{0}, mismatches{0};
  std::mutex mu;
  std::string first_error;
  struct Slow {
    double at_s;  // when it completed, seconds since the start
    double ms;
  };
  std::vector<Slow> slow;  // I/Os over 20 ms
  std::vector<double> error_at;  // when each failed I/O ended, seconds since the start
};

// One NBD connection: writes a block with a pattern of (block, generation), reads it back and
// checks it, block after block, over its own quarter of the namespace.
void io_worker(unsigned index, unsigned workers, std::atomic<bool>& stop, Clock::time_point t0, IoStats& st) {
  nbd_handle* h = nbd_create();
  auto fail = [&](const std::string& what) {
    st.errors++;
    std::lock_guard<std::mutex> lock(st.mu);
    st.error_at.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    if (st.first_error.empty()) st.first_error = what;
  };
  if (h == nullptr || nbd_connect_uri(h, kExportUri) != 0) {
    fail(fmt::format("NBD connect {}: {}", kExportUri, nbd_get_error()));
    if (h != nullptr) nbd_close(h);
    return;
  }
  constexpr std::size_t kBlock = 65536;
  const auto size = static_cast<std::uint64_t>(nbd_get_size(h));
  const std::uint64_t region = size / workers / kBlock;
  std::vector<std::uint8_t> wbuf(kBlock), rbuf(kBlock);
  for (std::uint64_t gen = 1, i = 0; !stop.load(); ++i) {
    if (i == region) i = 0, ++gen;
    const std::uint64_t off = (index * region + i) * kBlock;
    for (std::size_t k = 0; k < kBlock; k += 8) {
      const std::uint64_t v = (off + k) * 0x9E3779B97F4A7C15ULL ^ gen;
      std::memcpy(&wbuf[k], &v, 8);
    }
    for (int op = 0; op < 2; ++op) {
      const auto a = Clock::now();
      const int rc = op == 0 ? nbd_pwrite(h, wbuf.data(), kBlock, off, 0) : nbd_pread(h, rbuf.data(), kBlock, off, 0);
      const auto b = Clock::now();
      if (rc != 0) {
        fail(fmt::format("NBD {} at {}: {}", op == 0 ? "write" : "read", off, nbd_get_error()));
        break;
      }
      st.ios++;
      const double ms = std::chrono::duration<double, std::milli>(b - a).count();
      if (ms > 20) {
        std::lock_guard<std::mutex> lock(st.mu);
        st.slow.push_back({std::chrono::duration<double>(b - t0).count(), ms});
      }
    }
    if (rbuf != wbuf) st.mismatches++;
  }
  nbd_shutdown(h, 0);
  nbd_close(h);
}

// "127.0.0.1:14521 (non-optimized)" for the paths of head 0 that I/O goes to now.
std::string current_paths() {
  auto l = mpathd::control_request(kControlSock, {{"cmd", "list"}}, 5s);
  if (!l) return "?";
  std::string out;
  for (const auto& h : l->at("heads")) {
    if (h.value("nsid", 0) != 1) continue;
    for (const auto& p : h.at("paths")) {
      if (!p.value("current", false)) continue;
      out += fmt::format("{}{}:{} ({})", out.empty() ? "" : ", ", p.value("traddr", ""), p.value("trsvcid", 0),
                         p.value("ana_state", ""));
    }
  }
  return out.empty() ? "no usable path: I/O is held (no_path_retry queue)" : out;
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

}  // namespace

int run_demo(bool verbose) {
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  const std::string sim_bin = find_binary("nvme-mpath-simtarget");
  const std::string daemon_bin = find_binary("nvme-mpathd");
  const std::string config = find_demo_config();
  if (sim_bin.empty() || daemon_bin.empty() || config.empty()) {
    std::fprintf(stderr, "demo: cannot find %s next to mpath-connect, or config/demo.toml (set "
                 "NVME_MPATH_DEMO_CONFIG): build with ./build.sh demo\n",
                 sim_bin.empty() ? "nvme-mpath-simtarget" : daemon_bin.empty() ? "nvme-mpathd" : "the configuration");
    return 1;
  }
  ::mkdir(kDemoDir, 0755);
  const std::string sim_log = fmt::format("{}/simtarget.log", kDemoDir);
  const std::string daemon_log = fmt::format("{}/nvme-mpathd.log", kDemoDir);

  std::printf("== nvme-mpath demo: a simulated NVMe/TCP target, nvme-mpathd in front of it, I/O through NBD\n");
  Child sim, daemon;
  if (!sim.start({sim_bin, "--port", std::to_string(kPort1), "--port", std::to_string(kPort2), "--ctl-port",
                  std::to_string(kCtlPort)},
                 verbose ? "" : sim_log) ||
      !wait_for([&] { return !sim.running() || sim_control("ping").has_value(); }, 5000ms) || !sim.running()) {
    std::fprintf(stderr, "demo: the simulated target did not start (ports %u, %u, %u taken?): see %s\n", kPort1,
                 kPort2, kCtlPort, sim_log.c_str());
    return 1;
  }
  std::printf("   target:  nvme-mpath-simtarget on 127.0.0.1:%u and :%u (control :%u)\n", kPort1, kPort2, kCtlPort);
  if (!daemon.start({daemon_bin, "--config", config, "--foreground"}, verbose ? "" : daemon_log)) {
    std::fprintf(stderr, "demo: cannot start %s\n", daemon_bin.c_str());
    return 1;
  }
  const bool up = wait_for(
      [&] {
        if (!daemon.running()) return true;
        auto l = mpathd::control_request(kControlSock, {{"cmd", "list"}}, 2s);
        struct stat st {};
        return l && l->at("heads").size() == 2 && l->at("heads")[0].at("paths").size() == 2 &&
               ::stat(kExportSock, &st) == 0;
      },
      15000ms);
  if (!up || !daemon.running()) {
    std::fprintf(stderr, "demo: nvme-mpathd did not come up with both paths: see %s\n", daemon_log.c_str());
    return 1;
  }
  std::printf("   daemon:  nvme-mpathd --config %s (control %s, log %s)\n", config.c_str(), kControlSock,
              verbose ? "stderr" : daemon_log.c_str());
  std::printf("   export:  %s\n", kExportUri);
  if (auto l = mpathd::control_request(kControlSock, {{"cmd", "list"}}, 5s)) {
    std::printf("== topology (mpath-connect list --socket %s):\n%s", kControlSock, list_text(*l).c_str());
  }

  std::printf("== write-verify I/O through the NBD export: 4 clients, 64 KiB blocks (keep-alive timeout 2 s)\n");
  std::printf("   I/O goes to %s\n", current_paths().c_str());
  std::fflush(stdout);
  IoStats st;
  std::atomic<bool> stop{false};
  const auto t0 = Clock::now();
  constexpr unsigned kWorkers = 4;
  std::vector<std::thread> workers;
  for (unsigned i = 0; i < kWorkers; ++i) workers.emplace_back([&, i] { io_worker(i, kWorkers, stop, t0, st); });
  std::atomic<bool> progress_stop{false};
  std::mutex out_mu;
  std::thread progress([&] {
    while (!progress_stop.load()) {
      std::this_thread::sleep_for(1000ms);
      const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      std::lock_guard<std::mutex> lock(out_mu);
      std::printf("%s  [%4.1fs] %7.0f IOPS  %llu I/Os, errors %llu, verify failures %llu   %s", tty ? "\r" : "", secs,
                  static_cast<double>(st.ios.load()) / secs, static_cast<unsigned long long>(st.ios.load()),
                  static_cast<unsigned long long>(st.errors.load()),
                  static_cast<unsigned long long>(st.mismatches.load()), tty ? "" : "\n");
      std::fflush(stdout);
    }
  });

  struct Event {
    std::string what;
    double at_s;
  };
  std::vector<Event> events;
  auto act = [&](std::chrono::milliseconds after, const std::string& what, const std::string& line) {
    std::this_thread::sleep_for(after);
    events.push_back(Event{what, std::chrono::duration<double>(Clock::now() - t0).count()});
    {
      std::lock_guard<std::mutex> lock(out_mu);
      std::printf("%s  -> %s\n", tty ? "\n" : "", what.c_str());
      std::fflush(stdout);
    }
    if (auto r = sim_control(line); !r) std::fprintf(stderr, "demo: %s\n", r.error().message.c_str());
    std::this_thread::sleep_for(1500ms);
    std::lock_guard<std::mutex> lock(out_mu);
    std::printf("%s     I/O goes to %s\n", tty ? "\n" : "", current_paths().c_str());
    std::fflush(stdout);
  };
  act(3000ms, fmt::format("ANA: port {} (optimized) becomes inaccessible", kPort1),
      fmt::format("ana {} 1 inaccessible", kPort1));
  act(1500ms, fmt::format("ANA: port {} optimized again (failback)", kPort1), fmt::format("ana {} 1 optimized", kPort1));
  act(1500ms, fmt::format("port {} goes down", kPort1), fmt::format("port-down {}", kPort1));
  act(3000ms, fmt::format("port {} comes back (reconnect, failback)", kPort1), fmt::format("port-up {}", kPort1));
  std::this_thread::sleep_for(3000ms);
  stop = true;
  for (auto& w : workers) w.join();
  progress_stop = true;
  progress.join();
  std::printf("\n== what each event cost (the longest I/O that ended in the 4 s after it):\n");
  double longest = 0;
  for (const auto& s : st.slow) longest = std::max(longest, s.ms);
  for (const auto& e : events) {
    double worst = 0;
    for (const auto& s : st.slow) {
      if (s.at_s >= e.at_s && s.at_s <= e.at_s + 4) worst = std::max(worst, s.ms);
    }
    const auto errors = std::count_if(st.error_at.begin(), st.error_at.end(),
                                      [&](double t) { return t >= e.at_s && t <= e.at_s + 4; });
    std::printf("  %-50s stall %s, errors %ld\n", e.what.c_str(),
                worst > 0 ? fmt::format("{:.0f} ms", worst).c_str() : "< 20 ms", static_cast<long>(errors));
  }
  std::printf("  (a write in flight on a lost connection waits the keep-alive timeout before it moves: it can\n"
              "   never land late over newer data; reads and new I/O move at once)\n");
  if (auto s = mpathd::control_request(kControlSock, {{"cmd", "list"}}, 5s)) {
    std::printf("== paths at the end (mpath-connect list):\n%s", list_text(*s).c_str());
  }
  std::uint64_t failovers = 0;
  if (auto s = mpathd::control_request(kControlSock, {{"cmd", "stats"}}, 5s)) {
    for (const auto& h : s->at("heads")) failovers += h.value("failovers", 0ULL) + h.value("retries", 0ULL);
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("== summary: %llu I/Os through NBD in %.0f s, %llu failovers/retries in the daemon, errors %llu, "
              "verify failures %llu, longest I/O %.0f ms\n",
              static_cast<unsigned long long>(st.ios.load()), secs, static_cast<unsigned long long>(failovers),
              static_cast<unsigned long long>(st.errors.load()), static_cast<unsigned long long>(st.mismatches.load()),
              longest);
  if (!st.first_error.empty()) std::printf("   first error: %s\n", st.first_error.c_str());
  const int drc = daemon.stop();
  sim.stop();
  std::printf("== stopped nvme-mpathd (exit %d) and the target\n", drc);
  return (st.errors == 0 && st.mismatches == 0 && st.ios > 0 && drc == 0) ? 0 : 1;
}

}  // namespace nvmemp::tools
