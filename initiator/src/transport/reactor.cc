#include "transport/reactor.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/log.h"

namespace nvmemp::transport {

namespace {
// user_data: a Conn pointer (8-byte aligned) with the operation in the low bits.
constexpr std::uint64_t kOpRecv = 1;
constexpr std::uint64_t kOpSend = 2;
constexpr std::uint64_t kOpRaw = 3;   // a RawOp (block-device I/O)
constexpr std::uint64_t kOpPoll = 4;  // readiness for a receive into a caller's buffer
constexpr std::uint64_t kOpMask = 7;
constexpr std::uint64_t kEventTag = 8;  // the eventfd read (no Conn at 8)
constexpr std::size_t kRecvBuf = 256 * 1024;
constexpr std::size_t kMaxIov = 64;
constexpr auto kTimeoutScan = std::chrono::milliseconds(50);
}  // namespace

struct Reactor::Conn {
  int fd = -1;
  QueuePair* qp = nullptr;  // a queue pair's connection, or
  Stream* st = nullptr;     // a front end's stream
  CloseFn on_close = nullptr;
  void* ctx = nullptr;
  std::vector<std::uint8_t> rx;  // a stream's receive buffer (a queue pair has its own)
  std::array<iovec, kMaxIov> iov{};
  msghdr msg{};
  std::array<iovec, 4> rx_iov{};  // a queue pair's receive: where it wants the bytes
  msghdr rx_msg{};
  std::unique_ptr<TlsPump> tls;  // over TLS: the record layer between socket and queue pair
  bool recv_inflight = false;
  bool send_inflight = false;
  bool closing = false;
  std::string reason;
};

Result<std::unique_ptr<Reactor>> Reactor::create(const Clock& clock, unsigned ring_entries) {
  auto ring = Ring::create(ring_entries);
  if (!ring) {
    return tl::unexpected(ring.error());
  }
  const int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    return make_error(Errc::Io, fmt::format("eventfd: {}", std::strerror(errno)));
  }
  return std::unique_ptr<Reactor>(new Reactor(clock, std::move(*ring), efd));
}

Reactor::Reactor(const Clock& clock, std::unique_ptr<Ring> ring, int event_fd)
    : clock_(clock), ring_(std::move(ring)), event_fd_(event_fd) {}

Reactor::~Reactor() {
  for (auto& c : conns_) {
    if (c->fd >= 0) {
      ::close(c->fd);
    }
  }
  ring_.reset();  // cancels what is still in flight before the buffers go
  ::close(event_fd_);
}

io_uring_sqe* Reactor::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(ring_->get());
  if (s == nullptr) {
    io_uring_submit(ring_->get());  // SQ full: push out what is there and take a new one
    s = io_uring_get_sqe(ring_->get());
  }
  return s;
}

Result<void> Reactor::attach(int fd, QueuePair& qp, CloseFn on_close, void* ctx) {
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  c->qp = &qp;
  c->on_close = on_close;
  c->ctx = ctx;
  conns_.push_back(std::move(c));
  return {};
}

Result<void> Reactor::attach(Connection conn, QueuePair& qp, CloseFn on_close, void* ctx) {
  std::unique_ptr<RecordLayer> tls = conn.release_tls();
  if (auto r = attach(conn.release_fd(), qp, on_close, ctx); !r) return r;
  Conn& c = *conns_.back();
  if (tls != nullptr) c.tls = std::make_unique<TlsPump>(std::move(tls), qp);
  return {};
}

Result<void> Reactor::attach_stream(int fd, Stream& s) {
  auto c = std::make_unique<Conn>();
  c->fd = fd;
  c->st = &s;
  c->rx.resize(kRecvBuf);
  conns_.push_back(std::move(c));
  return {};
}

void Reactor::close_stream(Stream& s, const std::string& reason) {
  for (auto& c : conns_) {
    if (c->st == &s) {
      begin_close(*c, reason, true);
    }
  }
}

void Reactor::close(QueuePair& qp, const std::string& reason) {
  for (auto& c : conns_) {
    if (c->qp == &qp) {
      begin_close(*c, reason, true);
    }
  }
}

void Reactor::close_and_drain(QueuePair& qp, const std::string& reason, Nanos timeout) {
  bool present = false;
  for (auto& c : conns_) {
    if (c->qp == &qp) {
      c->on_close = nullptr;
      begin_close(*c, reason, true);
      present = true;
    }
  }
  const TimePoint deadline = clock_.now() + timeout;
  while (present && clock_.now() < deadline) {
    if (!poll(std::chrono::milliseconds(10))) {
      break;
    }
    present = std::any_of(conns_.begin(), conns_.end(), [&](const auto& c) { return c->qp == &qp; });
  }
}

void Reactor::begin_close(Conn& c, const std::string& reason, bool orderly) {
  if (c.closing) return;
  c.closing = true;
  c.reason = reason;
  // Info, not a warning: the queue's owner reports what the loss means (a controller reset, a
  // lost I/O queue) and carries the reason on.
  log(orderly ? LogLevel::Debug : LogLevel::Info, "connection closed: {}", reason);
  if (orderly && c.tls != nullptr && !c.send_inflight) {
    // Best effort, never waited for: the close_notify alert, so the peer sees an orderly end.
    const Bytes alert = c.tls->close_notify();
    if (!alert.empty()) (void)::send(c.fd, alert.data(), alert.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  // Makes the recv and send in flight finish at once; the fd is closed when both reported.
  ::shutdown(c.fd, SHUT_RDWR);
  if (c.qp != nullptr) c.qp->fail(reason);
}

void Reactor::arm_tls(Conn& c) {
  if (!c.send_inflight) {
    if (auto r = c.tls->fill(); !r) {
      begin_close(c, r.error().message);
      return;
    }
    const Bytes out = c.tls->pending();
    if (!out.empty()) {
      io_uring_sqe* s = sqe();
      io_uring_prep_send(s, c.fd, out.data(), out.size(), MSG_NOSIGNAL);
      io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&c) | kOpSend);
      c.send_inflight = true;
    }
  }
  if (!c.recv_inflight) {
    const MutBytes in = c.tls->recv_buffer();
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, c.fd, in.data(), in.size(), 0);
    io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&c) | kOpRecv);
    c.recv_inflight = true;
  }
}

void Reactor::on_tls_received(Conn& c, int res) {
  if (res > 0) {
    if (auto r = c.tls->received(static_cast<std::size_t>(res)); !r) begin_close(c, r.error().message);
  } else {
    on_qp_received(c, res);  // 0 or an error: the same words as without TLS
  }
}

void Reactor::arm(Conn& c) {
  if (c.closing) return;
  if (c.tls != nullptr) {
    arm_tls(c);
    return;
  }
  if (!c.send_inflight && (c.st != nullptr || c.qp->has_tx())) {
    const std::size_t n = c.st != nullptr ? c.st->gather(c.iov) : c.qp->gather_tx(c.iov);
    if (n > 0) {
      c.msg = msghdr{};
      c.msg.msg_iov = c.iov.data();
      c.msg.msg_iovlen = n;
      io_uring_sqe* s = sqe();
      io_uring_prep_sendmsg(s, c.fd, &c.msg, MSG_NOSIGNAL);
      io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&c) | kOpSend);
      c.send_inflight = true;
    } else if (c.st != nullptr && c.st->finished()) {
      begin_close(c, "finished", true);
      return;
    }
  }
  if (c.recv_inflight) return;
  if (c.st != nullptr) {
    if (c.st->receiving()) {
      io_uring_sqe* s = sqe();
      io_uring_prep_recv(s, c.fd, c.rx.data(), c.rx.size(), 0);
      io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&c) | kOpRecv);
      c.recv_inflight = true;
    }
    return;
  }
  if (c.qp->rx_iov_borrowed()) {
    // Inside a read's payload: its buffer is never handed to an asynchronous receive (the
    // read may be abandoned before that receive completes, rx_sink.h). Wait for readiness,
    // then receive into it at once (receive_direct()).
    io_uring_sqe* s = sqe();
    io_uring_prep_poll_add(s, c.fd, POLLIN);
    io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&c) | kOpPoll);
    c.recv_inflight = true;
    return;
  }
  const std::size_t n = c.qp->rx_iov(c.rx_iov);
  if (n == 0) return;
  io_uring_sqe* s = sqe();
  if (n == 1) {
    // The staging buffer alone (the usual case): a plain recv, no msghdr to import.
    io_uring_prep_recv(s, c.fd, c.rx_iov[0].iov_base, c.rx_iov[0].iov_len, 0);
  } else {
    c.rx_msg = msghdr{};
    c.rx_msg.msg_iov = c.rx_iov.data();
    c.rx_msg.msg_iovlen = n;
    io_uring_prep_recvmsg(s, c.fd, &c.rx_msg, 0);
  }
  io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&c) | kOpRecv);
  c.recv_inflight = true;
}

void Reactor::receive_direct(Conn& c) {
  // Non-blocking recvmsgs while a payload is pending: its rest into the read's buffer, what
  // follows into the staging buffer. Under load the bytes are usually in the socket already,
  // which saves a poll round trip per PDU; EAGAIN means drained: the next turn polls.
  for (int i = 0; i < 8 && !c.closing && c.qp->rx_iov_borrowed(); ++i) {
    const std::size_t n = c.qp->rx_iov(c.rx_iov);
    if (n == 0) return;
    msghdr m{};
    m.msg_iov = c.rx_iov.data();
    m.msg_iovlen = n;
    const ssize_t got = ::recvmsg(c.fd, &m, MSG_DONTWAIT);
    if (got < 0 && errno == EAGAIN) return;
    on_qp_received(c, got >= 0 ? static_cast<int>(got) : -errno);
    if (got <= 0) return;
  }
}

void Reactor::on_qp_received(Conn& c, int res) {
  if (res > 0) {
    if (auto r = c.qp->received_into(static_cast<std::size_t>(res)); !r) {
      begin_close(c, r.error().message);
    }
  } else if (res == 0) {
    begin_close(c, fmt::format("{}: connection closed by the controller", c.qp->config().name));
  } else if (res != -EINTR && res != -EAGAIN) {
    begin_close(c, fmt::format("{}: recv: {}", c.qp->config().name, std::strerror(-res)));
  }
}

void Reactor::arm_event() {
  if (event_armed_) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, event_fd_, &event_buf_, sizeof event_buf_, 0);
  io_uring_sqe_set_data64(s, kEventTag);
  event_armed_ = true;
}

io_uring_sqe* Reactor::raw_sqe(RawOp& op) {
  io_uring_sqe* s = sqe();
  // The prep helpers leave user_data alone; set it here and again is harmless.
  io_uring_sqe_set_data64(s, reinterpret_cast<std::uint64_t>(&op) | kOpRaw);
  return s;
}

void Reactor::handle(std::uint64_t user_data, int res) {
  if (user_data == kEventTag) {
    event_armed_ = false;
    run_posted();
    return;
  }
  if ((user_data & kOpMask) == kOpRaw) {
    auto* op = reinterpret_cast<RawOp*>(user_data & ~kOpMask);
    op->done(op, res);
    return;
  }
  auto* c = reinterpret_cast<Conn*>(user_data & ~kOpMask);
  const std::uint64_t op = user_data & kOpMask;
  if (op == kOpRecv && c->tls != nullptr) {
    c->recv_inflight = false;
    if (!c->closing) on_tls_received(*c, res);
  } else if (op == kOpSend && c->tls != nullptr) {
    c->send_inflight = false;
    if (res >= 0) {
      c->tls->sent(static_cast<std::size_t>(res));
    } else if (res != -EINTR && res != -EAGAIN && !c->closing) {
      begin_close(*c, fmt::format("{}: send: {}", c->qp->config().name, std::strerror(-res)));
    }
  } else if (op == kOpRecv && c->st == nullptr) {
    c->recv_inflight = false;
    if (c->closing) return;
    on_qp_received(*c, res);
    receive_direct(*c);  // a payload began in this receive: take its rest where it belongs
  } else if (op == kOpPoll) {
    c->recv_inflight = false;
    if (c->closing) return;
    if (res < 0 && res != -EINTR && res != -EAGAIN) {
      begin_close(*c, fmt::format("{}: poll: {}", c->qp->config().name, std::strerror(-res)));
      return;
    }
    receive_direct(*c);
  } else if (op == kOpRecv) {
    c->recv_inflight = false;
    if (c->closing) return;
    if (res > 0) {
      if (auto r = c->st->on_receive(Bytes(c->rx.data(), static_cast<std::size_t>(res))); !r) {
        begin_close(*c, r.error().message);
      }
    } else if (res == 0) {
      begin_close(*c, "closed by the peer", true);
    } else if (res != -EINTR && res != -EAGAIN) {
      begin_close(*c, fmt::format("stream: recv: {}", std::strerror(-res)));
    }
  } else if (op == kOpSend && c->st != nullptr) {
    c->send_inflight = false;
    if (res >= 0) {
      c->st->on_sent(static_cast<std::size_t>(res));
    } else if (res != -EINTR && res != -EAGAIN) {
      begin_close(*c, fmt::format("send: {}", std::strerror(-res)));
    }
  } else if (op == kOpSend) {
    c->send_inflight = false;
    if (res >= 0) {
      c->qp->sent(static_cast<std::size_t>(res));
    } else {
      c->qp->send_failed();
      if (res != -EINTR && res != -EAGAIN) {
        begin_close(*c, fmt::format("{}: send: {}", c->qp->config().name, std::strerror(-res)));
      }
    }
  }
}

void Reactor::run_posted() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    work.swap(mailbox_);
  }
  for (auto& fn : work) {
    fn();
  }
}

void Reactor::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    mailbox_.push_back(std::move(fn));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof one);
}

Result<unsigned> Reactor::poll(Nanos timeout) {
  arm_event();
  for (auto& c : conns_) {
    arm(*c);
  }
  if (timeout.count() <= 0) {
    // Submit and reap without waiting: io_uring_enter(GETEVENTS) with min_complete 0 runs the
    // deferred task work (socket completions under DEFER_TASKRUN) and returns. A wait for one
    // CQE with a zero timeout would instead arm an already-expired hrtimer and schedule() until
    // its interrupt: a sleep and a wake-up on every busy-poll spin that finds nothing.
    const int rc = io_uring_submit_and_get_events(ring_->get());
    if (rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
      return make_error(Errc::Io, fmt::format("io_uring_submit_and_get_events: {}", std::strerror(-rc)));
    }
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = static_cast<long long>(timeout.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long long>(timeout.count() % 1'000'000'000);
    io_uring_cqe* first = nullptr;
    const int rc = io_uring_submit_and_wait_timeout(ring_->get(), &first, 1, &ts, nullptr);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY) {
      return make_error(Errc::Io, fmt::format("io_uring_submit_and_wait_timeout: {}", std::strerror(-rc)));
    }
  }
  unsigned handled = 0;
  unsigned head = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(ring_->get(), head, cqe) {
    handle(io_uring_cqe_get_data64(cqe), cqe->res);
    ++handled;
  }
  io_uring_cq_advance(ring_->get(), handled);
  // Command deadlines are coarse (seconds): scanning every slot once per turn would cost
  // more than the I/O at high rates, so they are checked every kTimeoutScan.
  const TimePoint now = clock_.now();
  const bool scan = now >= next_timeout_scan_;
  if (scan) {
    next_timeout_scan_ = now + kTimeoutScan;
  }
  for (auto& c : conns_) {
    if (c->st != nullptr) continue;
    if (scan && !c->closing && c->qp->check_timeouts()) {
      begin_close(*c, c->qp->failure());
    }
    if (!c->closing && c->qp->state() == QpState::Failed) {
      begin_close(*c, c->qp->failure());
    }
  }
  // Connections whose operations have all reported are closed and forgotten.
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn& c = **it;
    if (c.closing && !c.recv_inflight && !c.send_inflight) {
      ::close(c.fd);
      c.fd = -1;
      auto owned = std::move(*it);
      it = conns_.erase(it);
      if (owned->st != nullptr) {
        owned->st->on_closed(owned->reason);
      } else if (owned->on_close != nullptr) {
        owned->on_close(owned->ctx, *owned->qp, owned->reason);
      }
    } else {
      ++it;
    }
  }
  return handled;
}

}  // namespace nvmemp::transport
