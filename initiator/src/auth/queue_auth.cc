#include "auth/queue_auth.h"

#include <atomic>

#include <fmt/format.h>

#include "transport/reactor.h"

namespace nvmemp::auth {

namespace {

// T_ID of each exchange: a counter, as the kernel host keeps per controller; any value will do
// as long as both ends see the same one for the whole exchange.
std::uint16_t next_transaction_id() {
  static std::atomic<std::uint16_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

DhchapHostConfig host_config(const QueueAuthParams& p) {
  DhchapHostConfig cfg;
  cfg.hostnqn = p.hostnqn;
  cfg.subnqn = p.subnqn;
  if (p.keys) {
    cfg.host_key = p.keys->host_key.bytes();
    cfg.ctrl_key = p.keys->ctrl_key.bytes();
  }
  return cfg;
}

}  // namespace

QueueAuth::QueueAuth(transport::Reactor& home, QueueAuthParams params, AuthSubmit submit, DoneFn done,
                     DhWorker& worker)
    : params_(std::move(params)),
      submit_(std::move(submit)),
      done_(std::move(done)),
      worker_(worker),
      exchange_(host_config(params_), next_transaction_id()),
      home_(&home) {}

std::shared_ptr<QueueAuth> QueueAuth::start(transport::Reactor& home, QueueAuthParams params, AuthSubmit submit,
                                            DoneFn done, DhWorker& worker) {
  auto a = std::make_shared<QueueAuth>(home, std::move(params), std::move(submit), std::move(done), worker);
  a->send(Stage::Negotiate, a->exchange_.negotiate());
  return a;
}

void QueueAuth::cancel() {
  cancelled_ = true;
  done_ = nullptr;
  std::lock_guard<std::mutex> lock(home_mu_);
  home_ = nullptr;
}

std::string QueueAuth::stage_name() const {
  switch (stage_) {
    case Stage::Negotiate: return "Authentication Send (AUTH_Negotiate)";
    case Stage::Challenge: return "Authentication Receive (DH-HMAC-CHAP_Challenge)";
    case Stage::Reply: return "Authentication Send (DH-HMAC-CHAP_Reply)";
    case Stage::Success1: return "Authentication Receive (DH-HMAC-CHAP_Success1)";
    case Stage::Success2: return "Authentication Send (DH-HMAC-CHAP_Success2)";
    case Stage::Failure2: return "Authentication Send (AUTH_Failure2)";
    case Stage::Finished: break;
  }
  return "authentication";
}

void QueueAuth::send(Stage stage, std::vector<std::uint8_t> message) {
  stage_ = stage;
  const auto len = static_cast<std::uint32_t>(message.size());
  auto r = submit_(wire::make_auth_send(len, params_.max_icd), std::move(message), 0,
                   [self = shared_from_this()](const AuthCompletion& c) { self->on_complete(c); });
  if (!r) fail_later(r.error());
}

void QueueAuth::receive(Stage stage) {
  stage_ = stage;
  auto r = submit_(wire::make_auth_receive(), {}, wire::kAuthReceiveLen,
                   [self = shared_from_this()](const AuthCompletion& c) { self->on_complete(c); });
  if (!r) fail_later(r.error());
}

// Not from inside the caller's own call (start() among them): from the next poll.
void QueueAuth::fail_later(const Error& e) {
  Result<std::string> outcome =
      make_error(e.code, fmt::format("{}: DH-HMAC-CHAP: could not submit the {}: {}", params_.queue, stage_name(),
                                     e.message));
  stage_ = Stage::Finished;  // nothing else happens meanwhile
  std::lock_guard<std::mutex> lock(home_mu_);
  if (home_ == nullptr) return;
  home_->post([self = shared_from_this(), outcome = std::move(outcome)] { self->deliver(outcome); });
}

void QueueAuth::on_complete(const AuthCompletion& c) {
  if (cancelled_ || stage_ == Stage::Finished) return;
  if (stage_ == Stage::Failure2) {
    finish(tl::unexpected(failure_));  // the Failure2's own fate changes nothing
    return;
  }
  if (!c.status.ok()) {
    if (!c.failure.empty()) {
      // nvmet tears the controller down when it rejects the Reply, at times before the
      // AUTH_Failure1 that says so has left: the lost Success1 is most likely that rejection.
      const char* hint = stage_ == Stage::Success1
                             ? "; a controller that rejects the Reply may close the connection before its "
                               "AUTH_Failure1 arrives: if this repeats, check the host key (dhchap_secret)"
                             : "";
      finish(make_error(Errc::Io, fmt::format("{}: DH-HMAC-CHAP: the {} did not complete: {}{}", params_.queue,
                                              stage_name(), c.failure, hint)));
      return;
    }
    finish(make_error(c.status.dnr() ? Errc::AuthFailed : Errc::Protocol,
                      fmt::format("{}: DH-HMAC-CHAP: the controller failed the {}: {}", params_.queue, stage_name(),
                                  c.status.to_string())));
    return;
  }
  switch (stage_) {
    case Stage::Negotiate:
      receive(Stage::Challenge);
      return;
    case Stage::Challenge: {
      // A Failure1, a malformed message or a null-group Challenge costs nothing to answer: here
      // and now, before a close that may follow a Failure1 can overtake it. An FFDHE Challenge
      // (its ephemeral key and the shared secret) goes to the worker's thread.
      const bool ffdhe = c.data.size() > 9 && c.data[0] == kAuthDhchap && c.data[1] == kIdChallenge && c.data[9] != 0;
      if (!ffdhe) {
        on_step(exchange_.on_challenge(c.data));
        return;
      }
      std::vector<std::uint8_t> challenge(c.data.begin(), c.data.end());
      worker_.run([self = shared_from_this(), challenge = std::move(challenge)]() mutable {
        self->answer_challenge(std::move(challenge));
      });
      return;
    }
    case Stage::Reply:
      receive(Stage::Success1);
      return;
    case Stage::Success1:
      on_step(exchange_.on_success1(c.data));
      return;
    case Stage::Success2:
      finish(exchange_.negotiated());
      return;
    case Stage::Failure2:
    case Stage::Finished:
      return;
  }
}

// On the worker's thread; the home thread waits meanwhile (nothing else touches exchange_).
void QueueAuth::answer_challenge(std::vector<std::uint8_t> challenge) {
  DhchapStep step = exchange_.on_challenge(challenge);
  std::lock_guard<std::mutex> lock(home_mu_);
  if (home_ == nullptr) return;  // cancelled: the owner and maybe its reactor are gone
  home_->post([self = shared_from_this(), step = std::move(step)]() mutable { self->on_step(std::move(step)); });
}

void QueueAuth::on_step(DhchapStep step) {
  if (cancelled_) return;
  switch (step.verdict) {
    case DhchapStep::Verdict::Continue:
      send(Stage::Reply, std::move(step.send));
      return;
    case DhchapStep::Verdict::Done:
      if (step.send.empty()) {
        finish(exchange_.negotiated());
      } else {
        send(Stage::Success2, std::move(step.send));
      }
      return;
    case DhchapStep::Verdict::Failed:
      failure_ = Error{step.error.code, fmt::format("{}: {}", params_.queue, step.error.message)};
      // Every verdict against the exchange is final: the controller or we said no (an OpenSSL
      // failure of our own, Io, is not).
      if (failure_.code != Errc::Io) failure_.code = Errc::AuthFailed;
      if (step.send.empty()) {
        finish(tl::unexpected(failure_));
      } else {
        send(Stage::Failure2, std::move(step.send));
      }
      return;
  }
}

void QueueAuth::finish(const Result<std::string>& outcome) {
  if (stage_ == Stage::Finished) return;
  stage_ = Stage::Finished;
  deliver(outcome);
}

void QueueAuth::deliver(const Result<std::string>& outcome) {
  if (auto d = std::move(done_)) {
    done_ = nullptr;
    if (!cancelled_) d(outcome);
  }
}

std::optional<Error> reauth_refusal(const std::string& queue, bool live, const std::string& down_state, bool running,
                                    bool authenticated) {
  if (!live) return Error{Errc::Io, fmt::format("{}: not {}, nothing to re-authenticate", queue, down_state)};
  if (running) return Error{Errc::InvalidArgument, fmt::format("{}: a re-authentication is already under way", queue)};
  if (!authenticated) {
    return Error{Errc::InvalidArgument, fmt::format("{}: it did not authenticate (the controller did not ask for it), "
                                                    "so there is nothing to re-authenticate",
                                                    queue)};
  }
  return std::nullopt;
}

Error reauth_failed(Error e, const std::string& who, const std::string& negotiated) {
  if (e.code != Errc::Io) e.message += fmt::format("; {} keeps its earlier authentication ({})", who, negotiated);
  return e;
}

}  // namespace nvmemp::auth
