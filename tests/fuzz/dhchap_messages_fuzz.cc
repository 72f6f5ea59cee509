// Fuzz target: the DH-HMAC-CHAP message decoders (auth/dhchap_messages.h), the host's (a
// Challenge or Failure1, a Success1 or Failure1) and the controller side's (Negotiate, Reply).
// Besides "no crash": what decodes has the lengths its fields claim, and re-encoding it gives
// bytes that decode to the same message, no longer than the input (reserved bytes may differ:
// the encoders write them as zero).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "auth/dhchap_host.h"
#include "auth/dhchap_messages.h"

namespace {

using namespace nvmemp::auth;

void check_challenge(const Challenge& c, std::size_t size) {
  if (c.c1.size() != hash_length(c.hash) || c.dh_value.size() > dh_value_length(c.group)) std::abort();
  const auto enc = encode_challenge(c);
  auto again = decode_challenge(enc);
  if (enc.size() > size || !again || again->failed) std::abort();
  const Challenge& d = again->challenge;
  if (d.t_id != c.t_id || d.hash != c.hash || d.group != c.group || d.seqnum != c.seqnum || d.c1 != c.c1 ||
      d.dh_value != c.dh_value) {
    std::abort();
  }
}

void check_reply(const Reply& r, std::size_t hl, std::size_t size) {
  if (r.r1.size() != hl || r.c2.size() != hl) std::abort();
  const auto enc = encode_reply(r);
  auto again = decode_reply(enc, hl);
  if (enc.size() != size || !again) std::abort();
  if (again->t_id != r.t_id || again->seqnum != r.seqnum || again->cvalid != r.cvalid || again->r1 != r.r1 ||
      again->dh_value != r.dh_value || (r.cvalid && again->c2 != r.c2)) {
    std::abort();
  }
}

// The host's exchange fed the input as the Challenge and then as the Success1: whatever comes
// back is a verdict, and a failure that names a Failure2 sends exactly 8 bytes.
void check_exchange(std::span<const std::uint8_t> in) {
  static const std::vector<std::uint8_t> key(32, 0x42);
  DhchapHostConfig cfg;
  cfg.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001";
  cfg.subnqn = "nqn.2026-01.io.example:fuzz";
  cfg.host_key = key;
  cfg.ctrl_key = key;
  DhchapHostExchange x(cfg, in.size() >= 6 ? static_cast<std::uint16_t>(in[4] | (in[5] << 8)) : 0);
  DhchapStep s = x.on_challenge(in);
  if (s.verdict == DhchapStep::Verdict::Failed) {
    if (!s.send.empty() && s.send.size() != kFailureLen) std::abort();
    return;
  }
  if (s.verdict != DhchapStep::Verdict::Continue || s.send.empty()) std::abort();
  s = x.on_success1(in);  // a Challenge is no Success1: it must fail, cleanly
  if (s.verdict != DhchapStep::Verdict::Failed || (!s.send.empty() && s.send.size() != kFailureLen)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  if (auto c = decode_challenge(in); c && !c->failed) check_challenge(c->challenge, size);
  if (auto s = decode_success1(in); s && !s->failed) {
    auto again = decode_success1(encode_success1(s->success));
    if (!again || again->failed || again->success.t_id != s->success.t_id || again->success.rvalid != s->success.rvalid ||
        again->success.r2 != s->success.r2) {
      std::abort();
    }
  }
  if (auto n = decode_negotiate(in); n && in[7] == 1) {  // one descriptor: re-encodes to the same lists
    auto again = decode_negotiate(encode_negotiate(*n));
    if (!again || again->t_id != n->t_id || again->hashes != n->hashes || again->groups != n->groups) std::abort();
  }
  check_exchange(in);
  for (std::size_t hl : {32u, 48u, 64u}) {
    if (auto r = decode_reply(in, hl); r) check_reply(*r, hl, size);
  }
  return 0;
}
