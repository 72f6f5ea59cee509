// One relayed connection, on its own thread: the TLS 1.3 server handshake with the client, a
// plain TCP connection to the backend, then bytes both ways until either side closes:
//   - the client's close_notify: what it sent is passed on, then the backend socket's write side
//     is shut down (the backend sees EOF);
//   - the backend's EOF: what it sent is passed on, then our close_notify (SSL_shutdown);
// after one side has closed, the other has `linger` to finish. Every wait is bounded (the
// handshake, the backend connect, the linger) and each poll wakes at least every 200 ms to see
// `stop`. Both sockets are non-blocking with TCP_NODELAY (NVMe/TCP PDUs are latency-bound).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include <openssl/ssl.h>

namespace tls_relay {

struct Backend {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string name;  // "127.0.0.1:4420"
};

struct ConnLimits {
  std::chrono::milliseconds handshake_timeout{10000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds linger{3000};
};

// Whole lines on stdout (flushed each), from any thread; silent when not enabled.
class LineLog {
 public:
  explicit LineLog(bool enabled) : enabled_(enabled) {}
  bool enabled() const noexcept { return enabled_; }
  void line(const std::string& text);

 private:
  bool enabled_;
  std::mutex mu_;
};

// Serves the accepted socket `client_fd` (closed when it returns) and logs one line about it:
// the identity offered (never a key), the suite, the bytes each way and why it ended.
void serve_connection(SSL_CTX* ctx, int client_fd, const std::string& client_name, const Backend& backend,
                      const ConnLimits& limits, const std::atomic<bool>& stop, LineLog& log, std::uint64_t id);

// "127.0.0.1:4420" / "[::1]:4420" of a socket address.
std::string sockaddr_name(const sockaddr* sa);

}  // namespace tls_relay
