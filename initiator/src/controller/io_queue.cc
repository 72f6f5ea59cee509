#include "controller/io_queue.h"

#include <fmt/format.h>

namespace nvmemp::controller {

using namespace std::chrono_literals;

void IoQueue::trampoline(void* ctx, const transport::Completion& c) {
  auto* self = static_cast<IoQueue*>(ctx);
  if (self->connecting_) {
    self->connect_done_ = c;  // the Fabrics Connect of this queue
    return;
  }
  self->user_fn_(self->user_ctx_, c);
}

Result<std::unique_ptr<IoQueue>> IoQueue::open(transport::Reactor& reactor, const Clock& clock,
                                               const ControllerOptions& opts, const ControllerInfo& info,
                                               std::uint16_t qid, transport::CompletionFn on_complete, void* ctx) {
  const std::string name =
      fmt::format("{} @ {} cntlid {} qid {}", opts.subnqn, transport::endpoint_name(opts.endpoint), info.cntlid, qid);
  auto q = std::unique_ptr<IoQueue>(new IoQueue(reactor));
  q->user_fn_ = on_complete;
  q->user_ctx_ = ctx;
  transport::QueuePairConfig qc;
  qc.qid = qid;
  qc.queue_size = opts.queue_size;
  qc.hdgst = opts.hdgst;
  qc.ddgst = opts.ddgst;
  qc.max_icd = info.max_icd;
  qc.max_data_len = info.max_data_len;
  qc.name = name;
  q->qp_ = std::make_unique<transport::QueuePair>(qc, clock, &IoQueue::trampoline, q.get());

  auto fd = transport::tcp_connect(opts.endpoint, opts.connect_timeout);
  if (!fd) {
    return make_error(fd.error().code, fmt::format("{}: {}", name, fd.error().message));
  }
  auto a = reactor.attach(
      *fd, *q->qp_,
      [](void* c, transport::QueuePair&, const std::string& reason) {
        auto* self = static_cast<IoQueue*>(c);
        self->closed_ = true;
        self->close_reason_ = reason;
      },
      q.get());
  if (!a) {
    return tl::unexpected(a.error());
  }
  if (auto s = q->qp_->start(); !s) {
    return tl::unexpected(s.error());
  }
  const TimePoint deadline = clock.now() + opts.connect_timeout;
  auto turn_until = [&](auto&& done) {
    while (!done() && !q->closed_ && clock.now() < deadline) {
      if (auto p = reactor.poll(10ms); !p) return;
    }
  };
  turn_until([&] { return q->qp_->state() == transport::QpState::Live; });
  if (q->qp_->state() != transport::QpState::Live) {
    return make_error(Errc::Timeout, fmt::format("{}: no ICResp{}{}", name, q->closed_ ? ": " : "", q->close_reason_));
  }
  auto data = wire::encode_connect_data(opts.host.hostid, info.cntlid, opts.subnqn, opts.host.hostnqn);
  if (!data) {
    return tl::unexpected(data.error());
  }
  wire::ConnectParams p;
  p.qid = qid;
  p.sqsize = static_cast<std::uint16_t>(opts.queue_size - 1);
  q->connect_data_.assign(data->begin(), data->end());  // lives as long as the queue pair
  auto cid = q->qp_->submit(transport::Command{wire::make_connect(p), {}, q->connect_data_, nullptr});
  if (!cid) {
    return tl::unexpected(cid.error());
  }
  turn_until([&] { return q->connect_done_.has_value(); });
  if (!q->connect_done_) {
    return make_error(Errc::Timeout, fmt::format("{}: no answer to Connect{}{}", name, q->closed_ ? ": " : "",
                                                 q->close_reason_));
  }
  if (!q->connect_done_->status.ok()) {
    return make_error(Errc::Protocol, fmt::format("{}: Connect rejected: {}", name,
                                                  q->connect_done_->status.to_string(StatusContext::FabricsCommand)));
  }
  q->connecting_ = false;
  return q;
}

IoQueue::~IoQueue() {
  if (!closed_) {
    reactor_.close_and_drain(*qp_, qp_->config().name + ": I/O queue closed", std::chrono::seconds(2));
  }
}

}  // namespace nvmemp::controller
