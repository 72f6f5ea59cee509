// The host side of one DH-HMAC-CHAP exchange on one queue (NVMe base specification 8.13.5;
// auth-tls-facts.md 1.3): AUTH_Negotiate -> Challenge -> Reply -> Success1 (-> Success2).
// Pure: it turns the controller's messages into the host's next message and a verdict; the
// caller moves the bytes with Authentication Send / Receive on the queue being authenticated.
//
//   DhchapHostExchange x(cfg, t_id);
//   send(x.negotiate()); step = x.on_challenge(receive());    // Reply, or a Failure2 to send
//   send(step.send);     step = x.on_success1(receive());     // Success2 when bidirectional
//
// A verdict of Failed names the reason. `send` then holds the AUTH_Failure2 to send where the
// specification wants one (the controller's message was wrong); after a Failure1 from the
// controller nothing is sent. Ffdhe key generation happens inside on_challenge(): up to ~8 ms
// for ffdhe8192, so run exchanges off the I/O threads' ring loops.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth/dh_group.h"
#include "auth/dhchap_hash.h"
#include "auth/dhchap_messages.h"
#include "auth/secret_buf.h"
#include "nvmemp/result.h"

namespace nvmemp::auth {

struct DhchapHostConfig {
  std::string hostnqn;
  std::string subnqn;
  // Both keys are borrowed: the SecretBufs they view must outlive the exchange.
  std::span<const std::uint8_t> host_key;  // Kh', transformed (transform_key); required
  std::span<const std::uint8_t> ctrl_key;  // Kc', transformed; empty: unidirectional
  // What the Negotiate offers (default: every hash and group; nvmet ignores the order).
  std::vector<DhchapHash> hashes{DhchapHash::Sha256, DhchapHash::Sha384, DhchapHash::Sha512};
  std::vector<DhGroup> groups{DhGroup::Null,      DhGroup::Ffdhe2048, DhGroup::Ffdhe3072,
                              DhGroup::Ffdhe4096, DhGroup::Ffdhe6144, DhGroup::Ffdhe8192};
};

// Fixed values instead of fresh random ones, for replaying a captured exchange in tests.
struct DhchapNonces {
  std::optional<std::vector<std::uint8_t>> c2;  // the challenge to the controller
  std::optional<std::uint32_t> s2;              // its sequence number
};

struct DhchapStep {
  enum class Verdict { Continue, Done, Failed };
  Verdict verdict = Verdict::Continue;
  std::vector<std::uint8_t> send;  // the next message to send (may be empty)
  Error error{Errc::Protocol, {}};  // when Failed: what went wrong (never secret bytes)
};

class DhchapHostExchange {
 public:
  DhchapHostExchange(DhchapHostConfig cfg, std::uint16_t t_id, DhchapNonces nonces = {});

  std::vector<std::uint8_t> negotiate() const;
  // The Authentication Receive data after the Negotiate (a Challenge or a Failure1).
  DhchapStep on_challenge(std::span<const std::uint8_t> data);
  // The Authentication Receive data after the Reply (a Success1 or a Failure1).
  DhchapStep on_success1(std::span<const std::uint8_t> data);

  // "dhchap sha384 ffdhe3072" once a Challenge was accepted, else "none".
  std::string negotiated() const;
  bool bidirectional() const noexcept { return !cfg_.ctrl_key.empty(); }

 private:
  DhchapStep fail(Errc code, std::string why, std::optional<AuthFailure> failure2);
  DhchapHostConfig cfg_;
  std::uint16_t t_id_;
  DhchapNonces nonces_;
  bool challenged_ = false;
  Challenge challenge_;
  SecretBuf z_;                       // the DH shared secret (empty with the null group)
  std::vector<std::uint8_t> c2_;      // our challenge to the controller
  std::uint32_t s2_ = 0;
};

}  // namespace nvmemp::auth
