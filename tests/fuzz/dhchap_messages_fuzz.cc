// Fuzz target: the DH-HMAC-CHAP message decoders (auth/dhchap_messages.h), the host's (a
// Challenge or Failure1, a Success1 or Failure1) and the controller side's (Negotiate, Reply).
// Besides "no crash": what decodes has the lengths its fields claim, and re-encoding it gives
// bytes that decode to the same message, no longer than the input (reserved bytes may differ:
// the encoders write them as zero).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  if (auto c = decode_challenge(in); c && !c->failed) check_challenge(c->challenge, size);
  if (auto s = decode_success1(in); s && !s->failed && s->success.rvalid && s->success.r2.size() != s->success.hl) {
    std::abort();
  }
  // At most 30 IDs of each kind per protocol descriptor (NAPD, byte 7).
  if (auto n = decode_negotiate(in); n && (n->hashes.size() > 30u * in[7] || n->groups.size() > 30u * in[7])) {
    std::abort();
  }
  for (std::size_t hl : {32u, 48u, 64u}) {
    if (auto r = decode_reply(in, hl); r) check_reply(*r, hl, size);
  }
  return 0;
}
