// nvme-mpathd against the simulated target: started from a configuration, `list` matches the
// topology, reload adds a path under I/O with no error, a broken configuration is reported with
// its line and the running one stays, and the binary talks to systemd through NOTIFY_SOCKET.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "control_server.h"
#include "daemon.h"
#include "sim_support.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

std::string temp_dir() {
  const std::string d = fmt::format("/tmp/nvme-mpathd-test-{}", ::getpid());
  ::mkdir(d.c_str(), 0755);
  return d;
}

std::string config_text(const sim::SimTarget& sim, std::size_t nports, const std::string& sock, bool broken = false) {
  std::string s = fmt::format(
      "[host]\nhostnqn = \"{}\"\n[defaults]\nkeep_alive_tmo = 2\nreconnect_delay = 1\n[daemon]\n"
      "control_socket = \"{}\"\n[[subsystem]]\nnqn = \"{}\"\n",
      kTestHostNqn, sock, sim.nqn());
  for (std::size_t i = 0; i < nports; ++i) {
    s += fmt::format("[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n", sim.ports()[i]);
  }
  if (broken) s += "keep_alive_tmo = \"five\"\n";
  return s;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
}

}  // namespace

TEST_CASE("nvme-mpathd: list from a config, reload adds a path under I/O, a broken reload keeps the running config",
          "[daemon]") {
  auto sim = start_sim();
  const std::string dir = temp_dir();
  const std::string cfg_path = dir + "/mpath.toml";
  const std::string sock = dir + "/control.sock";
  write_file(cfg_path, config_text(*sim, 1, sock));
  auto cfg = mpathd::load_config(cfg_path);
  REQUIRE(cfg.has_value());
  auto d = mpathd::Daemon::start(*cfg, cfg_path);
  REQUIRE(d.has_value());
  auto srv = mpathd::ControlServer::listen(sock, [&](const nlohmann::json& r, const mpathd::Peer& p) {
    return mpathd::handle_control((*d)->control(), r, p);
  });
  REQUIRE(srv.has_value());
  std::atomic<bool> stop{false};
  std::thread server([&] {
    while (!stop) {
      srv->poll_once(20ms);
      (*d)->tick();
    }
  });
  auto list = mpathd::control_request(sock, {{"cmd", "list"}}, 5s);
  REQUIRE(list.has_value());
  REQUIRE(list->at("heads").size() == 2);
  CHECK(list->at("heads").at(0).at("paths").size() == 1);

  // I/O on head 1 while the reload adds the second path.
  auto head = (*d)->fabric().find_head(sim->nqn(), 1);
  REQUIRE(head.has_value());
  std::atomic<int> errors{0};
  std::atomic<int> done{0};
  std::atomic<bool> io_stop{false};
  std::thread io([&] {
    auto ctx = (*d)->fabric().create_io_context();
    REQUIRE(ctx.has_value());
    std::vector<std::uint8_t> buf(head->block_size * 8, 0x5A);
    struct Arg {
      std::atomic<int>* errors;
      std::atomic<int>* done;
      bool busy = false;
    } arg{&errors, &done};
    auto cb = [](void* a, const IoResult& r) {
      auto* x = static_cast<Arg*>(a);
      if (!r.status.ok()) ++*x->errors;
      ++*x->done;
      x->busy = false;
    };
    std::uint64_t lba = 0;
    while (!io_stop) {
      if (!arg.busy) {
        arg.busy = true;
        REQUIRE((*ctx)->write(head->id, lba, 8, buf, cb, &arg).has_value());
        lba = (lba + 8) % 4096;
      }
      (void)(*ctx)->poll(1ms);
    }
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (arg.busy && std::chrono::steady_clock::now() < until) (void)(*ctx)->poll(1ms);
  });
  std::this_thread::sleep_for(500ms);
  write_file(cfg_path, config_text(*sim, 2, sock));
  auto rl = mpathd::control_request(sock, {{"cmd", "reload"}}, 30s);
  REQUIRE(rl.has_value());
  CHECK(rl->value("ok", false));
  list = mpathd::control_request(sock, {{"cmd", "list"}}, 5s);
  REQUIRE(list.has_value());
  CHECK(list->at("heads").at(0).at("paths").size() == 2);

  // A broken file: the error names file:line:col; the running configuration stays.
  write_file(cfg_path, config_text(*sim, 1, sock, true));
  rl = mpathd::control_request(sock, {{"cmd", "reload"}}, 30s);
  REQUIRE(rl.has_value());
  INFO(rl->dump());
  CHECK_THAT(rl->at("error").get<std::string>(), Catch::Contains(cfg_path + ":") && Catch::Contains("keep_alive_tmo"));
  list = mpathd::control_request(sock, {{"cmd", "list"}}, 5s);
  CHECK(list->at("heads").at(0).at("paths").size() == 2);

  std::this_thread::sleep_for(500ms);
  io_stop = true;
  io.join();
  CHECK(errors == 0);
  CHECK(done > 50);
  stop = true;
  server.join();
}

TEST_CASE("nvme-mpathd refuses a discovery.conf entry with another host identity", "[daemon]") {
  mpathd::DaemonConfig cfg;
  cfg.fabric.hostnqn = kTestHostNqn;
  mpathd::DiscoveryConfig dc;
  dc.endpoint = Endpoint{"127.0.0.1", 8009, "", ""};
  dc.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-0000000000ff";
  dc.origin = "/etc/nvme/discovery.conf:3";
  cfg.discovery.push_back(dc);
  auto d = mpathd::Daemon::start(cfg, "");
  REQUIRE_FALSE(d.has_value());
  CHECK_THAT(d.error().message, Catch::Contains("/etc/nvme/discovery.conf:3") && Catch::Contains("one host identity"));
}

TEST_CASE("nvme-mpathd binary: READY=1 through NOTIFY_SOCKET, clean stop on SIGTERM, bad config refused",
          "[daemon]") {
  auto sim = start_sim();
  const std::string dir = temp_dir();
  const std::string cfg_path = dir + "/bin.toml";
  const std::string sock = dir + "/bin-control.sock";
  const std::string notify = dir + "/notify.sock";

  // A broken file: exit 1 with file:line:col on stderr, nothing started.
  write_file(cfg_path, config_text(*sim, 2, sock, true));
  {
    const std::string cmd = fmt::format("{} --config {} 2>&1", NVME_MPATHD_BIN, cfg_path);
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[1024];
    while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
    const int st = ::pclose(p);
    CHECK(WEXITSTATUS(st) == 1);
    CHECK_THAT(out, Catch::Contains(cfg_path + ":") && Catch::Contains("keep_alive_tmo"));
  }

  write_file(cfg_path, config_text(*sim, 2, sock));
  const int nfd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", notify.c_str());
  ::unlink(notify.c_str());
  REQUIRE(::bind(nfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::setenv("NOTIFY_SOCKET", notify.c_str(), 1);
    ::execl(NVME_MPATHD_BIN, NVME_MPATHD_BIN, "--config", cfg_path.c_str(), "--foreground", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // A failed REQUIRE below must not leave the daemon running with no bound.
  struct KillUnlessReaped {
    pid_t pid;
    bool reaped = false;
    ~KillUnlessReaped() {
      if (!reaped) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
    }
  } guard{pid};
  std::string msgs;
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (msgs.find("READY=1") == std::string::npos && std::chrono::steady_clock::now() < until) {
    char buf[4096];
    const ssize_t n = ::recv(nfd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) msgs.append(buf, static_cast<std::size_t>(n)).append("\n");
    std::this_thread::sleep_for(10ms);
  }
  CHECK_THAT(msgs, Catch::Contains("READY=1") && Catch::Contains("STATUS=2 namespace head(s), 2/2 path(s) live"));
  // The CLI as a user runs it.
  const auto cli = [&](const std::string& args) {
    const std::string cmd = fmt::format("{} {} --socket {}", MPATH_CONNECT_BIN, args, sock);
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[4096];
    while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
    CHECK(::pclose(p) == 0);
    return out;
  };
  {
    auto j = nlohmann::json::parse(cli("list -o json"), nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    CHECK(j.at("heads").size() == 2);
    // stats as text: each path's totals, then each head with its namespace's counts per path.
    const std::string stats = cli("stats");
    INFO(stats);
    std::size_t ns_lines = 0;
    for (std::size_t at = stats.find("\n  path "); at != std::string::npos; at = stats.find("\n  path ", at + 1)) {
      ++ns_lines;
    }
    CHECK(ns_lines == 2 * 2);  // two heads, two paths each
    CHECK_THAT(stats, Catch::Contains(": ios 0 bytes 0 errors 0 failovers 0 retries 0\n"));
  }
  ::kill(pid, SIGTERM);
  int st = 0;
  const auto stop_until = std::chrono::steady_clock::now() + 20s;
  pid_t w = 0;
  while ((w = ::waitpid(pid, &st, WNOHANG)) == 0 && std::chrono::steady_clock::now() < stop_until) {
    std::this_thread::sleep_for(20ms);
  }
  if (w == 0) ::kill(pid, SIGKILL), ::waitpid(pid, &st, 0);
  guard.reaped = true;
  CHECK(w == pid);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(nfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) msgs.append(buf, static_cast<std::size_t>(n));
  CHECK_THAT(msgs, Catch::Contains("STOPPING=1"));
  ::close(nfd);
}

TEST_CASE("nvme-mpathd: a [[subsystem]]'s own knobs override [defaults] (connection and I/O rules)", "[daemon]") {
  auto sim = start_sim();
  const std::string dir = temp_dir();
  write_file(dir + "/knobs.toml",
             fmt::format("[host]\nhostnqn = \"{}\"\n[defaults]\nkeep_alive_tmo = 2\nreconnect_delay = 1\n"
                         "no_path_retry = \"queue\"\n[daemon]\ncontrol_socket = \"{}/knobs.sock\"\n[[subsystem]]\n"
                         "nqn = \"{}\"\nkeep_alive_tmo = 7\nno_path_retry = \"fail\"\n[[subsystem.path]]\n"
                         "traddr = \"127.0.0.1\"\ntrsvcid = {}\n",
                         kTestHostNqn, dir, sim->nqn(), sim->ports()[0]));
  auto cfg = mpathd::load_config(dir + "/knobs.toml");
  REQUIRE(cfg.has_value());
  auto d = mpathd::Daemon::start(*cfg, dir + "/knobs.toml");
  REQUIRE(d.has_value());
  // The connection uses the subsystem's keep-alive timeout (the target sees KATO 7000 ms).
  auto st = sim->control("status");
  REQUIRE(st.has_value());
  CHECK_THAT(*st, Catch::Contains("nvm host=" + std::string(kTestHostNqn) + " kato=7000"));
  // Its heads fail I/O at once with no usable path (no_path_retry fail), where the default
  // (queue) would hold it.
  auto head = (*d)->fabric().find_head(sim->nqn(), 1);
  REQUIRE(head.has_value());
  auto io = (*d)->fabric().create_io_context();
  REQUIRE(io.has_value());
  REQUIRE(sim->control("port-down 1").has_value());
  std::vector<std::uint8_t> buf(head->block_size);
  struct Done {
    bool done = false;
    IoResult r;
    std::string error;
  } done;
  const auto t0 = std::chrono::steady_clock::now();
  // Wait until the context sees the path down, then read.
  for (int i = 0; i < 100 && (*io)->ready(head->id); ++i) (void)(*io)->poll(20ms);
  REQUIRE((*io)->read(head->id, 0, 1, buf, [](void* a, const IoResult& r) {
    auto* x = static_cast<Done*>(a);
    x->done = true;
    x->r = r;
    x->error = r.error != nullptr ? r.error : "";
  }, &done).has_value());
  while (!done.done && std::chrono::steady_clock::now() - t0 < 10s) (void)(*io)->poll(20ms);
  REQUIRE(done.done);
  CHECK_FALSE(done.r.status.ok());
  CHECK_THAT(done.error, Catch::Contains("no_path_retry fail"));
  io->reset();
}

}  // namespace nvmemp::test
