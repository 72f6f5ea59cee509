#include "control_server.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>

namespace nvmemp::mpathd {

namespace {

nlohmann::json error_json(const std::string& what) { return nlohmann::json{{"error", what}}; }

Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(a.sun_path)) {
    return make_error(Errc::InvalidArgument, fmt::format("control socket path \"{}\": must be 1..{} bytes", path,
                                                         sizeof(a.sun_path) - 1));
  }
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  return a;
}

}  // namespace

std::string ControlServer::answer_line(const std::string& line, const Peer& peer, const Handler& handler) {
  nlohmann::json answer;
  const auto req = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) {
    answer = error_json("the request is not valid JSON: send one JSON object per line, e.g. {\"cmd\": \"list\"}");
  } else if (!req.is_object()) {
    answer = error_json("the request must be a JSON object with a \"cmd\" string, e.g. {\"cmd\": \"list\"}");
  } else if (!req.contains("cmd") || !req["cmd"].is_string()) {
    answer = error_json("the request has no \"cmd\" string, e.g. {\"cmd\": \"list\"}");
  } else {
    try {
      answer = handler(req, peer);
    } catch (const std::exception& e) {
      // A handler reads fields with nlohmann's typed accessors; a wrong type throws there.
      answer = error_json(fmt::format("bad request for \"{}\": {}", req["cmd"].get<std::string>(), e.what()));
    }
  }
  return answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<ControlServer> ControlServer::listen(const std::string& path, Handler handler) {
  auto addr = unix_address(path);
  if (!addr) return tl::unexpected(addr.error());
  if (const auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return make_error(Errc::Io, fmt::format("control socket directory {}: {}", dir, std::strerror(errno)));
    }
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::Io, fmt::format("control socket: {}", std::strerror(errno)));
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0 || ::chmod(path.c_str(), 0666) != 0 ||
      ::listen(fd, 16) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error(Errc::Io, fmt::format("control socket {}: {}; is another nvme-mpathd running?", path,
                                            std::strerror(e)));
  }
  return ControlServer(fd, path, std::move(handler));
}

ControlServer::ControlServer(ControlServer&& o) noexcept
    : fd_(o.fd_), path_(std::move(o.path_)), handler_(std::move(o.handler_)), clients_(std::move(o.clients_)) {
  o.fd_ = -1;
}

ControlServer::~ControlServer() {
  for (auto& c : clients_) ::close(c.fd);
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

void ControlServer::accept_clients() {
  for (;;) {
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    if (clients_.size() >= kMaxClients) {
      static const char busy[] = "{\"error\": \"too many control connections\"}\n";
      (void)!::write(c, busy, sizeof(busy) - 1);
      ::close(c);
      continue;
    }
    Client cl;
    cl.fd = c;
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      cl.peer = Peer{cred.pid, cred.uid, cred.gid};
    } else {
      cl.peer.uid = static_cast<uid_t>(-1);  // unknown: never root
    }
    clients_.push_back(std::move(cl));
  }
}

void ControlServer::read_client(Client& c) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(c.fd, buf, sizeof(buf));
    if (n == 0) {
      c.closing = true;
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) c.closing = true;
      return;
    }
    c.in.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = c.in.find('\n')) != std::string::npos) {
      const std::string line = c.in.substr(0, nl);
      c.in.erase(0, nl + 1);
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank line
      c.out += answer_line(line, c.peer, handler_);
    }
    if (c.in.size() > kMaxRequest) {
      c.out += error_json(fmt::format("request longer than {} bytes: refused, connection closed", kMaxRequest)).dump() +
               "\n";
      c.in.clear();
      c.closing = true;
      return;
    }
  }
}

void ControlServer::write_client(Client& c) {
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      c.closing = true;
      c.out.clear();
      return;
    }
    c.out.erase(0, static_cast<std::size_t>(n));
  }
}

void ControlServer::poll_once(std::chrono::milliseconds timeout) {
  std::vector<pollfd> fds;
  fds.push_back(pollfd{fd_, POLLIN, 0});
  for (const auto& c : clients_) {
    fds.push_back(pollfd{c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
  }
  if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) <= 0) return;
  if (fds[0].revents & POLLIN) accept_clients();
  for (std::size_t i = 0; i + 1 < fds.size() && i < clients_.size(); ++i) {
    Client& c = clients_[i];
    if (fds[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) read_client(c);
    write_client(c);
  }
  std::erase_if(clients_, [](Client& c) {
    if (!c.closing || !c.out.empty()) return false;
    ::close(c.fd);
    return true;
  });
}

Result<nlohmann::json> control_request(const std::string& path, const nlohmann::json& request,
                                       std::chrono::milliseconds timeout) {
  auto addr = unix_address(path);
  if (!addr) return tl::unexpected(addr.error());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::Io, fmt::format("control socket: {}", std::strerror(errno)));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    const int e = errno;
    ::close(fd);
    return make_error(Errc::Io, fmt::format("cannot reach nvme-mpathd at {}: {}; is the daemon running (systemctl "
                                            "status nvme-mpathd) and is --socket right?", path, std::strerror(e)));
  }
  const std::string line = request.dump() + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return make_error(Errc::Io, fmt::format("control socket {}: send: {}", path, std::strerror(errno)));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string in;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      ::close(fd);
      return make_error(Errc::Timeout, fmt::format("control socket {}: no answer within {} ms", path, timeout.count()));
    }
    char buf[4096];
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) {
      ::close(fd);
      return make_error(Errc::Io, fmt::format("control socket {}: the daemon closed the connection", path));
    }
    in.append(buf, static_cast<std::size_t>(n));
    if (in.size() > (64u << 20)) {
      ::close(fd);
      return make_error(Errc::Malformed, fmt::format("control socket {}: answer larger than 64 MiB", path));
    }
  }
  ::close(fd);
  auto j = nlohmann::json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (j.is_discarded()) return make_error(Errc::Malformed, fmt::format("control socket {}: the answer is not JSON", path));
  return j;
}

}  // namespace nvmemp::mpathd
