#include "transport/tcp_connect.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

namespace nvmemp::transport {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    const int f = fd;
    fd = -1;
    return f;
  }
};

Result<sockaddr_storage> parse_addr(const std::string& ip, std::uint16_t port, socklen_t& len, const char* what) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string svc = std::to_string(port);
  const int rc = ::getaddrinfo(ip.c_str(), svc.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{} '{}' is not an IPv4 or IPv6 address ({})", what, ip, ::gai_strerror(rc)));
  }
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  ::freeaddrinfo(res);
  return ss;
}

}  // namespace

std::string endpoint_name(const TcpEndpoint& ep) {
  if (ep.traddr.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", ep.traddr, ep.trsvcid);
  }
  return fmt::format("{}:{}", ep.traddr, ep.trsvcid);
}

Result<int> tcp_connect(const TcpEndpoint& ep, std::chrono::milliseconds timeout) {
  const std::string name = endpoint_name(ep);
  socklen_t len = 0;
  auto addr = parse_addr(ep.traddr, ep.trsvcid, len, "traddr");
  if (!addr) {
    return tl::unexpected(addr.error());
  }
  Fd s;
  s.fd = ::socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (s.fd < 0) {
    return make_error(Errc::Io, fmt::format("{}: socket: {}", name, std::strerror(errno)));
  }
  int one = 1;
  ::setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!ep.host_iface.empty() &&
      ::setsockopt(s.fd, SOL_SOCKET, SO_BINDTODEVICE, ep.host_iface.c_str(),
                   static_cast<socklen_t>(ep.host_iface.size())) != 0) {
    return make_error(Errc::Io, fmt::format("{}: host_iface {}: {}", name, ep.host_iface, std::strerror(errno)));
  }
  if (!ep.host_traddr.empty()) {
    socklen_t llen = 0;
    auto local = parse_addr(ep.host_traddr, 0, llen, "host_traddr");
    if (!local) {
      return tl::unexpected(local.error());
    }
    if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&*local), llen) != 0) {
      return make_error(Errc::Io, fmt::format("{}: bind host_traddr {}: {}", name, ep.host_traddr, std::strerror(errno)));
    }
  }
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&*addr), len) != 0 && errno != EINPROGRESS) {
    return make_error(Errc::Io, fmt::format("{}: connect: {}", name, std::strerror(errno)));
  }
  pollfd p{s.fd, POLLOUT, 0};
  int rc = 0;
  do {
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) {
    return make_error(Errc::Timeout, fmt::format("{}: connect: no answer within {} ms", name, timeout.count()));
  }
  int err = 0;
  socklen_t elen = sizeof err;
  ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &elen);
  if (err != 0) {
    return make_error(Errc::Io, fmt::format("{}: connect: {}", name, std::strerror(err)));
  }
  return s.release();
}

}  // namespace nvmemp::transport
