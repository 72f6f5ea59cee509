// An I/O queue of a live controller on the reactor of the thread that owns it (its I/O
// thread): ICReq/ICResp, then Fabrics Connect with the controller's cntlid, then, when the
// Connect response asks for it (ATR), in-band authentication with the controller's keys
// (auth/queue_auth.h; its DH computation runs off this thread). After it is ready
// the queue pair is the caller's: completions go to its CompletionFn.
//
// Two ways in:
//  - begin(): never blocks. The control thread did the TCP connect (transport::tcp_connect:
//    a connect to a dead address must not stall I/O) and posted the socket; the I/O thread
//    begins the queue on it and learns from `on_ready`, in a later poll, whether it is live.
//  - open(): blocks the calling thread (TCP connect, then turns the reactor) until the queue
//    is ready or failed. For tools and tests; built on begin().
//
// Lifetime: the owner keeps the IoQueue until it is destroyed on the reactor's thread. The
// destructor closes the connection and turns the reactor until its socket is closed, so it
// must not run inside the reactor's callbacks (completion, on_ready(ok)); after a failure
// (on_ready with an error, or closed()) the socket is gone and destroying it does nothing
// more, also from inside on_ready.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/queue_auth.h"
#include "controller/controller.h"
#include "transport/queue_pair.h"
#include "transport/reactor.h"

namespace nvmemp::controller {

class IoQueue {
 public:
  // The result of the set-up, exactly once: success from the completion of the Connect
  // (inside a poll); an error once the connection is closed (the socket is gone by then).
  using ReadyFn = std::function<void(const Result<void>& ready)>;

  // Starts the set-up on `conn` (connected, non-blocking, TLS done if set up; the IoQueue owns it, also
  // when an error is returned) and returns at once. `on_ready` follows from a later poll of
  // `reactor`. The whole set-up (ICResp and Connect) is bounded by opts.connect_timeout: the
  // reactor's timeout scan fails a queue that does not answer, no tick is needed.
  // cntlid, max_icd, max_data_len: ControllerInfo's of the live controller.
  // Errors at once: the Connect data cannot be encoded (NQN too long), the socket is refused.
  static Result<std::unique_ptr<IoQueue>> begin(transport::Reactor& reactor, const Clock& clock,
                                                const ControllerOptions& opts, std::uint16_t cntlid,
                                                std::uint32_t max_icd, std::uint32_t max_data_len, std::uint16_t qid,
                                                transport::Connection conn, transport::CompletionFn on_complete, void* ctx,
                                                ReadyFn on_ready);

  // Blocks this thread (turning `reactor`) until the queue is connected or failed, at most
  // about opts.connect_timeout for the TCP connect plus as much for ICResp and Connect.
  static Result<std::unique_ptr<IoQueue>> open(transport::Reactor& reactor, const Clock& clock,
                                               const ControllerOptions& opts, const ControllerInfo& info,
                                               std::uint16_t qid, transport::CompletionFn on_complete, void* ctx);
  ~IoQueue();
  IoQueue(const IoQueue&) = delete;
  IoQueue& operator=(const IoQueue&) = delete;

  transport::QueuePair& qp() noexcept { return *qp_; }
  const transport::QueuePair& qp() const noexcept { return *qp_; }
  // Connect succeeded and the connection is up: commands may be submitted.
  bool live() const noexcept { return ready_ok_ && !closed_ && qp_->state() == transport::QpState::Live; }
  bool closed() const noexcept { return closed_; }
  const std::string& close_reason() const noexcept { return close_reason_; }
  // What this queue's authentication negotiated: "dhchap sha384 ffdhe3072", or "none".
  const std::string& auth() const noexcept { return negotiated_; }
  // The last sign of life of the connection: when bytes last came in (TimePoint{} before the
  // first). See QueuePair::last_progress().
  TimePoint last_progress() const noexcept { return qp_->last_progress(); }

  // Runs DH-HMAC-CHAP again on this live queue, which went through it after its Connect, while
  // its I/O goes on (the exchange's commands are tagged apart from the caller's). `done` from a
  // later poll, exactly once: the negotiated pair, or an error:
  //   AuthFailed / Protocol: refused, by the controller (a Failure1, or a status on the Send:
  //     SPDK's target refuses every re-authentication with Command Sequence Error) or by us (a
  //     wrong R2): the queue stays as it was, with its earlier authentication;
  //   Io: a command was lost, so the queue fails as for any lost command (the owner's reconnect);
  //   InvalidArgument: the queue did not authenticate (no ATR: nothing to renew), or a
  //     re-authentication is already under way.
  using ReauthFn = std::function<void(const Result<std::string>& negotiated)>;
  void reauthenticate(ReauthFn done);

  // Fails the queue from a later poll (not from inside this call): every command in flight
  // completes with Host Pathing Error (never sent) or Command Aborted By Host (may have
  // reached the controller), then the socket closes. During set-up on_ready gets the error.
  // Idempotent; the first reason is kept.
  void close(const std::string& reason);

 private:
  IoQueue(transport::Reactor& reactor, const Clock& clock) : reactor_(reactor), clock_(clock) {}
  static void trampoline(void* ctx, const transport::Completion& c);
  static void on_live(void* ctx);
  static void on_closed(void* ctx, transport::QueuePair& qp, const std::string& reason);
  void send_connect();
  void connected(std::uint32_t dw0);
  void authenticate();
  void start_auth(auth::QueueAuth::DoneFn done);
  void auth_completed(const transport::Completion& c);
  void ready();
  void fail_setup(Errc code, std::string why);

  transport::Reactor& reactor_;
  const Clock& clock_;
  std::unique_ptr<transport::QueuePair> qp_;
  transport::CompletionFn user_fn_ = nullptr;
  void* user_ctx_ = nullptr;
  ReadyFn on_ready_;
  std::uint16_t qid_ = 0;
  std::uint16_t sqsize_ = 0;
  TimePoint deadline_{};                 // of the whole set-up
  bool connecting_ = true;               // the Connect's completion is ours, not the caller's
  bool connect_sent_ = false;            // ICResp came, the Connect was submitted
  bool ready_ok_ = false;
  bool ready_reported_ = false;
  Errc fail_code_ = Errc::Io;
  std::string fail_reason_;              // why set-up failed, when we decided it
  std::vector<std::uint8_t> connect_data_;
  // Authentication: the keys and names it needs, the exchange, and its one command in flight.
  std::shared_ptr<const auth::DhchapKeys> keys_;
  std::string hostnqn_, subnqn_;
  std::uint32_t max_icd_ = 0;
  std::shared_ptr<auth::QueueAuth> auth_;
  auth::AuthDoneFn auth_done_;
  std::vector<std::uint8_t> auth_send_, auth_recv_;
  std::string negotiated_ = "none";
  ReauthFn reauth_done_;  // the re-authentication under way
  bool closed_ = false;
  bool close_posted_ = false;
  std::string close_reason_;
  // Lets a close() posted to the reactor find out that this IoQueue is gone meanwhile.
  std::shared_ptr<IoQueue*> self_;
};

}  // namespace nvmemp::controller
