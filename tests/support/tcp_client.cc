#include "support/tcp_client.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace nvmemp::test {

TcpClient::~TcpClient() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Result<TcpClient> TcpClient::connect(const std::string& ip, std::uint16_t port,
                                     std::chrono::milliseconds timeout) {
  TcpClient c;
  c.fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (c.fd_ < 0) {
    return make_error(Errc::Io, fmt::format("socket: {}", std::strerror(errno)));
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) {
    return make_error(Errc::InvalidArgument, fmt::format("bad IPv4 address '{}'", ip));
  }
  if (::connect(c.fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    return make_error(Errc::Io, fmt::format("connect {}:{}: {}", ip, port, std::strerror(errno)));
  }
  pollfd pfd{c.fd_, POLLOUT, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) != 1) {
    return make_error(Errc::Timeout, fmt::format("connect {}:{}: no answer in {} ms", ip, port,
                                                 timeout.count()));
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(c.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    return make_error(Errc::Io, fmt::format("connect {}:{}: {}", ip, port, std::strerror(err)));
  }
  int one = 1;
  ::setsockopt(c.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return c;
}

Result<void> TcpClient::send_all(const std::vector<std::uint8_t>& bytes) {
  std::size_t off = 0;
  int rounds = 0;
  while (off < bytes.size()) {
    if (++rounds > 100000) {
      return make_error(Errc::Timeout, "send: peer does not drain the socket");
    }
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd pfd{fd_, POLLOUT, 0};
      if (::poll(&pfd, 1, 5000) != 1) {
        return make_error(Errc::Timeout, "send: socket not writable for 5 s");
      }
    } else if (n < 0 && errno != EINTR) {
      return make_error(Errc::Io, fmt::format("send: {}", std::strerror(errno)));
    }
  }
  return {};
}

Result<std::vector<std::uint8_t>> TcpClient::recv_some(std::chrono::milliseconds timeout) {
  pollfd pfd{fd_, POLLIN, 0};
  const int r = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (r == 0) {
    return make_error(Errc::Timeout, fmt::format("recv: nothing in {} ms", timeout.count()));
  }
  if (r < 0) {
    return make_error(Errc::Io, fmt::format("poll: {}", std::strerror(errno)));
  }
  std::vector<std::uint8_t> buf(65536);
  const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n < 0) {
    return make_error(Errc::Io, fmt::format("recv: {}", std::strerror(errno)));
  }
  buf.resize(static_cast<std::size_t>(n));
  return buf;
}

}  // namespace nvmemp::test

namespace nvmemp::test {
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}
}  // namespace nvmemp::test
