// The daemon's control socket: a Unix stream socket, one JSON request per line, one JSON answer
// per line. Anyone may connect (mode 0666) and read (`list`, `stats`); the handler decides what
// needs root, from the peer's credentials (SO_PEERCRED) taken per connection.
//
// Bad input never stops the daemon: a line longer than kMaxRequest, invalid JSON or a request
// that is not an object gets {"error": "..."} (and an over-long line closes that connection).
// The server runs on the calling thread: poll_once() waits up to a timeout, accepts, reads and
// answers; the caller loops.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "nvmemp/result.h"

namespace nvmemp::mpathd {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool is_root() const noexcept { return uid == 0; }
};

inline constexpr std::size_t kMaxRequest = 64 * 1024;  // bytes of one request line
inline constexpr std::size_t kMaxClients = 64;

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request, const Peer& peer)>;

  // Binds `path` (an existing socket file there is replaced; its directory is created with mode
  // 0755 if missing) with mode 0666.
  static Result<ControlServer> listen(const std::string& path, Handler handler);
  ControlServer(ControlServer&& o) noexcept;
  ControlServer& operator=(ControlServer&&) = delete;
  ~ControlServer();

  // Accepts, reads, answers; waits up to `timeout` for something to happen.
  void poll_once(std::chrono::milliseconds timeout);
  const std::string& path() const noexcept { return path_; }

  // The answer to one request line (exposed for tests and fuzzing): never throws.
  static std::string answer_line(const std::string& line, const Peer& peer, const Handler& handler);

 private:
  struct Client {
    int fd = -1;
    Peer peer;
    std::string in;
    std::string out;
    bool closing = false;
  };
  ControlServer(int fd, std::string path, Handler handler) : fd_(fd), path_(std::move(path)), handler_(std::move(handler)) {}
  void accept_clients();
  void read_client(Client& c);
  void write_client(Client& c);

  int fd_ = -1;
  std::string path_;
  Handler handler_;
  std::vector<Client> clients_;
};

// Client side (mpath-connect): sends one request, waits (bounded) for the answer line.
Result<nlohmann::json> control_request(const std::string& path, const nlohmann::json& request,
                                       std::chrono::milliseconds timeout);

}  // namespace nvmemp::mpathd
