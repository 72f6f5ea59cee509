// In-band authentication on the simulated target: the `auth-host` / `auth-off` / `auth-fault`
// control lines, the `status` lines, the keys a controller takes when it connects, and the
// glue between the command path (Core, Connection) and the exchange (sim_auth.cc).
#include <fmt/format.h>

#include "sim_auth.h"
#include "sim_connection.h"

namespace nvmemp::sim {

using namespace auth;

void QueueAuth::clear_exchange() {
  offered.clear();
  c1.clear();
  kp.reset();
  z = SecretBuf();
  bidirectional = false;
  c2.clear();
  s2 = 0;
}

SimAuth::SimAuth(std::string subnqn, std::function<void(std::string_view)> log)
    : subnqn_(std::move(subnqn)), log_(std::move(log)) {}

void SimAuth::restart() {
  auth_off();
  pending_faults_ = 0;
  refuse_reauth_ = false;
  refuse_reauth_cse_ = false;
}

Result<std::string> SimAuth::run_control(const ControlCommand& cmd) {
  const AuthLine& a = cmd.auth;
  switch (cmd.op) {
    case ControlOp::AuthOff: auth_off(); return std::string();
    case ControlOp::AuthHost: {
      // Both keys are checked before anything changes; an error names the key, never its text.
      auto key = parse_dhchap_secret(a.key, "KEY");
      if (!key) return tl::unexpected(key.error());
      AuthHost h;
      h.key = std::move(*key);
      if (!a.ctrl_key.empty()) {
        auto ck = parse_dhchap_secret(a.ctrl_key, "CTRLKEY");
        if (!ck) return tl::unexpected(ck.error());
        h.ctrl_key = std::move(*ck);
      }
      h.hash = a.hash;
      h.group = a.group;
      hosts_.insert_or_assign(a.hostnqn, std::move(h));  // a new entry, as the real target's
      return std::string();
    }
    case ControlOp::AuthFault:
      switch (a.fault) {
        case AuthFault::Off:
          pending_faults_ = 0;
          refuse_reauth_ = false;
          refuse_reauth_cse_ = false;
          break;
        case AuthFault::RefuseReauth: refuse_reauth_ = true; break;
        case AuthFault::RefuseReauthCse: refuse_reauth_cse_ = true; break;
        case AuthFault::Failure1:
          failure1_reason_ = a.reason;
          pending_faults_ |= 1u << static_cast<unsigned>(a.fault);
          break;
        default: pending_faults_ |= 1u << static_cast<unsigned>(a.fault); break;
      }
      return std::string();
    default: break;
  }
  return make_error(Errc::InvalidArgument, "not an authentication command");
}

bool SimAuth::take_fault(AuthFault f) {
  const std::uint32_t bit = 1u << static_cast<unsigned>(f);
  const bool armed = (pending_faults_ & bit) != 0;
  pending_faults_ &= ~bit;
  if (armed) {
    log_(fmt::format("auth-fault {} fired", kAuthFaultNames[static_cast<std::size_t>(f)]));
  }
  return armed;
}

std::string SimAuth::status_lines() const {
  std::string out;
  std::string faults;  // sim only: before the real target's lines, which end the status
  for (std::size_t i = 1; i < kAuthFaultNames.size(); ++i) {
    if ((pending_faults_ & (1u << i)) != 0) {
      faults += fmt::format(" {}", kAuthFaultNames[i]);
      if (static_cast<AuthFault>(i) == AuthFault::Failure1) faults += fmt::format("={}", failure1_reason_);
    }
  }
  if (refuse_reauth_) faults += " refuse-reauth";
  if (refuse_reauth_cse_) faults += " refuse-reauth-cse";
  if (!faults.empty()) out += "auth-fault" + faults + "\n";
  out += fmt::format("auth supported=1 allow_any_host={}\n", hosts_.empty() ? 1 : 0);
  const auto label = [](const DhchapSecret& s) { return fmt::format("DHHC-1:{:02}", static_cast<int>(s.transform)); };
  for (const auto& [nqn, h] : hosts_) {
    out += fmt::format("host {} allowed=1 key={} ctrl_key={} hash={} dhgroup={}\n", nqn, label(h.key),
                       h.ctrl_key ? label(*h.ctrl_key) : "-", auth_hash_config_name(h.hash), dh_group_name(h.group));
  }
  return out;
}

Result<std::shared_ptr<const CtrlAuth>> SimAuth::controller_auth(const std::string& hostnqn) const {
  auto it = hosts_.find(hostnqn);
  if (it == hosts_.end()) return std::shared_ptr<const CtrlAuth>();
  auto c = std::make_shared<CtrlAuth>();
  auto kh = transform_key(it->second.key, hostnqn);
  if (!kh) return tl::unexpected(kh.error());
  c->kh = std::move(*kh);
  if (it->second.ctrl_key) {
    auto kc = transform_key(*it->second.ctrl_key, subnqn_);
    if (!kc) return tl::unexpected(kc.error());
    c->kc = std::move(*kc);
  }
  c->hash = it->second.hash;
  c->group = it->second.group;
  return std::shared_ptr<const CtrlAuth>(std::move(c));
}

void SimAuth::log_queue(const AuthQueueRef& ref, std::string_view what) const {
  log_(fmt::format("port {} cntlid {} qid {}: DH-HMAC-CHAP: {}", ref.port + 1, ref.cntlid, ref.qid, what));
}

// ---- Core glue ----

CmdResult Core::authentication(Connection& c, Controller& ctrl, const wire::Sqe& sqe, Bytes data) {
  AuthQueueRef ref{c.auth_state(), ctrl.auth, ctrl.hostnqn, c.qid(), ctrl.cntlid, c.port(), ctrl.discovery};
  return sqe.fctype() == 0x05 ? auth_->send(ref, sqe, data) : auth_->receive(ref, sqe);
}

bool Core::auth_required(const Connection& c, const Controller& ctrl) const {
  return ctrl.auth != nullptr && !c.auth_state().authenticated;
}

bool Core::host_allowed(std::string_view hostnqn) const { return auth_->host_allowed(hostnqn); }

void Core::controller_fatal(std::uint16_t cntlid, Connection& carrier, const std::string& why) {
  Controller* ctrl = controller(cntlid);
  if (ctrl == nullptr) {
    return;
  }
  log(fmt::format("controller {}: fatal error ({}): closing its queues", cntlid, why));
  ctrl->csts |= 0x2u;  // CSTS.CFS
  std::vector<Connection*> queues = ctrl->io;
  if (ctrl->admin != nullptr) {
    queues.push_back(ctrl->admin);
  }
  // The queue that carries the last message first: it goes out before its socket closes. The
  // admin queue's close deletes the controller and closes what is left at once.
  carrier.close_when_flushed(why);
  for (Connection* q : queues) {
    if (q != &carrier && !q->closed()) {
      q->close_when_flushed(why);
    }
  }
}

void Connection::close_when_flushed(std::string why) {
  if (closed_) {
    return;
  }
  close_why_ = std::move(why);
  close_after_flush_ = true;
  pending_.clear();  // what the host sent after it is never run
  on_writable();     // closes now when nothing waits to be sent
}

}  // namespace nvmemp::sim
