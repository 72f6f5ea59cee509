// Drives one transport::QueuePair on its own transport::Reactor from the test thread:
// connect, handshake, run commands one by one or many at once. Bounded waits everywhere.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "transport/queue_pair.h"
#include "transport/reactor.h"
#include "transport/tcp_connect.h"

namespace nvmemp::test {

class QpDriver {
 public:
  // TCP connect to 127.0.0.1:port, attach, ICReq/ICResp.
  static Result<std::unique_ptr<QpDriver>> connect(std::uint16_t port, transport::QueuePairConfig cfg);
  // Adopts an already connected socket (socketpair tests).
  static Result<std::unique_ptr<QpDriver>> adopt(int fd, transport::QueuePairConfig cfg);

  // Submits and polls until it completes (10 s at most). Its completion is returned, not left
  // in `done` (which holds the completions of commands submitted through qp()).
  Result<transport::Completion> exec(const transport::Command& cmd);
  // Polls until `n` completions are in `done` or the connection closed (10 s at most).
  bool wait_done(std::size_t n);
  // Polls until the connection closed (10 s at most).
  bool wait_closed();

  transport::QueuePair& qp() { return *qp_; }
  transport::Reactor& reactor() { return *reactor_; }
  std::vector<transport::Completion> done;
  bool closed = false;
  std::string close_reason;

 private:
  QpDriver() = default;
  char exec_tag_ = 0;  // its address marks exec()'s command
  Result<void> handshake();
  SteadyClock clock_;
  std::unique_ptr<transport::Reactor> reactor_;
  std::unique_ptr<transport::QueuePair> qp_;
};

}  // namespace nvmemp::test
