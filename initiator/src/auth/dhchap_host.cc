#include "auth/dhchap_host.h"

#include <algorithm>

#include <fmt/format.h>
#include <openssl/rand.h>

#include "auth/dhchap_response.h"

namespace nvmemp::auth {

namespace {

template <class T>
bool offered(const std::vector<T>& list, T v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// The Failure2 reason for a Receive that did not decode as the message `id`, as the kernel host
// picks it: an unknown hash or a digest length that is not its own, an unknown DH group, a
// message of another kind, else the payload.
AuthFailure failure2_reason(std::span<const std::uint8_t> b, std::uint8_t id) {
  if (b.size() < 2 || b[0] != kAuthDhchap || b[1] != id) return AuthFailure::IncorrectProtocolMessage;
  if (id == kIdChallenge && b.size() >= 10) {
    if (!hash_known(b[8]) || b[6] != hash_length(static_cast<DhchapHash>(b[8]))) return AuthFailure::HashUnusable;
    if (!dh_group_known(b[9])) return AuthFailure::DhGroupUnusable;
  }
  return AuthFailure::IncorrectPayload;
}

std::string failure1_text(const Failure& f) {
  return fmt::format("{} (AUTH_Failure1 reason code {:#04x})", auth_failure_text(f.rce), f.rce);
}

}  // namespace

DhchapHostExchange::DhchapHostExchange(DhchapHostConfig cfg, std::uint16_t t_id, DhchapNonces nonces)
    : cfg_(std::move(cfg)), t_id_(t_id), nonces_(std::move(nonces)) {}

std::vector<std::uint8_t> DhchapHostExchange::negotiate() const {
  return encode_negotiate(Negotiate{t_id_, 0, cfg_.hashes, cfg_.groups});
}

std::string DhchapHostExchange::negotiated() const {
  if (!challenged_) return "none";
  return fmt::format("dhchap {} {}", hash_name(challenge_.hash), dh_group_name(challenge_.group));
}

DhchapStep DhchapHostExchange::fail(Errc code, std::string why, std::optional<AuthFailure> failure2) {
  DhchapStep s;
  s.verdict = DhchapStep::Verdict::Failed;
  s.error = Error{code, fmt::format("DH-HMAC-CHAP with {}: {}", cfg_.subnqn, std::move(why))};
  if (failure2) s.send = encode_failure2(t_id_, *failure2);
  return s;
}

DhchapStep DhchapHostExchange::on_challenge(std::span<const std::uint8_t> data) {
  if (cfg_.host_key.empty()) {
    return fail(Errc::InvalidArgument, "no host key (dhchap_secret) to answer the Challenge with", AuthFailure::Failed);
  }
  auto m = decode_challenge(data);
  if (!m) return fail(Errc::Malformed, m.error().message, failure2_reason(data, kIdChallenge));
  if (m->failed) {
    return fail(Errc::Refused, "the controller refused the Negotiate: " + failure1_text(m->failure), std::nullopt);
  }
  const Challenge& c = m->challenge;
  if (c.t_id != t_id_) {
    return fail(Errc::Protocol, fmt::format("the Challenge carries T_ID {}, the Negotiate sent {}", c.t_id, t_id_),
                AuthFailure::IncorrectPayload);
  }
  if (!offered(cfg_.hashes, c.hash)) {
    return fail(Errc::Protocol, fmt::format("the controller chose hash {}, which was not offered", hash_name(c.hash)),
                AuthFailure::HashUnusable);
  }
  if (!offered(cfg_.groups, c.group)) {
    return fail(Errc::Protocol,
                fmt::format("the controller chose DH group {}, which was not offered", dh_group_name(c.group)),
                AuthFailure::DhGroupUnusable);
  }
  challenge_ = c;
  challenged_ = true;
  std::vector<std::uint8_t> host_value;
  if (c.group != DhGroup::Null) {
    auto kp = DhKeyPair::generate(c.group);
    if (!kp) return fail(kp.error().code, kp.error().message, AuthFailure::Failed);
    auto z = kp->shared_secret(c.dh_value);
    if (!z) return fail(Errc::Malformed, "the Challenge's DH value: " + z.error().message, AuthFailure::IncorrectPayload);
    z_ = std::move(*z);
    host_value = kp->public_value();
  }
  auto ca1 = augmented_challenge(c.hash, c.c1, z_.bytes());
  if (!ca1) return fail(ca1.error().code, ca1.error().message, AuthFailure::Failed);
  auto r1 = host_response({c.hash, cfg_.host_key, ca1->bytes(), c.seqnum, t_id_, 0, cfg_.hostnqn, cfg_.subnqn});
  if (!r1) return fail(r1.error().code, r1.error().message, AuthFailure::Failed);

  const std::size_t hl = hash_length(c.hash);
  Reply reply;
  reply.t_id = t_id_;
  reply.r1 = std::move(*r1);
  reply.dh_value = std::move(host_value);
  reply.c2.assign(hl, 0);
  if (bidirectional()) {
    reply.cvalid = true;
    if (nonces_.c2 && nonces_.c2->size() == hl) {
      reply.c2 = *nonces_.c2;
    } else if (RAND_bytes(reply.c2.data(), static_cast<int>(hl)) != 1) {
      return fail(Errc::Io, "OpenSSL RAND_bytes failed for the challenge to the controller", AuthFailure::Failed);
    }
    std::uint32_t s2 = nonces_.s2.value_or(0);
    while (s2 == 0) {  // 0 means "not bidirectional"
      if (RAND_bytes(reinterpret_cast<unsigned char*>(&s2), sizeof s2) != 1) {
        return fail(Errc::Io, "OpenSSL RAND_bytes failed for the sequence number", AuthFailure::Failed);
      }
    }
    reply.seqnum = s2;
    s2_ = s2;
    c2_ = reply.c2;
  }
  DhchapStep s;
  s.send = encode_reply(reply);
  return s;
}

DhchapStep DhchapHostExchange::on_success1(std::span<const std::uint8_t> data) {
  if (!challenged_) return fail(Errc::Protocol, "a Success1 before any Challenge", AuthFailure::IncorrectProtocolMessage);
  // The DH secret is needed once more, for R2: it goes when this returns, whatever the verdict.
  const SecretBuf z = std::move(z_);
  auto m = decode_success1(data);
  if (!m) return fail(Errc::Malformed, m.error().message, failure2_reason(data, kIdSuccess1));
  if (m->failed) {
    std::string why = "the controller refused the Reply: " + failure1_text(m->failure);
    if (m->failure.rce == static_cast<std::uint8_t>(AuthFailure::Failed)) {
      why += fmt::format("; the host key (dhchap_secret) is not the one the controller holds for {}", cfg_.hostnqn);
    }
    return fail(Errc::Refused, std::move(why), std::nullopt);
  }
  const Success1& s1 = m->success;
  if (s1.t_id != t_id_) {
    return fail(Errc::Protocol, fmt::format("the Success1 carries T_ID {}, the Negotiate sent {}", s1.t_id, t_id_),
                AuthFailure::IncorrectPayload);
  }
  DhchapStep done;
  done.verdict = DhchapStep::Verdict::Done;
  if (!bidirectional()) return done;
  if (!s1.rvalid) {
    return fail(Errc::Refused,
                "the Success1 carries no response (RVALID 0) although the controller was asked to prove its key "
                "(dhchap_ctrl_secret is set)",
                AuthFailure::Failed);
  }
  const DhchapHash h = challenge_.hash;
  if (s1.r2.size() != hash_length(h)) {
    return fail(Errc::Malformed, fmt::format("the Success1's response is {} bytes, {} takes {}", s1.r2.size(),
                                             hash_name(h), hash_length(h)),
                AuthFailure::IncorrectPayload);
  }
  auto ca2 = augmented_challenge(h, c2_, z.bytes());
  if (!ca2) return fail(ca2.error().code, ca2.error().message, AuthFailure::Failed);
  auto r2 = controller_response({h, cfg_.ctrl_key, ca2->bytes(), s2_, t_id_, 0, cfg_.hostnqn, cfg_.subnqn});
  if (!r2) return fail(r2.error().code, r2.error().message, AuthFailure::Failed);
  const SecretBuf expected(*r2);
  if (!expected.equals(s1.r2)) {
    return fail(Errc::Refused,
                "the controller's response does not match: it does not hold the controller key (dhchap_ctrl_secret) "
                "configured here",
                AuthFailure::Failed);
  }
  done.send = encode_success2(t_id_);
  return done;
}

}  // namespace nvmemp::auth
