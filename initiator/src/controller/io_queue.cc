#include "controller/io_queue.h"

#include <unistd.h>

#include <fmt/format.h>

#include "controller/queue_connect.h"

namespace nvmemp::controller {

using namespace std::chrono_literals;

namespace {
// The user tag of this queue's authentication commands: their completions are not the caller's.
char kAuthCommand;
}  // namespace

void IoQueue::trampoline(void* ctx, const transport::Completion& c) {
  auto* self = static_cast<IoQueue*>(ctx);
  if (!self->connecting_) {
    if (c.user == &kAuthCommand) {
      self->auth_completed(c);
      return;
    }
    self->user_fn_(self->user_ctx_, c);
    return;
  }
  // The Fabrics Connect of this queue, or a command of its authentication. Completed by the
  // teardown of a failed queue pair: on_closed() reports, with the queue pair's reason.
  if (self->qp_->state() == transport::QpState::Failed) {
    return;
  }
  if (self->auth_) {
    if (auto done = std::move(self->auth_done_)) {
      self->auth_done_ = nullptr;
      done(auth::AuthCompletion{c.status, self->auth_recv_, {}});
    }
    return;
  }
  if (!c.status.ok()) {
    // With DNR the controller will refuse this Connect again: the caller must not retry it as is.
    self->fail_setup(c.status.dnr() ? Errc::Refused : Errc::Protocol,
                     fmt::format("{}: Connect rejected: {}", self->qp_->config().name,
                                 wire::connect_status_text(c.status, c.dw0)));
    return;
  }
  self->connected(c.dw0);
}

void IoQueue::connected(std::uint32_t dw0) {
  if (wire::connect_authreq_ascr(dw0)) {
    fail_setup(Errc::Unsupported, fmt::format("{}: the controller requires authentication with secure channel "
                                          "concatenation (ASCR), which nvme-mpath does not support",
                                          qp_->config().name));
    return;
  }
  if (wire::connect_authreq_atr(dw0)) {
    authenticate();
    return;
  }
  ready();
}

void IoQueue::ready() {
  connecting_ = false;
  ready_ok_ = true;
  ready_reported_ = true;
  if (auto fn = std::move(on_ready_)) {
    on_ready_ = nullptr;
    fn({});
  }
}

// In-band authentication of this queue, before any I/O: the commands go through the queue
// pair one at a time, each bounded by what is left of connect_timeout.
void IoQueue::authenticate() {
  if (!keys_) {
    fail_setup(Errc::AuthFailed, fmt::format("{}: the controller requires in-band authentication (DH-HMAC-CHAP) on its "
                                          "I/O queues and no host key is configured: set dhchap_secret",
                                          qp_->config().name));
    return;
  }
  start_auth([this](const Result<std::string>& r) {
    if (!r) {
      // AuthFailed: not asked again in this association (as Refused); a lost command is Io.
      fail_setup(r.error().code, r.error().message);
      return;
    }
    negotiated_ = *r;
    ready();
  });
}

void IoQueue::start_auth(auth::QueueAuth::DoneFn done) {
  auth::QueueAuthParams p;
  p.hostnqn = hostnqn_;
  p.subnqn = subnqn_;
  p.queue = qp_->config().name;
  p.max_icd = max_icd_;
  p.keys = keys_;
  auto submit = [this](const wire::Sqe& sqe, std::vector<std::uint8_t> send, std::uint32_t recv_len,
                       auth::AuthDoneFn cmd_done) -> Result<void> {
    auth_send_ = std::move(send);
    auth_recv_.assign(recv_len, 0);
    transport::Command cmd{sqe, auth_recv_, auth_send_, &kAuthCommand};
    // During set-up, what is left of connect_timeout; a re-authentication has the io_timeout.
    if (connecting_ && deadline_ != TimePoint::max()) cmd.timeout = std::max<Nanos>(deadline_ - clock_.now(), Nanos(1));
    auth_done_ = std::move(cmd_done);
    auto cid = qp_->submit(cmd);
    if (!cid) {
      auth_done_ = nullptr;
      return tl::unexpected(cid.error());
    }
    return {};
  };
  auth_ = auth::QueueAuth::start(reactor_, std::move(p), std::move(submit), std::move(done));
}

// A re-authentication's command on the live queue. On a failed queue pair on_closed() reports.
void IoQueue::auth_completed(const transport::Completion& c) {
  if (qp_->state() == transport::QpState::Failed) return;
  if (auto done = std::move(auth_done_)) {
    auth_done_ = nullptr;
    done(auth::AuthCompletion{c.status, auth_recv_, {}});
  }
}

void IoQueue::reauthenticate(ReauthFn done) {
  const std::string& name = qp_->config().name;
  const std::optional<Error> refuse =
      auth::reauth_refusal(name, live(), "connected", reauth_done_ != nullptr, keys_ && negotiated_ != "none");
  if (refuse) {
    reactor_.post([done = std::move(done), e = *refuse] { done(tl::unexpected(e)); });
    return;
  }
  reauth_done_ = std::move(done);
  start_auth([this](const Result<std::string>& r) {
    auth_.reset();
    auto cb = std::move(reauth_done_);
    reauth_done_ = nullptr;
    if (r) {
      negotiated_ = *r;
      cb(r);
      return;
    }
    cb(tl::unexpected(auth::reauth_failed(r.error(), "the queue", negotiated_)));
  });
}

void IoQueue::on_live(void* ctx) {
  // From received(): the ICResp is in; the Connect goes out with the same poll's sends.
  static_cast<IoQueue*>(ctx)->send_connect();
}

void IoQueue::send_connect() {
  wire::ConnectParams p;
  p.qid = qid_;
  p.sqsize = sqsize_;
  transport::Command cmd{wire::make_connect(p), {}, connect_data_, nullptr};
  // The Connect gets what is left of connect_timeout, not the queue's io_timeout.
  if (deadline_ != TimePoint::max()) {
    cmd.timeout = std::max<Nanos>(deadline_ - clock_.now(), Nanos(1));
  }
  connect_sent_ = true;
  if (auto cid = qp_->submit(cmd); !cid) {
    fail_setup(Errc::Protocol, cid.error().message);
  }
}

void IoQueue::fail_setup(Errc code, std::string why) {
  if (fail_reason_.empty()) {
    fail_code_ = code;
    fail_reason_ = std::move(why);
  }
  reactor_.close(*qp_, fail_reason_);  // on_closed() reports, once the socket is closed
}

void IoQueue::on_closed(void* ctx, transport::QueuePair& /*qp*/, const std::string& reason) {
  auto* self = static_cast<IoQueue*>(ctx);
  self->closed_ = true;
  self->close_reason_ = reason;
  if (self->auth_) self->auth_->cancel();
  if (auto reauth = std::move(self->reauth_done_)) {
    self->reauth_done_ = nullptr;
    reauth(tl::unexpected(Error{Errc::Io, fmt::format("{}: the connection closed during re-authentication: {}",
                                                      self->qp_->config().name, reason)}));
  }
  if (self->ready_reported_) {
    return;
  }
  self->ready_reported_ = true;
  Error err{self->fail_code_, self->fail_reason_};
  if (err.message.empty()) {
    err.code = self->clock_.now() >= self->deadline_ ? Errc::Timeout : Errc::Io;
    // Name the set-up step that was under way: the queue pair's reason says only "opcode 0x7f".
    err.message = fmt::format("{} (during the I/O queue's {})", reason,
                              self->auth_ ? "authentication" : self->connect_sent_ ? "Connect" : "ICReq/ICResp");
  }
  // Last: the owner may destroy this IoQueue from on_ready (nothing is left to drain).
  if (auto fn = std::move(self->on_ready_)) {
    self->on_ready_ = nullptr;
    fn(tl::unexpected(std::move(err)));
  }
}

Result<std::unique_ptr<IoQueue>> IoQueue::begin(transport::Reactor& reactor, const Clock& clock,
                                                const ControllerOptions& opts, std::uint16_t cntlid,
                                                std::uint32_t max_icd, std::uint32_t max_data_len, std::uint16_t qid,
                                                transport::Connection conn, transport::CompletionFn on_complete, void* ctx,
                                                ReadyFn on_ready) {
  const std::string name =
      fmt::format("{} @ {} cntlid {} qid {}", opts.subnqn, transport::endpoint_name(opts.endpoint), cntlid, qid);
  if (conn.fd() < 0 || qid == 0 || on_complete == nullptr || !on_ready) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: begin() needs a socket, an I/O qid (not 0) and both callbacks", name));
  }
  auto data = wire::encode_connect_data(opts.host.hostid, cntlid, opts.subnqn, opts.host.hostnqn);
  if (!data) {
    return make_error(data.error().code, fmt::format("{}: {}", name, data.error().message));
  }
  auto q = std::unique_ptr<IoQueue>(new IoQueue(reactor, clock));
  q->self_ = std::make_shared<IoQueue*>(q.get());
  q->user_fn_ = on_complete;
  q->user_ctx_ = ctx;
  q->on_ready_ = std::move(on_ready);
  q->qid_ = qid;
  q->sqsize_ = static_cast<std::uint16_t>(std::max<std::uint16_t>(opts.queue_size, 2) - 1);  // 0's based
  q->connect_data_.assign(data->begin(), data->end());  // lives as long as the queue pair
  q->keys_ = opts.dhchap;
  q->hostnqn_ = opts.host.hostnqn;
  q->subnqn_ = opts.subnqn;
  q->max_icd_ = max_icd;
  // connect_timeout 0 (or less): no deadline of its own, the Connect has io_timeout.
  q->deadline_ = opts.connect_timeout.count() > 0 ? clock.now() + opts.connect_timeout : TimePoint::max();
  transport::QueuePairConfig qc;
  qc.qid = qid;
  qc.queue_size = opts.queue_size;
  qc.hdgst = opts.hdgst;
  qc.ddgst = opts.ddgst;
  qc.max_icd = max_icd;
  qc.max_data_len = max_data_len;
  qc.io_timeout = opts.io_timeout;
  qc.icresp_timeout = opts.connect_timeout;
  qc.name = name;
  q->qp_ = std::make_unique<transport::QueuePair>(qc, clock, &IoQueue::trampoline, q.get());
  q->qp_->on_live(&IoQueue::on_live);
  if (auto a = reactor.attach(std::move(conn), *q->qp_, &IoQueue::on_closed, q.get()); !a) {
    q->closed_ = true;  // nothing attached: nothing to drain
    return make_error(a.error().code, fmt::format("{}: {}", name, a.error().message));
  }
  if (auto s = q->qp_->start(); !s) {
    q->fail_setup(Errc::Protocol, s.error().message);  // cannot happen on a new queue pair
  }
  return q;
}

Result<std::unique_ptr<IoQueue>> IoQueue::open(transport::Reactor& reactor, const Clock& clock,
                                               const ControllerOptions& opts, const ControllerInfo& info,
                                               std::uint16_t qid, transport::CompletionFn on_complete, void* ctx) {
  auto fd = connect_queue(opts, fmt::format("qid {}", qid));
  if (!fd) {
    return make_error(fd.error().code, fmt::format("{} @ {} cntlid {} qid {}: {}", opts.subnqn,
                                                   transport::endpoint_name(opts.endpoint), info.cntlid, qid,
                                                   fd.error().message));
  }
  std::optional<Result<void>> ready;
  ControllerOptions sized = opts;  // the queue as large as the controller allows (CAP.MQES, MAXCMD)
  if (info.io_queue_size != 0) sized.queue_size = info.io_queue_size;
  auto q = begin(reactor, clock, sized, info.cntlid, info.max_icd, info.max_data_len, qid, std::move(*fd), on_complete, ctx,
                 [&ready](const Result<void>& r) { ready = r; });
  if (!q) {
    return tl::unexpected(q.error());
  }
  // The queue pair's own deadlines end the set-up; this bound only guards against a reactor
  // that stopped turning.
  const TimePoint bound = clock.now() + opts.connect_timeout + 2s;
  while (!ready && clock.now() < bound) {
    if (auto p = reactor.poll(10ms); !p) {
      return tl::unexpected(p.error());
    }
  }
  if (!ready) {
    return make_error(Errc::Timeout, fmt::format("{}: not connected within {} ms", (*q)->qp_->config().name,
                                                 opts.connect_timeout.count()));
  }
  if (!*ready) {
    return tl::unexpected(ready->error());
  }
  return std::move(*q);
}

void IoQueue::close(const std::string& reason) {
  if (closed_ || close_posted_) {
    return;
  }
  close_posted_ = true;
  // Through the reactor's mailbox so the completions run from a later poll, never inside the
  // caller's own code. Cold path: the post allocates and takes the mailbox lock.
  reactor_.post([self = std::weak_ptr<IoQueue*>(self_), reason] {
    if (auto p = self.lock(); p && !(*p)->closed_) {
      IoQueue& q = **p;
      if (!q.ready_reported_) {
        q.fail_setup(Errc::Io, fmt::format("{}: closed: {}", q.qp_->config().name, reason));
      } else {
        q.reactor_.close(*q.qp_, reason);
      }
    }
  });
}

IoQueue::~IoQueue() {
  if (auth_) auth_->cancel();
  self_.reset();
  on_ready_ = nullptr;
  if (!closed_) {
    reactor_.close_and_drain(*qp_, qp_->config().name + ": I/O queue closed", std::chrono::seconds(2));
  }
}

}  // namespace nvmemp::controller
