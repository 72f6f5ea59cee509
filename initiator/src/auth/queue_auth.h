// QueueAuth: one DH-HMAC-CHAP exchange (DhchapHostExchange) carried out on one queue with
// Authentication Send / Receive commands: on the admin queue right after its Connect
// (Controller, on the control thread), on each I/O queue right after its Connect (IoQueue, on
// its I/O thread), and again on a re-authentication. The queue's owner says how a command is
// submitted (AuthSubmit); QueueAuth sends Negotiate, receives the Challenge, has the DhWorker
// answer it (the ffdhe computation stays off the queue's thread), sends the Reply, receives
// the Success1 and sends the Success2, or a Failure2 where the controller's message was wrong.
// Every step after the first runs from the queue's thread (`home`), in its reactor's polls.
//
// The outcome, exactly once unless cancelled: the negotiated "dhchap sha384 ffdhe3072", or an
// Error whose code says what the owner does next:
//   AuthFailed  the controller refused us (AUTH_Failure1, a status with DNR) or we refused it
//               (wrong R2, a Success1 without R2, a hash or group we did not offer), or no host
//               key: no retry until the keys change (reload, reauth);
//   Io          a command never completed (connection lost, timed out): retry as for any
//               transport error;
//   Protocol    a status without DNR: retry.
// No message ever holds key bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth/dh_worker.h"
#include "auth/dhchap_keys.h"
#include "auth/dhchap_host.h"
#include "nvmemp/status.h"
#include "wire/sqe.h"

namespace nvmemp::transport {
class Reactor;
}

namespace nvmemp::auth {

// The completion of one Authentication Send or Receive.
struct AuthCompletion {
  Status status;
  std::span<const std::uint8_t> data;  // what a Receive brought (its whole buffer)
  std::string failure;                  // why the queue failed, when the command never completed
};
using AuthDoneFn = std::function<void(const AuthCompletion&)>;
// Submits `sqe` with `send` as its data (a Send) or a `recv_len`-byte buffer (a Receive) on the
// queue; `done` runs from a later poll of the queue's reactor. An error: not submitted.
using AuthSubmit =
    std::function<Result<void>(const wire::Sqe& sqe, std::vector<std::uint8_t> send, std::uint32_t recv_len, AuthDoneFn done)>;

struct QueueAuthParams {
  std::string hostnqn;
  std::string subnqn;
  std::string queue;          // names the queue in messages: "nqn @ 127.0.0.1:4420 cntlid 1 qid 0"
  std::uint32_t max_icd = 0;  // the queue's in-capsule data limit: a larger Send goes by R2T
  std::shared_ptr<const DhchapKeys> keys;
};

class QueueAuth : public std::enable_shared_from_this<QueueAuth> {
 public:
  using DoneFn = std::function<void(const Result<std::string>& negotiated)>;

  // Sends the Negotiate now (from inside this call) and returns; `done` follows from a later
  // poll of `home`, which must be the reactor of the calling thread and of the queue.
  static std::shared_ptr<QueueAuth> start(transport::Reactor& home, QueueAuthParams params, AuthSubmit submit,
                                          DoneFn done, DhWorker& worker = DhWorker::shared());
  // The owner gives up on the exchange (its queue is going): `done` is not called and nothing
  // more is submitted. From the home thread; idempotent.
  void cancel();

  QueueAuth(transport::Reactor& home, QueueAuthParams params, AuthSubmit submit, DoneFn done, DhWorker& worker);
  QueueAuth(const QueueAuth&) = delete;
  QueueAuth& operator=(const QueueAuth&) = delete;

 private:
  enum class Stage : std::uint8_t { Negotiate, Challenge, Reply, Success1, Success2, Failure2, Finished };
  void send(Stage stage, std::vector<std::uint8_t> message);
  void receive(Stage stage);
  void on_complete(const AuthCompletion& c);
  void answer_challenge(std::vector<std::uint8_t> challenge);
  void on_step(DhchapStep step);
  void finish(const Result<std::string>& outcome);
  void fail_later(const Error& e);
  void deliver(const Result<std::string>& outcome);  // done_ once, unless cancelled
  std::string stage_name() const;

  QueueAuthParams params_;
  AuthSubmit submit_;
  DoneFn done_;
  DhWorker& worker_;
  DhchapHostExchange exchange_;
  Stage stage_ = Stage::Negotiate;
  bool cancelled_ = false;
  Error failure_{Errc::Refused, {}};  // while a Failure2 goes out: the error to report after it
  std::mutex home_mu_;                // guards home_ against the worker's post
  transport::Reactor* home_;          // null once cancelled
};

// Re-authentication on request, as the admin queue (Controller) and an I/O queue (IoQueue) both
// answer it. Why one cannot start on `queue` (nullopt: it can): `live` false is Errc::Io, "not
// <down_state>"; one already `running`, or a queue that never `authenticated` (the controller did
// not ask), are InvalidArgument.
std::optional<Error> reauth_refusal(const std::string& queue, bool live, const std::string& down_state, bool running,
                                    bool authenticated);
// A failed re-authentication's error: unless the queue was lost (Errc::Io), it says the queue
// keeps `negotiated`, the earlier pair ("the controller keeps its earlier authentication (...)").
Error reauth_failed(Error e, const std::string& who, const std::string& negotiated);

}  // namespace nvmemp::auth
