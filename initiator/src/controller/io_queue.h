// An I/O queue of a live controller, set up on the calling thread's reactor (its I/O
// thread): TCP connect, ICReq/ICResp, Fabrics Connect with the controller's cntlid. After
// open() the queue pair is the caller's: completions go to its CompletionFn.
#pragma once

#include <memory>

#include "controller/controller.h"
#include "transport/queue_pair.h"
#include "transport/reactor.h"

namespace nvmemp::controller {

class IoQueue {
 public:
  // Blocks this thread (turning `reactor`) until the queue is connected or `timeout` passed.
  static Result<std::unique_ptr<IoQueue>> open(transport::Reactor& reactor, const Clock& clock,
                                               const ControllerOptions& opts, const ControllerInfo& info,
                                               std::uint16_t qid, transport::CompletionFn on_complete, void* ctx);
  ~IoQueue();
  IoQueue(const IoQueue&) = delete;
  IoQueue& operator=(const IoQueue&) = delete;

  transport::QueuePair& qp() noexcept { return *qp_; }
  bool closed() const noexcept { return closed_; }
  const std::string& close_reason() const noexcept { return close_reason_; }

 private:
  IoQueue(transport::Reactor& reactor) : reactor_(reactor) {}
  static void trampoline(void* ctx, const transport::Completion& c);

  transport::Reactor& reactor_;
  std::unique_ptr<transport::QueuePair> qp_;
  transport::CompletionFn user_fn_ = nullptr;
  void* user_ctx_ = nullptr;
  bool connecting_ = true;
  std::optional<transport::Completion> connect_done_;
  std::vector<std::uint8_t> connect_data_;
  bool closed_ = false;
  std::string close_reason_;
};

}  // namespace nvmemp::controller
