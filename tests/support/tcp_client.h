// A blocking TCP client for tests: connect to 127.0.0.1, send all, receive with a deadline.
// Tests only: the library's transport runs on io_uring.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "nvmemp/result.h"

namespace nvmemp::test {

class TcpClient {
 public:
  TcpClient() = default;
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;
  TcpClient(TcpClient&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ~TcpClient();

  static Result<TcpClient> connect(const std::string& ip, std::uint16_t port,
                                   std::chrono::milliseconds timeout);
  Result<void> send_all(const std::vector<std::uint8_t>& bytes);
  // Waits up to `timeout` for at least one byte; returns what arrived (empty on EOF).
  Result<std::vector<std::uint8_t>> recv_some(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

}  // namespace nvmemp::test

namespace nvmemp::test {
// A 127.0.0.1 port with no listener: bound without listen() and released, so a connect to it
// is refused (another process could take it in between; that is unlikely and only fails a test).
std::uint16_t closed_port();
}  // namespace nvmemp::test
