// nvme-mpathd --config FILE [--socket PATH] [--foreground]
//
// The service: connects what the configuration names, reconnects, serves the control socket,
// re-reads the configuration on SIGHUP, stops cleanly on SIGTERM/SIGINT. Talks to systemd with
// sd_notify (READY=1, STATUS=..., RELOADING=1, STOPPING=1) when NOTIFY_SOCKET is set.
// One event per log line, with path and reason; under journald the lines carry priorities.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <systemd/sd-daemon.h>

#include "common/log.h"
#include "config.h"
#include "control_server.h"
#include "daemon.h"

using namespace nvmemp;
using namespace std::chrono_literals;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

void on_signal(int sig) {
  if (sig == SIGHUP) {
    g_reload = true;
  } else {
    g_stop = true;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nvme-mpathd: NVMe/TCP multipath topology service (nvme-mpath)"};
  std::string config_path = "/etc/nvme-mpath/nvme-mpath.toml";
  std::string socket;
  bool foreground = false;
  bool verbose = false;
  app.add_option("-c,--config", config_path, "TOML fabric configuration")->capture_default_str();
  app.add_option("--socket", socket, "control socket (default: the configuration's, /run/nvme-mpath/control.sock)");
  app.add_flag("--foreground", foreground, "stay in the foreground (systemd runs it so; the only mode for now)");
  app.add_flag("-v,--verbose", verbose, "log informational events too");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  (void)foreground;  // no self-daemonizing: systemd (Type=notify) or the shell keeps it
  set_log_level(verbose ? LogLevel::Info : LogLevel::Warn);

  auto cfg = mpathd::load_config(config_path);
  if (!cfg) {
    std::fprintf(stderr, "nvme-mpathd: %s\n", cfg.error().message.c_str());
    return 1;
  }
  if (!socket.empty()) cfg->control_socket = socket;

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto d = mpathd::Daemon::start(*cfg, config_path);
  if (!d) {
    std::fprintf(stderr, "nvme-mpathd: %s\n", d.error().message.c_str());
    return 1;
  }
  mpathd::Daemon& daemon = **d;
  auto srv = mpathd::ControlServer::listen(cfg->control_socket, [&daemon](const nlohmann::json& req,
                                                                         const mpathd::Peer& peer) {
    return mpathd::handle_control(daemon.control(), req, peer);
  });
  if (!srv) {
    std::fprintf(stderr, "nvme-mpathd: %s\n", srv.error().message.c_str());
    return 1;
  }
  log(LogLevel::Warn, "nvme-mpathd: started with {}; control socket {}; {}", config_path, srv->path(),
      daemon.status());
  sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%lu", daemon.status().c_str(), static_cast<unsigned long>(::getpid()));

  auto next_status = std::chrono::steady_clock::now() + 10s;
  while (!g_stop.load()) {
    srv->poll_once(100ms);
    daemon.tick();
    if (g_reload.exchange(false)) {
      sd_notify(0, "RELOADING=1");
      if (auto r = daemon.reload(); !r) {
        log(LogLevel::Error, "nvme-mpathd: reload refused, the running configuration stays: {}", r.error().message);
      }
      sd_notifyf(0, "READY=1\nSTATUS=%s", daemon.status().c_str());
    }
    if (std::chrono::steady_clock::now() >= next_status) {
      sd_notifyf(0, "STATUS=%s", daemon.status().c_str());
      next_status += 10s;
    }
  }
  sd_notify(0, "STOPPING=1\nSTATUS=draining the NBD exports, then disconnecting");
  log(LogLevel::Warn, "nvme-mpathd: stopping: draining the NBD exports, then disconnecting every path");
  daemon.stop_exports();
  d->reset();  // Fabric's destructor shuts every controller down in order
  return 0;
}
