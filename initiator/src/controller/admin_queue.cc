#include "controller/admin_queue.h"

#include <unistd.h>

namespace nvmemp::controller {

AdminQueue::AdminQueue(transport::Reactor& reactor, const Clock& clock, const transport::QueuePairConfig& cfg)
    : reactor_(reactor), qp_(cfg, clock, &AdminQueue::on_complete, this) {}

AdminQueue::~AdminQueue() {
  if (attached_) {
    // The kernel may still hold our buffers in a recv/send: wait for them before qp_ goes.
    on_closed_ = nullptr;
    silent_ = true;  // the owner is going away: its callbacks must not run
    reactor_.close_and_drain(qp_, qp_.config().name + ": admin queue closed", std::chrono::seconds(2));
  }
}

Result<void> AdminQueue::open(transport::Connection conn, ClosedFn on_closed) {
  on_closed_ = std::move(on_closed);
  if (auto a = reactor_.attach(std::move(conn), qp_, &AdminQueue::on_close, this); !a) return a;
  attached_ = true;
  return qp_.start();
}

Result<void> AdminQueue::submit(const wire::Sqe& sqe, std::uint32_t read_len, std::vector<std::uint8_t> write_data,
                                Callback cb, Nanos timeout) {
  auto p = std::make_unique<Pending>();
  p->cb = std::move(cb);
  p->read.resize(read_len);
  p->write = std::move(write_data);
  transport::Command cmd{sqe, p->read, p->write, p.get()};
  // An AER completes only when something happens: the admin timeout does not apply to it.
  cmd.no_timeout = sqe.opcode() == 0x0C;
  cmd.timeout = timeout;
  auto cid = qp_.submit(cmd);
  if (!cid) {
    return tl::unexpected(cid.error());
  }
  p.release();  // owned by the queue pair until on_complete
  return {};
}

void AdminQueue::close(const std::string& reason) {
  if (attached_) {
    reactor_.close(qp_, reason);
  } else {
    qp_.fail(reason);
  }
}

void AdminQueue::on_complete(void* ctx, const transport::Completion& c) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(c.user));
  AdminResult r{c, std::move(p->read)};
  if (p->cb && !static_cast<AdminQueue*>(ctx)->silent_) {
    p->cb(r);
  }
}

void AdminQueue::on_close(void* ctx, transport::QueuePair& /*qp*/, const std::string& reason) {
  auto* self = static_cast<AdminQueue*>(ctx);
  self->attached_ = false;
  if (self->on_closed_) {
    self->on_closed_(reason);
  }
}

}  // namespace nvmemp::controller
