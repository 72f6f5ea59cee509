#include "suite/sim_control.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace nvmemp::bench {

namespace {

// The last complete line of `in`, without its '\n'; empty while a line is still coming.
std::string complete_last_line(const std::string& in) {
  if (in.empty() || in.back() != '\n') {
    return {};
  }
  const auto start = in.size() >= 2 ? in.rfind('\n', in.size() - 2) : std::string::npos;
  const std::size_t from = start == std::string::npos ? 0 : start + 1;
  return in.substr(from, in.size() - 1 - from);
}

}  // namespace

Result<std::string> sim_control(std::uint16_t ctl_port, const std::string& line, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return make_error(Errc::Io, fmt::format("control socket: {}", std::strerror(errno)));
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(ctl_port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string out = line + "\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) {
    const int err = errno;
    ::close(fd);
    return make_error(Errc::Io, fmt::format("control 127.0.0.1:{} '{}': {}", ctl_port, line, std::strerror(err)));
  }
  std::string in;
  for (;;) {
    // The answer ends with a line "OK" or "ERR <reason>".
    const std::string last = complete_last_line(in);
    if (last == "OK") {
      ::close(fd);
      return in.substr(0, in.size() - 3);
    }
    if (last.rfind("ERR", 0) == 0) {
      ::close(fd);
      return make_error(Errc::Refused, fmt::format("control '{}': {}", line, last));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    char buf[4096];
    ssize_t n = 0;
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0 ||
        (n = ::recv(fd, buf, sizeof buf, 0)) <= 0 || in.size() > (1u << 20)) {
      ::close(fd);
      return make_error(Errc::Timeout, fmt::format("control '{}': no complete answer from 127.0.0.1:{}", line, ctl_port));
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace nvmemp::bench
