// nvme-mpath-tls-relay: a TLS 1.3 PSK server (OpenSSL 3, written independently of the
// initiator's TLS code) in front of plain NVMe/TCP ports, so that our TLS client can be tested
// against targets that do not speak TLS (the real-target VM's nvmet, the simulated target).
//
//   nvme-mpath-tls-relay --psk-file FILE --listen 127.0.0.1:0=127.0.0.1:4420 [--listen ...] [--log]
//
// Each --listen binds LISTEN_ADDR:PORT (0: ephemeral) and relays every connection made there,
// once its TLS handshake is done, to BACKEND_HOST:PORT over plain TCP. Once every listener is
// bound it prints one "listening ADDR:PORT -> BACKEND" line each on stdout (the port chosen),
// then, with --log, one line per connection when it ends (identity, suite, bytes each way, why
// it ended). The PSK file holds "<identity> <hex TLS PSK>" lines (psk_table.h): the relay
// derives nothing. Runs until SIGTERM or SIGINT, then closes every connection and exits 0.
// Exit 2: bad arguments or PSK file; 1: a listener could not be set up.
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "psk_table.h"
#include "relay_conn.h"
#include "tls_server.h"

namespace tls_relay {
namespace {

struct Listener {
  int fd = -1;
  Backend backend;
  std::string name;  // the bound address, "127.0.0.1:40123"
};

struct Worker {
  std::thread thread;
  std::shared_ptr<std::atomic<bool>> done;
};

// "HOST:PORT" or "[V6]:PORT" -> host, port text.
tl::expected<std::pair<std::string, std::string>, std::string> split_host_port(const std::string& text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size() || colon == 0) {
    return tl::unexpected(fmt::format("\"{}\": expected HOST:PORT", text));
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return std::make_pair(host, text.substr(colon + 1));
}

tl::expected<addrinfo*, std::string> resolve(const std::string& text, bool passive) {
  auto hp = split_host_port(text);
  if (!hp) return tl::unexpected(hp.error());
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE | AI_NUMERICHOST : 0);
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(hp->first.c_str(), hp->second.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) return tl::unexpected(fmt::format("\"{}\": {}", text, ::gai_strerror(rc)));
  return res;
}

// One "--listen LISTEN=BACKEND": bound and listening, backend resolved.
tl::expected<Listener, std::string> open_listener(const std::string& spec) {
  const std::size_t eq = spec.find('=');
  if (eq == std::string::npos) {
    return tl::unexpected(fmt::format("--listen {}: expected LISTEN_ADDR:PORT=BACKEND_HOST:PORT", spec));
  }
  Listener l;
  auto back = resolve(spec.substr(eq + 1), false);
  if (!back) return tl::unexpected("--listen backend " + back.error());
  std::memcpy(&l.backend.addr, (*back)->ai_addr, (*back)->ai_addrlen);
  l.backend.addr_len = (*back)->ai_addrlen;
  l.backend.name = sockaddr_name((*back)->ai_addr);
  ::freeaddrinfo(*back);
  auto local = resolve(spec.substr(0, eq), true);
  if (!local) return tl::unexpected("--listen " + local.error());
  const addrinfo* a = *local;
  l.fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  std::string error;
  if (l.fd < 0 || ::setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(l.fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(l.fd, 128) != 0) {
    error = fmt::format("--listen {}: {}", spec.substr(0, eq), std::strerror(errno));
  }
  ::freeaddrinfo(*local);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  if (error.empty() && ::getsockname(l.fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
    error = fmt::format("--listen {}: getsockname: {}", spec.substr(0, eq), std::strerror(errno));
  }
  if (!error.empty()) {
    if (l.fd >= 0) ::close(l.fd);
    return tl::unexpected(error);
  }
  l.name = sockaddr_name(reinterpret_cast<sockaddr*>(&bound));
  return l;
}

void reap(std::list<Worker>& workers, bool all) {
  for (auto it = workers.begin(); it != workers.end();) {
    if (all || it->done->load()) {
      it->thread.join();
      it = workers.erase(it);
    } else {
      ++it;
    }
  }
}

struct Options {
  std::vector<std::string> listen;
  std::string psk_file;
  bool log = false;
  unsigned max_conns = 256;
  unsigned handshake_timeout_ms = 10000;
  unsigned connect_timeout_ms = 5000;
};

int run(const Options& o) {
  auto table = PskTable::load(o.psk_file);
  if (!table) {
    std::fprintf(stderr, "nvme-mpath-tls-relay: %s\n", table.error().c_str());
    return 2;
  }
  auto ctx = make_server_ctx(*table);
  if (!ctx) {
    std::fprintf(stderr, "nvme-mpath-tls-relay: %s\n", ctx.error().c_str());
    return 1;
  }
  // SIGTERM/SIGINT arrive through a signalfd in the accept loop (blocked in every thread, as
  // the workers inherit this mask); a peer that goes away must not kill us with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const int sfd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    std::fprintf(stderr, "nvme-mpath-tls-relay: signalfd: %s\n", std::strerror(errno));
    return 1;
  }
  std::vector<Listener> listeners;
  for (const auto& spec : o.listen) {
    auto l = open_listener(spec);
    if (!l) {
      std::fprintf(stderr, "nvme-mpath-tls-relay: %s\n", l.error().c_str());
      for (auto& x : listeners) ::close(x.fd);
      return 1;
    }
    listeners.push_back(std::move(*l));
  }
  for (const auto& l : listeners) std::printf("listening %s -> %s\n", l.name.c_str(), l.backend.name.c_str());
  std::fflush(stdout);

  const ConnLimits limits{std::chrono::milliseconds(o.handshake_timeout_ms),
                          std::chrono::milliseconds(o.connect_timeout_ms), std::chrono::milliseconds(3000)};
  LineLog log(o.log);
  std::atomic<bool> stop{false};
  std::list<Worker> workers;
  std::uint64_t next_id = 1;
  std::vector<pollfd> fds;
  for (const auto& l : listeners) fds.push_back(pollfd{l.fd, POLLIN, 0});
  fds.push_back(pollfd{sfd, POLLIN, 0});
  while (!stop.load()) {
    reap(workers, false);
    if (::poll(fds.data(), fds.size(), 500) < 0 && errno != EINTR) {
      std::fprintf(stderr, "nvme-mpath-tls-relay: poll: %s\n", std::strerror(errno));
      break;
    }
    if ((fds.back().revents & POLLIN) != 0) break;  // SIGTERM or SIGINT
    for (std::size_t i = 0; i < listeners.size(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      sockaddr_storage peer{};
      socklen_t plen = sizeof peer;
      const int cfd = ::accept4(listeners[i].fd, reinterpret_cast<sockaddr*>(&peer), &plen,
                                SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (cfd < 0) {
        // Gone already (EAGAIN, ECONNABORTED), or out of descriptors: the next turn tries again,
        // after a pause so that a lasting EMFILE does not spin.
        if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR) ::usleep(100 * 1000);
        continue;
      }
      const std::uint64_t id = next_id++;
      const std::string peer_name = sockaddr_name(reinterpret_cast<sockaddr*>(&peer));
      reap(workers, false);
      if (workers.size() >= o.max_conns) {
        ::close(cfd);
        log.line(fmt::format("conn {} {} -> {}: refused: {} connections open (--max-conns)", id, peer_name,
                             listeners[i].backend.name, workers.size()));
        continue;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      try {
        // The listeners (and so their backends) stay put until every worker is joined.
        const Backend* backend = &listeners[i].backend;
        std::thread t([&stop, &log, &limits, ssl_ctx = ctx->get(), cfd, peer_name, id, done, backend] {
          serve_connection(ssl_ctx, cfd, peer_name, *backend, limits, stop, log, id);
          done->store(true);
        });
        workers.push_back(Worker{std::move(t), done});
      } catch (const std::system_error& e) {
        ::close(cfd);
        log.line(fmt::format("conn {} {}: refused: no thread ({})", id, peer_name, e.what()));
      }
    }
  }
  stop.store(true);
  for (auto& l : listeners) ::close(l.fd);
  reap(workers, false);
  const std::size_t open = workers.size();  // connections still being served
  reap(workers, true);  // each sees `stop` within 200 ms
  log.line(fmt::format("stopped: {} connection(s) were open", open));
  ::close(sfd);
  return 0;
}

}  // namespace
}  // namespace tls_relay

int main(int argc, char** argv) {
  CLI::App app{"nvme-mpath-tls-relay: TLS 1.3 PSK server (OpenSSL) relaying to plain NVMe/TCP ports"};
  tls_relay::Options o;
  app.add_option("--listen", o.listen, "LISTEN_ADDR:PORT=BACKEND_HOST:PORT (port 0: ephemeral); repeatable")
      ->required();
  app.add_option("--psk-file", o.psk_file, "lines \"<identity> <hex TLS PSK>\" (32 or 48 bytes); '#' comments")
      ->required();
  app.add_flag("--log", o.log, "one line per connection: identity, suite, bytes each way, why it ended");
  app.add_option("--max-conns", o.max_conns, "connections served at once; more are closed at once (256)")
      ->check(CLI::Range(1u, 65536u));
  app.add_option("--handshake-timeout-ms", o.handshake_timeout_ms, "TLS handshake deadline (10000)")
      ->check(CLI::Range(1u, 600000u));
  app.add_option("--connect-timeout-ms", o.connect_timeout_ms, "backend connect deadline (5000)")
      ->check(CLI::Range(1u, 600000u));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return tls_relay::run(o);
}
