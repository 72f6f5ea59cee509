// The DH-HMAC-CHAP exchange on one queue of the simulated target: Authentication Send (AUTH_
// Negotiate, Reply, Success2, AUTH_Failure2 from the host) and Authentication Receive (Challenge,
// Success1 or AUTH_Failure1 to the host), with nvmet 6.12's checks, state machine and choices
// (drivers/nvme/target/fabrics-cmd-auth.c), and the `auth-fault` misbehaviours. Where nvmet's
// own code does something no test wants (a message out of order tears the controller down
// without a Failure1; an AL too small for the Challenge is reported and then overwritten with
// success), the sim sends the Failure1 / the error: tools/README.md lists the differences.
#include <openssl/rand.h>

#include <algorithm>

#include <fmt/format.h>

#include "auth/dhchap_response.h"
#include "common/bytes.h"
#include "sim_auth.h"

namespace nvmemp::sim {

using namespace auth;

namespace {

constexpr std::uint8_t kSecpDhchap = 0xE9;
constexpr std::size_t kHeaderLen = 8;
constexpr std::size_t kDhchapFixed = 16;  // Challenge / Reply / Success1 header

// SECP 0xE9, SPSP0 = SPSP1 = 1 (CDW10 31:24, 15:8, 23:16) and a non-zero TL/AL (CDW11):
// otherwise Invalid Field + DNR, as nvmet and SPDK answer.
bool command_fields_ok(const wire::Sqe& sqe) {
  const std::uint32_t cdw10 = sqe.cdw(10);
  return (cdw10 >> 24) == kSecpDhchap && ((cdw10 >> 8) & 0xFF) == 1 && ((cdw10 >> 16) & 0xFF) == 1 && sqe.cdw(11) != 0;
}

CmdResult failure_status(std::uint8_t sc) { return status_result(Status::kSctGeneric, sc); }

template <class T>
bool contains(const std::vector<T>& v, T x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string reason_text(AuthFailure r) {
  return fmt::format("reason {} ({})", static_cast<int>(r), auth_failure_text(static_cast<std::uint8_t>(r)));
}

}  // namespace

std::uint32_t SimAuth::next_seqnum() {
  if (seqnum_ == 0 && RAND_bytes(reinterpret_cast<unsigned char*>(&seqnum_), sizeof seqnum_) != 1) {
    seqnum_ = 0x5EC0000u;
  }
  if (++seqnum_ == 0) seqnum_ = 1;  // 0 is reserved
  return seqnum_;
}

// AUTH_Negotiate (nvmet_auth_negotiate): the reason code of a refusal, or none with the hash and
// group chosen. The hash: the configured one if offered, else the first usable one offered. The
// group: the configured one, if offered (nvmet takes it without looking; the group-not-offered
// fault sends one the host did not offer).
std::optional<AuthFailure> SimAuth::negotiate(AuthQueueRef& ref, Bytes d) {
  QueueAuth& q = ref.q;
  if (d.size() < kNegotiateLen) return AuthFailure::IncorrectPayload;
  if (d[6] != 0) return AuthFailure::ConcatMismatch;  // no TLS here: no secure channel concatenation
  if (d[7] != 1) return AuthFailure::HashUnusable;    // NAPD, as nvmet
  if (d[8] != 0x01) return AuthFailure::IncorrectPayload;  // AUTHID: DH-HMAC-CHAP
  auto n = decode_negotiate(d);
  if (!n) return AuthFailure::IncorrectPayload;
  const DhchapHash want_hash = ref.ctrl ? ref.ctrl->hash : DhchapHash::None;
  const DhGroup want_group = ref.ctrl ? ref.ctrl->group : DhGroup::Null;
  q.hash = DhchapHash::None;
  if (contains(n->hashes, want_hash)) {
    q.hash = want_hash;
  } else {
    for (const DhchapHash h : n->hashes) {
      if (hash_known(static_cast<std::uint8_t>(h))) {
        q.hash = h;
        break;
      }
    }
  }
  if (q.hash == DhchapHash::None) return AuthFailure::HashUnusable;
  if (!contains(n->groups, want_group)) return AuthFailure::DhGroupUnusable;
  q.group = want_group;
  q.offered = n->groups;
  log_queue(ref, fmt::format("Negotiate T_ID {}: {} {}", q.t_id, hash_name(q.hash), dh_group_name(q.group)));
  return std::nullopt;
}

// DH-HMAC-CHAP_Reply (nvmet_auth_reply): R1 checked; the host's challenge kept when it asks for
// bidirectional authentication (CVALID and a non-zero S2). A one-way host is authenticated here.
std::optional<AuthFailure> SimAuth::reply(AuthQueueRef& ref, Bytes d) {
  QueueAuth& q = ref.q;
  auto r = decode_reply(d, hash_length(q.hash));
  if (!r) return AuthFailure::IncorrectPayload;
  SecretBuf z;
  if (q.group != DhGroup::Null) {
    if (r->dh_value.empty() || !q.kp) return AuthFailure::IncorrectPayload;
    auto s = q.kp->shared_secret(r->dh_value);
    if (!s) return AuthFailure::DhGroupUnusable;
    z = std::move(*s);
  } else if (!r->dh_value.empty()) {
    return AuthFailure::IncorrectPayload;  // a DH value without a DH group
  }
  q.kp.reset();
  if (!ref.ctrl) {
    log_queue(ref, "no host key for this controller");
    return AuthFailure::Failed;
  }
  auto ca1 = augmented_challenge(q.hash, q.c1, z.bytes());
  if (!ca1) return AuthFailure::Failed;
  auto r1 = host_response({q.hash, ref.ctrl->kh.bytes(), ca1->bytes(), q.s1, q.t_id, 0, ref.hostnqn, subnqn_});
  if (!r1) return AuthFailure::Failed;
  if (!SecretBuf(*r1).equals(r->r1)) {
    log_queue(ref, "host response mismatch");
    return AuthFailure::Failed;
  }
  q.s2 = r->seqnum;
  q.bidirectional = r->cvalid && r->seqnum != 0;
  if (q.bidirectional) {
    q.c2 = r->c2;
    q.z = std::move(z);
  } else {
    q.authenticated = true;
  }
  log_queue(ref, q.bidirectional ? "host authenticated, R2 requested" : "host authenticated");
  return std::nullopt;
}

CmdResult SimAuth::send(AuthQueueRef ref, const wire::Sqe& sqe, Bytes d) {
  if (!command_fields_ok(sqe)) return failure_status(kScInvalidField);
  if (sqe.cdw(11) != d.size()) return failure_status(kScSglLengthInvalid);  // TL: the data sent
  QueueAuth& q = ref.q;
  const auto fail1 = [&](AuthFailure why) {
    q.step = AuthStep::Failure1;
    q.reason = why;
    q.keep_queue = false;
    log_queue(ref, "AUTH_Failure1 due: " + reason_text(why));
    return CmdResult{};  // the Send succeeds; the next Receive reports the failure
  };
  if (d.size() < kHeaderLen) return fail1(AuthFailure::IncorrectPayload);
  const std::uint8_t type = d[0], id = d[1];
  const std::uint16_t t_id = load_le16(d, 4);
  if (type == kAuthCommon && id == kIdNegotiate) {
    if (q.authenticated && refuse_reauth_cse_) {
      log_queue(ref, "re-authentication refused: Command Sequence Error (refuse-reauth-cse)");
      return status_result(Status::kSctGeneric, kScCmdSeqError, false);
    }
    const bool reauth = q.authenticated;
    q.clear_exchange();
    q.t_id = t_id;
    if (reauth && refuse_reauth_) {
      fail1(AuthFailure::IncorrectProtocolMessage);
      q.keep_queue = true;  // SPDK's "reauthentication is not supported"; the queue stays as it was
      return CmdResult{};
    }
    if (ref.qid == 0 && !ref.discovery) {
      // nvmet_setup_auth again on the admin queue: the host entry as it is now.
      if (auto keys = controller_auth(ref.hostnqn); keys && *keys) ref.ctrl = std::move(*keys);
    }
    if (auto why = negotiate(ref, d)) return fail1(*why);
    q.step = AuthStep::Challenge;
    return CmdResult{};
  }
  if (type == kAuthCommon && id == kIdFailure2) {
    log_queue(ref, fmt::format("the host sent AUTH_Failure2 {}", d.size() >= kFailureLen
                                                                      ? reason_text(static_cast<AuthFailure>(d[7]))
                                                                      : std::string("(short)")));
    q.clear_exchange();
    q.step = AuthStep::Negotiate;
    q.authenticated = false;
    CmdResult r;
    r.fatal_after = true;  // nvmet: the controller fails
    return r;
  }
  const bool expected = type == kAuthDhchap && ((id == kIdReply && q.step == AuthStep::Reply) ||
                                                (id == kIdSuccess2 && q.step == AuthStep::Success2));
  if (!expected) return fail1(AuthFailure::IncorrectProtocolMessage);
  if (t_id != q.t_id) return fail1(AuthFailure::IncorrectPayload);
  if (id == kIdReply) {
    if (auto why = reply(ref, d)) return fail1(*why);
    q.step = AuthStep::Success1;
    return CmdResult{};
  }
  if (d.size() != kSuccess2Len) return fail1(AuthFailure::IncorrectPayload);
  q.authenticated = true;
  q.step = AuthStep::Negotiate;
  q.clear_exchange();
  log_queue(ref, "controller authenticated by the host (Success2): queue authenticated");
  return CmdResult{};
}

// DH-HMAC-CHAP_Challenge: a fresh C1 and S1, and a fresh key pair's public value for an ffdhe
// group (padded to the modulus length).
Result<std::vector<std::uint8_t>> SimAuth::challenge(AuthQueueRef& ref) {
  QueueAuth& q = ref.q;
  Challenge ch;
  ch.t_id = q.t_id;
  ch.hash = q.hash;
  ch.group = q.group;
  if (take_fault(AuthFault::GroupNotOffered)) {
    // The first group the host left out; when it offered all six, DHGID 6 (no such group).
    std::uint8_t other = 6;
    for (std::uint8_t g : {1, 2, 3, 4, 5, 0}) {
      if (!contains(q.offered, static_cast<DhGroup>(g))) {
        other = g;
        break;
      }
    }
    ch.group = static_cast<DhGroup>(other);
    if (dh_group_known(other)) q.group = ch.group;  // a real exchange in that group, had the host taken it
  }
  ch.seqnum = q.s1 = next_seqnum();
  q.c1.assign(hash_length(q.hash), 0);
  if (RAND_bytes(q.c1.data(), static_cast<int>(q.c1.size())) != 1) {
    return make_error(Errc::Io, "OpenSSL RAND_bytes failed for C1");
  }
  ch.c1 = q.c1;
  if (q.group != DhGroup::Null) {
    auto kp = DhKeyPair::generate(q.group);
    if (!kp) return tl::unexpected(kp.error());
    q.kp.emplace(std::move(*kp));
    ch.dh_value = q.kp->public_value();
  }
  if (take_fault(AuthFault::WrongTid)) {
    ch.t_id = static_cast<std::uint16_t>(q.t_id + 1);
  }
  return encode_challenge(ch);
}

// DH-HMAC-CHAP_Success1 (nvmet_auth_success1): HL always set; R2 when the host asked for it.
Result<std::vector<std::uint8_t>> SimAuth::success1(AuthQueueRef& ref) {
  QueueAuth& q = ref.q;
  Success1 s{q.t_id, static_cast<std::uint8_t>(hash_length(q.hash)), false, {}};
  if (q.bidirectional && !take_fault(AuthFault::NoR2)) {
    if (!ref.ctrl || ref.ctrl->kc.empty()) {
      return make_error(Errc::NotFound, "the host asked for R2 but no controller key is configured");
    }
    auto ca2 = augmented_challenge(q.hash, q.c2, q.z.bytes());
    if (!ca2) return tl::unexpected(ca2.error());
    auto r2 = controller_response({q.hash, ref.ctrl->kc.bytes(), ca2->bytes(), q.s2, q.t_id, 0, ref.hostnqn, subnqn_});
    if (!r2) return tl::unexpected(r2.error());
    s.rvalid = true;
    s.r2 = std::move(*r2);
    if (take_fault(AuthFault::WrongR2)) {
      s.r2[0] ^= 0xFF;
    }
  }
  return encode_success1(s);
}

CmdResult SimAuth::receive(AuthQueueRef ref, const wire::Sqe& sqe) {
  if (!command_fields_ok(sqe) || sqe.cdw(11) > kMaxTransferBytes) return failure_status(kScInvalidField);
  const std::uint32_t al = sqe.cdw(11);
  if (sqe.sgl1().length != al) return failure_status(kScSglLengthInvalid);  // AL: the data asked for
  QueueAuth& q = ref.q;
  CmdResult r;
  std::vector<std::uint8_t> msg;
  const auto failure1 = [&](AuthFailure why) {
    msg = encode_failure1(q.t_id, why);
    log_queue(ref, "AUTH_Failure1 " + reason_text(why) + (q.keep_queue ? "; the queue stays" : "; controller fails"));
    if (!q.keep_queue) {
      q.authenticated = false;
      r.fatal_after = true;  // nvmet_ctrl_fatal_error
    }
    q.keep_queue = false;
    q.step = AuthStep::Negotiate;
    q.clear_exchange();
  };
  switch (q.step) {
    case AuthStep::Challenge: {
      const std::size_t need = kDhchapFixed + hash_length(q.hash) + dh_value_length(q.group);
      if (al < need) {
        // nvmet_auth_challenge: "buffer too small", Internal Error; the step stays, a larger AL works.
        log_queue(ref, fmt::format("Receive AL {} too small for the Challenge ({} bytes)", al, need));
        return status_result(Status::kSctGeneric, kScInternalError, false);
      }
      if (take_fault(AuthFault::NoChallenge)) {
        r.deferred = true;  // never completed
        return r;
      }
      if (take_fault(AuthFault::Failure1)) {
        failure1(static_cast<AuthFailure>(failure1_reason_));
        break;
      }
      auto ch = challenge(ref);
      if (!ch) {
        log_queue(ref, "Challenge: " + ch.error().message);
        failure1(AuthFailure::Failed);
        break;
      }
      if (ch->size() > al) {  // group-not-offered chose a larger group
        q.clear_exchange();
        return status_result(Status::kSctGeneric, kScInternalError, false);
      }
      msg = std::move(*ch);
      q.step = AuthStep::Reply;
      break;
    }
    case AuthStep::Success1: {
      const std::size_t need = kDhchapFixed + (q.bidirectional ? hash_length(q.hash) : 0);
      if (al < need) return failure_status(kScInvalidField);  // nvmet_auth_receive_data_len
      auto s = success1(ref);
      if (!s) {
        log_queue(ref, "Success1: " + s.error().message);
        failure1(AuthFailure::Failed);
        break;
      }
      msg = std::move(*s);
      if (q.bidirectional) {
        q.step = AuthStep::Success2;
        q.z = SecretBuf();  // R2 is sent: the session key is not needed any more
      } else {
        q.step = AuthStep::Negotiate;
        q.clear_exchange();
      }
      break;
    }
    case AuthStep::Failure1:
      if (al < kFailureLen) return failure_status(kScInvalidField);
      failure1(q.reason);
      break;
    default:
      // A Receive where no message is due: nvmet answers Failure1 "failed" and fails.
      if (al < kFailureLen) return failure_status(kScInvalidField);
      failure1(AuthFailure::Failed);
      break;
  }
  r.data.assign(al, 0);  // the whole AL buffer, zero-padded (nvmet_copy_to_sgl of AL bytes)
  std::copy(msg.begin(), msg.end(), r.data.begin());
  return r;
}

}  // namespace nvmemp::sim
