// The controller side of in-band authentication (DH-HMAC-CHAP, NVMe base specification 8.13.5)
// on the simulated target, behaving like Linux nvmet 6.12 (drivers/nvme/target/auth.c and
// fabrics-cmd-auth.c; ../shared/guides/auth-tls-facts.md; the real target's README). Loop
// thread only. The message codec and the computations are the initiator's (auth/): the same
// code on both ends, so the `sim` tests also drive an independent host (probe.py).
//
// Configuration (sim_auth_config.cc): `auth-host` lines, one per host NQN, as nvmet's
// hosts/<nqn>/dhchap_* attributes; while any exists only those hosts may connect to the NVM
// subsystem (allowed_hosts with allow_any_host 0). A controller copies its host's keys, hash and
// group when its admin queue connects (and again on every admin-queue Negotiate, as nvmet's
// nvmet_setup_auth); every queue of it then authenticates on its own (QueueAuth).
//
// The exchange (sim_auth.cc): Authentication Send / Receive with nvmet's checks and state
// machine. A failure found while handling a Send completes the Send successfully and is
// reported by the next Receive as AUTH_Failure1, after which the controller is torn down
// (nvmet_ctrl_fatal_error), as is the case after a host's AUTH_Failure2.
//
// No secret (key, transformed key, DH private value or session key, responses) is ever logged,
// printed by `status` (only "DHHC-1:XX") or put in an error message.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dh_group.h"
#include "auth/dhchap_hash.h"
#include "auth/dhchap_messages.h"
#include "auth/dhchap_secret.h"
#include "auth/secret_buf.h"
#include "sim_core.h"

namespace nvmemp::sim {

// One `auth-host` entry.
struct AuthHost {
  auth::DhchapSecret key;
  std::optional<auth::DhchapSecret> ctrl_key;  // none: unidirectional only
  auth::DhchapHash hash = auth::DhchapHash::Sha256;
  auth::DhGroup group = auth::DhGroup::Null;
};

// What a controller holds from its host's entry (nvmet_setup_auth): transformed keys.
struct CtrlAuth {
  auth::SecretBuf kh;  // Kh' (host key transformed with the host NQN)
  auth::SecretBuf kc;  // Kc' (controller key transformed with the subsystem NQN); empty: none
  auth::DhchapHash hash = auth::DhchapHash::Sha256;
  auth::DhGroup group = auth::DhGroup::Null;
};

// What the queue expects next (nvmet's sq->dhchap_step).
enum class AuthStep : std::uint8_t { Negotiate, Challenge, Reply, Success1, Success2, Failure1 };

// One queue's exchange (nvmet's struct nvmet_sq dhchap_* fields).
struct QueueAuth {
  AuthStep step = AuthStep::Negotiate;
  bool authenticated = false;
  std::uint16_t t_id = 0;
  auth::AuthFailure reason = auth::AuthFailure::Failed;  // step Failure1
  bool keep_queue = false;  // that Failure1 refuses a re-authentication only (refuse-reauth)
  auth::DhchapHash hash = auth::DhchapHash::None;
  auth::DhGroup group = auth::DhGroup::Null;
  std::vector<auth::DhGroup> offered;  // the Negotiate's DH group list
  std::uint32_t s1 = 0;
  std::vector<std::uint8_t> c1;
  std::optional<auth::DhKeyPair> kp;  // this exchange's ephemeral key pair
  auth::SecretBuf z;                  // the DH session key, kept for R2
  bool bidirectional = false;
  std::vector<std::uint8_t> c2;
  std::uint32_t s2 = 0;
  // Drops the nonces, the key pair and the session key; the step and verdict stay.
  void clear_exchange();
};

// The queue an Authentication Send / Receive arrived on.
struct AuthQueueRef {
  QueueAuth& q;
  std::shared_ptr<const CtrlAuth>& ctrl;  // the controller's; null: its host has no key
  const std::string& hostnqn;
  std::uint16_t qid = 0;
  std::uint16_t cntlid = 0;
  std::size_t port = 0;
  bool discovery = false;  // discovery controllers never authenticate: no key, no refresh
};

class SimAuth {
 public:
  SimAuth(std::string subnqn, std::function<void(std::string_view)> log);

  // auth-host, auth-off, auth-fault.
  Result<std::string> run_control(const ControlCommand& cmd);
  // `reset`: every host removed, allow_any_host 1 (faults stay, as the ports' do).
  void auth_off() { hosts_.clear(); }
  // `restart`: the faults off too.
  void restart();
  // The end of `status`: "auth-fault ..." (sim only, while one is set), then the real target's
  // "auth supported=1 allow_any_host=0|1" and one line per host.
  std::string status_lines() const;

  // The NVM subsystem refuses other hosts while any host is configured.
  bool host_allowed(std::string_view hostnqn) const { return hosts_.empty() || hosts_.count(std::string(hostnqn)) != 0; }
  // The keys a new controller of `hostnqn` holds; null when that host has no entry.
  Result<std::shared_ptr<const CtrlAuth>> controller_auth(const std::string& hostnqn) const;

  // auth-fault ascr: true once, for the next Connect of a queue that must authenticate (its
  // response then asks for secure channel concatenation too).
  bool take_connect_ascr() { return take_fault(AuthFault::Ascr); }

  // Authentication Send (FCTYPE 0x05) / Receive (0x06) on a queue (sim_auth.cc).
  CmdResult send(AuthQueueRef ref, const wire::Sqe& sqe, Bytes data);
  CmdResult receive(AuthQueueRef ref, const wire::Sqe& sqe);

 private:
  // One-shot faults pending (bit = AuthFault) and the persistent ones.
  bool take_fault(AuthFault f);
  std::optional<auth::AuthFailure> negotiate(AuthQueueRef& ref, Bytes d);
  std::optional<auth::AuthFailure> reply(AuthQueueRef& ref, Bytes d);
  Result<std::vector<std::uint8_t>> challenge(AuthQueueRef& ref);
  Result<std::vector<std::uint8_t>> success1(AuthQueueRef& ref);
  std::uint32_t next_seqnum();
  void log_queue(const AuthQueueRef& ref, std::string_view what) const;

  std::string subnqn_;
  std::function<void(std::string_view)> log_;
  std::map<std::string, AuthHost> hosts_;
  std::uint32_t pending_faults_ = 0;
  std::uint8_t failure1_reason_ = 1;
  bool refuse_reauth_ = false;
  bool refuse_reauth_cse_ = false;
  std::uint32_t seqnum_ = 0;  // the last S1 (a random start, as the kernel's)
};

}  // namespace nvmemp::sim
