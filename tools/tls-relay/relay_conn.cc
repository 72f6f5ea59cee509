#include "relay_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <openssl/err.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "tls_server.h"

namespace tls_relay {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t kRelayBufferBytes = 128 * 1024;  // per direction
constexpr auto kPollSlice = 200ms;                       // longest sleep between looks at `stop`

// Bytes waiting to go one way: [head, tail) of a fixed buffer, compacted when the end is reached.
class RelayBuffer {
 public:
  RelayBuffer() : bytes_(kRelayBufferBytes) {}
  std::size_t size() const noexcept { return tail_ - head_; }
  bool empty() const noexcept { return head_ == tail_; }
  const std::uint8_t* data() const noexcept { return bytes_.data() + head_; }
  // Free room at the end (empty when full).
  std::span<std::uint8_t> room() {
    if (tail_ == bytes_.size() && head_ > 0) {
      std::memmove(bytes_.data(), bytes_.data() + head_, size());
      tail_ -= head_;
      head_ = 0;
    }
    return {bytes_.data() + tail_, bytes_.size() - tail_};
  }
  void produced(std::size_t n) noexcept { tail_ += n; }
  void consumed(std::size_t n) noexcept {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }

 private:
  std::vector<std::uint8_t> bytes_;
  std::size_t head_ = 0, tail_ = 0;
};

void set_nodelay(int fd) {
  const int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

class Connection {
 public:
  Connection(SSL_CTX* ctx, int cfd, const Backend& backend, const ConnLimits& limits, const std::atomic<bool>& stop)
      : ctx_(ctx), cfd_(cfd), backend_(backend), limits_(limits), stop_(stop) {}
  ~Connection() {
    ssl_.reset();
    if (bfd_ >= 0) ::close(bfd_);
    ::close(cfd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void run() {
    auto ssl = new_server_ssl(ctx_, cfd_, note_);
    if (!ssl) {
      ended(ssl.error());
      return;
    }
    ssl_ = std::move(*ssl);
    if (!handshake()) return;
    suite_ = SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_.get()));
    version_ = SSL_get_version(ssl_.get());
    if (!connect_backend()) {
      close_notify_best_effort();
      return;
    }
    pump();
    if (!notify_sent_ && tls_usable_) close_notify_best_effort();
  }

  // The connection's log line, after "conn N <client> -> <backend>: ".
  std::string summary(std::chrono::milliseconds took) const {
    std::string who = !note_.offered ? std::string("no PSK identity offered")
                                     : fmt::format("identity \"{}\"{}", printable_identity(note_.identity),
                                                   note_.known ? "" : " (unknown)");
    std::string tls = suite_.empty() ? std::string("no TLS session") : fmt::format("{} {}", version_, suite_);
    return fmt::format("{}, {}, client->backend {} bytes, backend->client {} bytes, {:.2f} s; ended: {}", who, tls,
                       to_backend_, to_client_, static_cast<double>(took.count()) / 1000.0, fmt::join(why_, ", "));
  }

 private:
  void ended(std::string why) { why_.push_back(std::move(why)); }

  // Waits until `fd` is ready for `events`, `deadline` passes or the relay stops.
  bool wait_fd(int fd, short events, Clock::time_point deadline) {
    for (;;) {
      if (stop_.load()) return false;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return false;
      pollfd p{fd, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<std::chrono::milliseconds>(left, kPollSlice).count()));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  // Why the handshake failed, from what the callbacks saw and OpenSSL's error queue.
  std::string handshake_failure(int ssl_error) {
    std::string what;
    if (note_.offered && !note_.known) {
      what = fmt::format("unknown PSK identity \"{}\"", printable_identity(note_.identity));
    } else if (!note_.offered && note_.alert_received.empty()) {
      what = "the client offered no PSK";
    } else {
      what = "TLS handshake failed";
    }
    if (!note_.alert_sent.empty()) what += ", sent alert " + note_.alert_sent;
    if (!note_.alert_received.empty()) what += ", client sent alert " + note_.alert_received;
    const std::string errors = drain_openssl_errors();
    if (!errors.empty()) {
      what += " (" + errors + ")";
    } else if (ssl_error == SSL_ERROR_SYSCALL) {
      what += " (the client closed the connection)";
    }
    return what;
  }

  bool handshake() {
    const auto deadline = Clock::now() + limits_.handshake_timeout;
    for (;;) {
      ERR_clear_error();
      const int r = SSL_accept(ssl_.get());
      if (r == 1) return true;
      const int e = SSL_get_error(ssl_.get(), r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        tls_usable_ = false;
        ended(handshake_failure(e));
        return false;
      }
      if (!wait_fd(cfd_, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) {
        ended(stop_.load() ? std::string("relay stopping during the handshake")
                           : fmt::format("no TLS handshake within {} ms", limits_.handshake_timeout.count()));
        tls_usable_ = false;
        return false;
      }
    }
  }

  bool connect_backend() {
    const auto* sa = reinterpret_cast<const sockaddr*>(&backend_.addr);
    bfd_ = ::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (bfd_ < 0) {
      ended(fmt::format("backend {}: socket: {}", backend_.name, std::strerror(errno)));
      return false;
    }
    set_nodelay(bfd_);
    if (::connect(bfd_, sa, backend_.addr_len) != 0) {
      if (errno != EINPROGRESS) {
        ended(fmt::format("backend {}: connect: {}", backend_.name, std::strerror(errno)));
        return false;
      }
      if (!wait_fd(bfd_, POLLOUT, Clock::now() + limits_.connect_timeout)) {
        ended(stop_.load() ? std::string("relay stopping during the backend connect")
                           : fmt::format("backend {}: no connection within {} ms", backend_.name,
                                         limits_.connect_timeout.count()));
        return false;
      }
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(bfd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        ended(fmt::format("backend {}: connect: {}", backend_.name, std::strerror(err != 0 ? err : errno)));
        return false;
      }
    }
    return true;
  }

  // A failed SSL call: the reason, and whether the TLS session may still send close_notify.
  void tls_failed(const char* doing, int e) {
    tls_usable_ = false;
    const unsigned long first = ERR_peek_error();
    if (e == SSL_ERROR_SSL && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      ended("client closed TCP without close_notify");
      return;
    }
    std::string errors = drain_openssl_errors();
    if (e == SSL_ERROR_SYSCALL && errors.empty()) errors = errno != 0 ? std::strerror(errno) : "connection closed";
    std::string text = fmt::format("{}: TLS error {} ({})", doing, e, errors);
    if (!note_.alert_received.empty()) text += ", client sent alert " + note_.alert_received;
    ended(std::move(text));
  }

  // One turn of client -> backend; false when the connection is over.
  bool client_to_backend(bool& progress) {
    while (!client_done_) {
      const auto room = c2b_.room();
      if (room.empty()) break;
      std::size_t n = 0;
      ERR_clear_error();
      const int r = SSL_read_ex(ssl_.get(), room.data(), room.size(), &n);
      if (r == 1) {
        c2b_.produced(n);
        to_backend_ += n;
        progress = true;
        continue;
      }
      const int e = SSL_get_error(ssl_.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        (e == SSL_ERROR_WANT_READ ? want_read_ : want_write_) = true;
        break;
      }
      if (e == SSL_ERROR_ZERO_RETURN) {
        client_done_ = progress = true;
        ended("client sent close_notify");
        break;
      }
      tls_failed("reading from the client", e);
      return false;
    }
    while (!c2b_.empty() && !backend_shut_) {
      const ssize_t n = ::send(bfd_, c2b_.data(), c2b_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c2b_.consumed(static_cast<std::size_t>(n));
        progress = true;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
      ended(fmt::format("backend {}: send: {}", backend_.name, std::strerror(errno)));
      return false;
    }
    if (client_done_ && c2b_.empty() && !backend_shut_) {
      (void)::shutdown(bfd_, SHUT_WR);
      backend_shut_ = progress = true;
    }
    return true;
  }

  // One turn of backend -> client; false when the connection is over.
  bool backend_to_client(bool& progress) {
    while (!backend_done_) {
      const auto room = b2c_.room();
      if (room.empty()) break;
      const ssize_t n = ::recv(bfd_, room.data(), room.size(), 0);
      if (n > 0) {
        b2c_.produced(static_cast<std::size_t>(n));
        to_client_ += static_cast<std::size_t>(n);
        progress = true;
        continue;
      }
      if (n == 0) {
        backend_done_ = progress = true;
        ended("backend closed");
        break;
      }
      if (errno == EAGAIN || errno == EINTR) break;
      ended(fmt::format("backend {}: recv: {}", backend_.name, std::strerror(errno)));
      return false;
    }
    while (!b2c_.empty()) {
      // After WANT_*, OpenSSL wants the same length again (the buffer may have moved).
      const std::size_t len = retry_len_ != 0 ? retry_len_ : b2c_.size();
      std::size_t n = 0;
      ERR_clear_error();
      const int r = SSL_write_ex(ssl_.get(), b2c_.data(), len, &n);
      if (r == 1) {
        retry_len_ = 0;
        b2c_.consumed(n);
        progress = true;
        continue;
      }
      const int e = SSL_get_error(ssl_.get(), r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        retry_len_ = len;
        (e == SSL_ERROR_WANT_READ ? want_read_ : want_write_) = true;
        break;
      }
      tls_failed("writing to the client", e);
      return false;
    }
    if (backend_done_ && b2c_.empty() && !notify_sent_) {
      ERR_clear_error();
      const int r = SSL_shutdown(ssl_.get());
      if (r >= 0) {
        notify_sent_ = progress = true;
      } else if (const int e = SSL_get_error(ssl_.get(), r); e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        (e == SSL_ERROR_WANT_READ ? want_read_ : want_write_) = true;
      } else if (client_done_) {
        ERR_clear_error();
        ended("the client was gone before our close_notify");
        return false;
      } else {
        tls_failed("sending close_notify", e);
        return false;
      }
    }
    return true;
  }

  void pump() {
    std::optional<Clock::time_point> linger_until;
    for (;;) {
      if (stop_.load()) {
        ended("relay stopping");
        return;
      }
      bool progress = false;
      want_read_ = want_write_ = false;
      if (!client_to_backend(progress) || !backend_to_client(progress)) return;
      if (client_done_ && backend_done_ && b2c_.empty() && notify_sent_) return;  // both closed in order
      const auto now = Clock::now();
      if ((client_done_ || backend_done_) && !linger_until) linger_until = now + limits_.linger;
      if (linger_until && now >= *linger_until) {
        ended(fmt::format("the other side did not close within {} ms", limits_.linger.count()));
        return;
      }
      if (progress) continue;
      // Nothing moved: sleep until a socket is ready for what we want of it. A socket we want
      // nothing of is left out (-1), so that its hang-up cannot make poll return at once.
      const bool c2b_room = c2b_.size() < kRelayBufferBytes;
      const bool b2c_room = b2c_.size() < kRelayBufferBytes;
      const short cev = static_cast<short>(((want_read_ || (!client_done_ && c2b_room)) ? POLLIN : 0) |
                                           (want_write_ ? POLLOUT : 0));
      const short bev = static_cast<short>(((!backend_done_ && b2c_room) ? POLLIN : 0) |
                                           ((!c2b_.empty() && !backend_shut_) ? POLLOUT : 0));
      pollfd p[2] = {{cev != 0 ? cfd_ : -1, cev, 0}, {bev != 0 ? bfd_ : -1, bev, 0}};
      auto slice = kPollSlice;
      if (linger_until) {
        slice = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(*linger_until - now), 1ms, kPollSlice);
      }
      if (::poll(p, 2, static_cast<int>(slice.count())) < 0 && errno != EINTR) {
        ended(fmt::format("poll: {}", std::strerror(errno)));
        return;
      }
    }
  }

  // Our close_notify, sent if the socket takes it now (never waits).
  void close_notify_best_effort() {
    if (!ssl_ || !tls_usable_ || notify_sent_) return;
    ERR_clear_error();
    if (SSL_shutdown(ssl_.get()) >= 0) notify_sent_ = true;
    ERR_clear_error();
  }

  SSL_CTX* ctx_;
  int cfd_;
  int bfd_ = -1;
  const Backend& backend_;
  const ConnLimits& limits_;
  const std::atomic<bool>& stop_;
  HandshakeNote note_;
  SslPtr ssl_;
  std::string suite_, version_;
  RelayBuffer c2b_, b2c_;
  std::uint64_t to_backend_ = 0, to_client_ = 0;
  bool client_done_ = false;   // the client's close_notify came: nothing more from it
  bool backend_done_ = false;  // the backend's EOF came
  bool backend_shut_ = false;  // we shut down the backend socket's write side
  bool notify_sent_ = false;   // our close_notify went out
  bool tls_usable_ = true;     // no fatal TLS error: close_notify may still be sent
  bool want_read_ = false, want_write_ = false;  // what the last SSL call on the client needs
  std::size_t retry_len_ = 0;  // length of an SSL_write to repeat, 0 when none
  std::vector<std::string> why_;
};

}  // namespace

void LineLog::line(const std::string& text) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  std::fputs(text.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string sockaddr_name(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    return fmt::format("{}:{}", host, ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    return fmt::format("[{}]:{}", host, ntohs(in6->sin6_port));
  }
  return fmt::format("(address family {})", sa->sa_family);
}

void serve_connection(SSL_CTX* ctx, int client_fd, const std::string& client_name, const Backend& backend,
                      const ConnLimits& limits, const std::atomic<bool>& stop, LineLog& log, std::uint64_t id) {
  const auto started = Clock::now();
  set_nodelay(client_fd);
  std::string line;
  {
    Connection c(ctx, client_fd, backend, limits, stop);  // closes both sockets when it goes
    c.run();
    line = c.summary(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started));
  }
  log.line(fmt::format("conn {} {} -> {}: {}", id, client_name, backend.name, line));
}

}  // namespace tls_relay
