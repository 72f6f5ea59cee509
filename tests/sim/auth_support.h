// Helpers for the in-band authentication tests against the simulated target: a raw queue that
// runs one command at a time (bounded waits, so a Receive that never completes is seen), the
// test keys, and the host's DH-HMAC-CHAP exchange (auth::DhchapHostExchange) driven over it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/dhchap_host.h"
#include "auth/secret_buf.h"
#include "raw_host.h"
#include "support/dhchap_capture.h"
#include "support/sync_queue.h"

namespace nvmemp::test {

// The captures' test secrets (support/dhchap_capture.h): host key DHHC-1:01 (32 bytes),
// controller key DHHC-1:02 (48 bytes), and another host key the target does not hold.
inline constexpr const char* kAuthHostKey = kDhchapHostKey;
inline constexpr const char* kAuthCtrlKey = kDhchapCtrlKey;
inline constexpr const char* kAuthOtherKey = "DHHC-1:00:ia6zGodOr4SEG0Zzaw398rpY0wqipUWj4jWjUh4HWUz6aQ2n:";

// A key as the host uses it: parsed and transformed (host key: host NQN, controller key:
// subsystem NQN). REQUIREs success.
auth::SecretBuf transformed(const char* secret, const std::string& nqn);

struct HostKeys {
  auth::SecretBuf kh;
  auth::SecretBuf kc;  // empty: unidirectional
};
HostKeys host_keys(const std::string& subnqn, bool bidirectional, const char* host_key = kAuthHostKey);
// What the host offers (every hash and group) with these keys; they must outlive it.
auth::DhchapHostConfig host_config(const HostKeys& k, const std::string& subnqn);

// `auth-host <kTestHostNqn> KEY CTRLKEY|- HASH GROUP`.
std::string auth_host_line(auth::DhchapHash h, auth::DhGroup g, bool bidirectional);

class AuthQueue {
 public:
  static AuthQueue open(std::uint16_t port);  // TCP + ICReq/ICResp; REQUIREs
  // One command; its completion, or an error (Timeout after `quiet` without one, Io on close).
  Result<RawCompletion> exec(const wire::Sqe& sqe, std::vector<std::uint8_t> data = {},
                             std::chrono::milliseconds quiet = std::chrono::seconds(10));
  RawCompletion exec_ok(const wire::Sqe& sqe, std::vector<std::uint8_t> data = {});  // REQUIREs success
  bool closed_within(std::chrono::milliseconds t) { return host_.closed_within(t); }

 private:
  explicit AuthQueue(RawHost h) : host_(std::move(h)) {}
  RawHost host_;
  std::uint16_t cid_ = 1;
};

// Connect; REQUIREs a completion (its status is the caller's to check).
RawCompletion connect_queue(AuthQueue& q, const std::string& subnqn, std::uint16_t qid, std::uint16_t cntlid,
                            const std::string& hostnqn = kTestHostNqn);
// CC.EN = 1 and CSTS.RDY.
void enable_ctrl(AuthQueue& q);
// Authentication Send of `msg` / Receive with AL `al`.
Result<RawCompletion> auth_send(AuthQueue& q, const std::vector<std::uint8_t>& msg);
Result<RawCompletion> auth_receive(AuthQueue& q, std::uint32_t al = wire::kAuthReceiveLen,
                                   std::chrono::milliseconds quiet = std::chrono::seconds(10));

struct ExchangeResult {
  auth::DhchapStep::Verdict verdict = auth::DhchapStep::Verdict::Failed;
  std::string error;              // the host's message when Failed
  std::string negotiated;         // DhchapHostExchange::negotiated()
  bool sent_failure2 = false;     // the host answered with an AUTH_Failure2
  std::vector<std::uint8_t> last; // the last message received (Challenge, Success1 or Failure1)
};
// Negotiate, Challenge, Reply, Success1 and Success2 or Failure2, as the host decides. Every
// command must complete with status 0 (REQUIREd), as both targets answer a failed exchange.
ExchangeResult run_exchange(AuthQueue& q, auth::DhchapHostExchange& x);

bool auth_required_status(const RawCompletion& c);  // SCT 1 / SC 0x91 with DNR
// The completion; REQUIREs one (an error's message shown).
RawCompletion must(Result<RawCompletion> c);

}  // namespace nvmemp::test
