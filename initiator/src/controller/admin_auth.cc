// In-band authentication of the admin queue (DH-HMAC-CHAP through auth::QueueAuth): the
// parameters and the command path the bring-up's step_authenticate() uses, and the
// re-authentication of a live controller on request (Controller::reauthenticate).
#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/log.h"
#include "controller/controller.h"

namespace nvmemp::controller {

using wire::Sqe;

auth::QueueAuthParams Controller::admin_auth_params() const {
  auth::QueueAuthParams p;
  p.hostnqn = opts_.host.hostnqn;
  p.subnqn = opts_.subnqn;
  p.queue = fmt::format("{} qid 0", name());
  p.max_icd = wire::kAdminInCapsuleData;
  p.keys = opts_.dhchap;
  return p;
}

// Authentication commands on the admin queue; with a `deadline` (the bring-up's), each gets what
// is left of it, without (TimePoint::max(): a re-authentication) the admin timeout.
auth::AuthSubmit Controller::admin_auth_submit(TimePoint deadline) {
  return [this, deadline](const Sqe& sqe, std::vector<std::uint8_t> send, std::uint32_t recv_len,
                          auth::AuthDoneFn done) -> Result<void> {
    if (!admin_) return make_error(Errc::Io, "the admin queue is gone");
    Nanos left{0};
    if (deadline != TimePoint::max() && opts_.connect_timeout.count() > 0) {
      left = std::max<Nanos>(deadline - clock_.now(), Nanos(1));
    }
    return admin_->submit(sqe, recv_len, std::move(send),
                          [this, done = std::move(done)](const AdminResult& res) {
                            std::string failure;
                            if (!res.completion.status.ok() && admin_) failure = admin_->qp().failure();
                            done(auth::AuthCompletion{res.completion.status, res.data, failure});
                          },
                          left);
  };
}

void Controller::reauthenticate(ReauthFn done) {
  const std::optional<Error> refuse =
      auth::reauth_refusal(name(), sm_.state() == CtrlState::Live && admin_,
                           fmt::format("live ({})", ctrl_state_name(sm_.state())), reauth_ != nullptr,
                           opts_.dhchap && info_.auth != "none");
  if (refuse) {
    reactor_.post([done = std::move(done), e = *refuse] { done(tl::unexpected(e)); });
    return;
  }
  reauth_done_ = std::move(done);
  reauth_ = auth::QueueAuth::start(reactor_, admin_auth_params(), admin_auth_submit(TimePoint::max()),
                                   [this](const Result<std::string>& r) {
                                     reauth_.reset();
                                     auto cb = std::move(reauth_done_);
                                     reauth_done_ = nullptr;
                                     if (r) {
                                       info_.auth = *r;
                                       log(LogLevel::Info, "ctrl {}: re-authenticated ({})", name(), *r);
                                       if (cb) cb(r);
                                       return;
                                     }
                                     const Error e = auth::reauth_failed(r.error(), "the controller", info_.auth);
                                     log(LogLevel::Warn, "ctrl {}: re-authentication failed: {}", name(), e.message);
                                     if (cb) cb(tl::unexpected(e));
                                   });
}

}  // namespace nvmemp::controller
