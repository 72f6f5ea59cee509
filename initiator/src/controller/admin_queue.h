// The admin queue of one controller: a QueuePair (qid 0) on the control thread's reactor,
// with a callback per command. Cold path: commands and their buffers live on the heap.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transport/queue_pair.h"
#include "transport/reactor.h"

namespace nvmemp::controller {

struct AdminResult {
  transport::Completion completion;
  std::vector<std::uint8_t> data;  // what a controller-to-host command brought
};

class AdminQueue {
 public:
  using Callback = std::function<void(const AdminResult&)>;
  using ClosedFn = std::function<void(const std::string& reason)>;

  AdminQueue(transport::Reactor& reactor, const Clock& clock, const transport::QueuePairConfig& cfg);
  ~AdminQueue();
  AdminQueue(const AdminQueue&) = delete;
  AdminQueue& operator=(const AdminQueue&) = delete;

  // Takes a connected socket and sends the ICReq; `on_closed` runs once the connection ends.
  Result<void> open(transport::Connection conn, ClosedFn on_closed);
  bool live() const noexcept { return qp_.state() == transport::QpState::Live; }
  bool open_or_opening() const noexcept { return attached_; }

  // A command reading `read_len` bytes from the controller (0: none) or writing `write_data`.
  // `timeout` > 0: its deadline instead of the admin timeout (the authentication's commands
  // get what is left of connect_timeout).
  Result<void> submit(const wire::Sqe& sqe, std::uint32_t read_len, std::vector<std::uint8_t> write_data,
                      Callback cb, Nanos timeout = Nanos{0});
  // Fails the queue pair and closes the socket; the callbacks of pending commands run.
  void close(const std::string& reason);

  transport::QueuePair& qp() noexcept { return qp_; }

 private:
  struct Pending {
    Callback cb;
    std::vector<std::uint8_t> read;
    std::vector<std::uint8_t> write;
  };
  static void on_complete(void* ctx, const transport::Completion& c);
  static void on_close(void* ctx, transport::QueuePair& qp, const std::string& reason);

  transport::Reactor& reactor_;
  transport::QueuePair qp_;
  ClosedFn on_closed_;
  bool attached_ = false;
  bool silent_ = false;
};

}  // namespace nvmemp::controller
