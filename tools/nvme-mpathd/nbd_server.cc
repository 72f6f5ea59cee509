#include "nbd_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <list>
#include <mutex>

#include <fmt/format.h>

#include "common/log.h"

namespace nvmemp::mpathd {

using namespace std::chrono_literals;

namespace {

std::string errno_text() { return std::strerror(errno); }

Result<int> listen_unix(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    return make_error(Errc::InvalidArgument, fmt::format("NBD export socket {}: longer than {} bytes", path,
                                                         sizeof sa.sun_path - 1));
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(Errc::InvalidArgument, fmt::format("NBD export socket {}: exists and is not a socket; "
                                                           "remove it or choose another unix_socket", path));
    }
    // A socket file: in use when something answers on it, else left over from an earlier run.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live = probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      return make_error(Errc::InvalidArgument, fmt::format("NBD export socket {}: another process serves it "
                                                           "(is nvme-mpathd running already?)", path));
    }
    ::unlink(path.c_str());
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::Io, fmt::format("NBD export socket {}: socket: {}", path, errno_text()));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::chmod(path.c_str(), 0660) != 0 ||
      ::listen(fd, 64) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return make_error(Errc::Io, fmt::format("NBD export socket {}: {}", path, why));
  }
  return fd;
}

Result<int> listen_tcp(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::Io, fmt::format("NBD export 127.0.0.1:{}: socket: {}", port, errno_text()));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return make_error(Errc::Io, fmt::format("NBD export 127.0.0.1:{}: {} (is the port taken?)", port, why));
  }
  return fd;
}

std::string peer_name(int fd, const std::string& where) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    char buf[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, ntohs(in->sin_port));
  }
  ucred cred{};
  socklen_t cl = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) return fmt::format("pid {} on {}", cred.pid, where);
  return where;
}

}  // namespace

std::vector<std::string> export_uris(const ExportConfig& e) {
  std::vector<std::string> out{fmt::format("nbd+unix:///{}?socket={}", e.name, e.unix_socket)};
  if (e.tcp_port) out.push_back(fmt::format("nbd://127.0.0.1:{}/{}", *e.tcp_port, e.name));
  return out;
}

Result<ExportTarget> export_target(const ExportConfig& e, const HeadInfo& head) {
  if (head.block_size == 0 || head.blocks == 0) {
    return make_error(Errc::NotFound, fmt::format("export {}: {} nsid {} has no size yet (no path came up)", e.name,
                                                  head.subnqn, head.nsid));
  }
  ExportTarget t;
  t.head = head.id;
  t.block_size = head.block_size;
  t.max_transfer = head.max_transfer != 0 ? head.max_transfer : head.block_size;
  nbd::ExportInfo& i = t.info;
  i.name = e.name;
  i.description = fmt::format("{} nsid {} ({})", head.subnqn, head.nsid, head.wwid);
  i.size = head.blocks * head.block_size;
  i.read_only = e.read_only;
  i.can_flush = true;
  i.can_fua = true;
  i.can_trim = head.can_deallocate;
  i.can_write_zeroes = head.can_write_zeroes;
  i.min_block = head.block_size;
  i.pref_block = std::max<std::uint32_t>(4096, head.block_size);
  i.max_block = nbd::kMaxPayload / head.block_size * head.block_size;
  if (auto v = nbd::validate_export(i); !v) {
    return make_error(Errc::InvalidArgument, fmt::format("export {}: {}", e.name, v.error().message));
  }
  return t;
}

// ---- I/O threads --------------------------------------------------------------------------------

struct NbdServer::Worker {
  NbdServer* server = nullptr;
  unsigned index = 0;
  std::thread thread;
  std::unique_ptr<IoContext> io;  // made on the thread; set before `ready` is
  std::mutex io_mu;               // io's end against stop()'s wake-up post
  std::promise<Result<void>> ready;
  std::atomic<bool> stop{false};
  std::chrono::milliseconds drain{10000};
  // Only the worker thread touches these.
  std::list<std::unique_ptr<NbdConnection>> conns;
  std::vector<NbdConnection*> gone;

  void run();
  void reap();
};

void NbdServer::Worker::reap() {
  for (NbdConnection* g : gone) {
    conns.remove_if([g](const auto& c) { return c.get() == g; });
    --server->connections_;
  }
  gone.clear();
}

void NbdServer::Worker::run() {
  auto ctx = server->fabric_.create_io_context();
  if (!ctx) {
    ready.set_value(tl::unexpected(ctx.error()));
    return;
  }
  io = std::move(*ctx);
  ready.set_value({});
  while (!stop.load()) {
    if (auto p = io->poll(100ms); !p) log(LogLevel::Warn, "nbd: I/O thread {}: {}", index, p.error().message);
    reap();
  }
  // Drain: requests in flight are answered, new ones get NBD_ESHUTDOWN, then each closes.
  for (auto& c : conns) c->shutdown();
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (!conns.empty() && std::chrono::steady_clock::now() < deadline) {
    (void)io->poll(20ms);
    reap();
  }
  for (auto& c : conns) io->close_stream(*c, "nvme-mpathd stops");
  deadline = std::chrono::steady_clock::now() + 2s;
  while (!conns.empty() && std::chrono::steady_clock::now() < deadline) {
    (void)io->poll(20ms);
    reap();
  }
  if (!conns.empty()) {
    log(LogLevel::Warn, "nbd: I/O thread {}: {} connection(s) still had I/O outstanding at stop (held with no "
        "usable path?); dropped", index, conns.size());
  }
  for (auto& c : conns) c->abandon();
  {
    std::lock_guard<std::mutex> lock(io_mu);
    io.reset();  // before the connections: their buffers stay valid while the queues drain
  }
  conns.clear();
}

// ---- the server --------------------------------------------------------------------------------

NbdServer::NbdServer(Fabric& fabric, std::vector<ExportConfig> exports)
    : fabric_(fabric), exports_(std::move(exports)) {}

Result<std::unique_ptr<NbdServer>> NbdServer::start(Fabric& fabric, std::vector<ExportConfig> exports,
                                                    unsigned io_threads) {
  auto s = std::unique_ptr<NbdServer>(new NbdServer(fabric, std::move(exports)));
  s->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->wake_fd_ < 0) return make_error(Errc::Io, fmt::format("nbd: eventfd: {}", errno_text()));
  if (auto l = s->listen_all(); !l) return tl::unexpected(l.error());
  for (unsigned i = 0; i < std::max(1u, io_threads); ++i) {
    auto w = std::make_unique<Worker>();
    w->server = s.get();
    w->index = i;
    auto ready = w->ready.get_future();
    w->thread = std::thread([raw = w.get()] { raw->run(); });
    s->workers_.push_back(std::move(w));
    if (auto r = ready.get(); !r) {
      return make_error(r.error().code, fmt::format("nbd: I/O thread {}: {}", i, r.error().message));
    }
  }
  s->acceptor_ = std::thread([raw = s.get()] { raw->accept_loop(); });
  for (const auto& l : s->listeners_) {
    std::string names;
    for (std::size_t i : l.exports) names += (names.empty() ? "" : ", ") + s->exports_[i].name;
    log(LogLevel::Info, "nbd: serving {} on {}", names, l.where);
  }
  return s;
}

Result<void> NbdServer::listen_all() {
  std::map<std::string, std::size_t> by_path;
  std::map<std::uint16_t, std::size_t> by_port;
  for (std::size_t i = 0; i < exports_.size(); ++i) {
    const ExportConfig& e = exports_[i];
    auto [it, fresh] = by_path.try_emplace(e.unix_socket, listeners_.size());
    if (fresh) {
      auto fd = listen_unix(e.unix_socket);
      if (!fd) return tl::unexpected(fd.error());
      listeners_.push_back(Listener{*fd, e.unix_socket, e.unix_socket, {}});
    }
    listeners_[it->second].exports.push_back(i);
    if (e.tcp_port) {
      auto [pt, pfresh] = by_port.try_emplace(*e.tcp_port, listeners_.size());
      if (pfresh) {
        auto fd = listen_tcp(*e.tcp_port);
        if (!fd) return tl::unexpected(fd.error());
        listeners_.push_back(Listener{*fd, {}, fmt::format("127.0.0.1:{}", *e.tcp_port), {}});
      }
      listeners_[pt->second].exports.push_back(i);
    }
  }
  return {};
}

void NbdServer::accept_loop() {
  std::vector<pollfd> fds;
  for (const auto& l : listeners_) fds.push_back(pollfd{l.fd, POLLIN, 0});
  fds.push_back(pollfd{wake_fd_, POLLIN, 0});
  while (!stopping_.load()) {
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) {
      log(LogLevel::Error, "nbd: poll: {}; no new clients are accepted", errno_text());
      return;
    }
    for (std::size_t i = 0; i < listeners_.size() && !stopping_.load(); ++i) {
      if ((fds[i].revents & POLLIN) == 0) continue;
      const int fd = ::accept4(listeners_[i].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
          log(LogLevel::Warn, "nbd: accept on {}: {}", listeners_[i].where, errno_text());
        }
        continue;
      }
      accepted(fd, listeners_[i], peer_name(fd, listeners_[i].where));
    }
  }
}

Result<HeadInfo> NbdServer::resolve(const ExportConfig& e) const {
  return e.wwid.empty() ? fabric_.find_head(e.nqn, e.nsid) : fabric_.find_wwid(e.wwid);
}

void NbdServer::accepted(int fd, const Listener& l, std::string peer) {
  if (l.unix_path.empty()) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  std::vector<ExportTarget> targets;
  for (std::size_t i : l.exports) {
    const ExportConfig& e = exports_[i];
    auto head = resolve(e);
    auto t = head ? export_target(e, *head) : Result<ExportTarget>(tl::unexpected(head.error()));
    if (!t) {
      log(LogLevel::Warn, "nbd: {}: export {} is not offered: {}", peer, e.name, t.error().message);
      continue;
    }
    targets.push_back(std::move(*t));
  }
  Worker& w = *workers_[next_worker_++ % workers_.size()];
  ++connections_;
  log(LogLevel::Info, "nbd: client {} connected on {} (I/O thread {})", peer, l.where, w.index);
  w.io->post([&w, fd, targets = std::move(targets), peer = std::move(peer)]() mutable {
    auto c = std::make_unique<NbdConnection>(*w.io, std::move(targets), peer,
                                             [&w](NbdConnection* gone) { w.gone.push_back(gone); });
    c->start();
    if (w.stop.load()) c->shutdown();
    if (auto a = w.io->attach_stream(fd, *c); !a) {
      log(LogLevel::Warn, "nbd: client {}: {}", peer, a.error().message);
      ::close(fd);
      --w.server->connections_;
      return;
    }
    w.conns.push_back(std::move(c));
  });
}

std::map<std::uint32_t, std::vector<std::string>> NbdServer::exports_by_head() const {
  std::map<std::uint32_t, std::vector<std::string>> out;
  for (const auto& e : exports_) {
    auto head = resolve(e);
    if (!head) continue;
    for (auto& u : export_uris(e)) out[head->id].push_back(std::move(u));
  }
  return out;
}

void NbdServer::stop(std::chrono::milliseconds drain_timeout) {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  if (acceptor_.joinable()) acceptor_.join();
  for (const auto& l : listeners_) {
    ::close(l.fd);
    if (!l.unix_path.empty()) ::unlink(l.unix_path.c_str());
  }
  for (auto& w : workers_) {
    w->drain = drain_timeout;
    w->stop = true;
    std::lock_guard<std::mutex> lock(w->io_mu);
    if (w->io) w->io->post([] {});  // wakes its poll()
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

NbdServer::~NbdServer() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

}  // namespace nvmemp::mpathd
