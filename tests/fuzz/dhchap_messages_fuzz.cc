// Fuzz target: the DH-HMAC-CHAP message decoders (auth/dhchap_messages.h), the host's (a
// Challenge or Failure1, a Success1 or Failure1) and the controller side's (Negotiate, Reply).
// Besides "no crash", what decodes re-encodes to a prefix of the input (the lengths the fields
// claim are the lengths taken).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "auth/dhchap_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace nvmemp::auth;
  const std::span<const std::uint8_t> in(data, size);
  auto prefix_of_input = [&](const std::vector<std::uint8_t>& enc) {
    if (enc.size() > size || !std::equal(enc.begin(), enc.end(), data)) std::abort();
  };
  if (auto c = decode_challenge(in); c && !c->failed) {
    if (c->challenge.c1.size() != hash_length(c->challenge.hash) ||
        c->challenge.dh_value.size() > dh_value_length(c->challenge.group)) {
      std::abort();
    }
    prefix_of_input(encode_challenge(c->challenge));
  }
  if (auto s = decode_success1(in); s && !s->failed && s->success.rvalid && s->success.r2.size() != s->success.hl) {
    std::abort();
  }
  if (auto n = decode_negotiate(in); n && (n->hashes.size() > 30 * 255 || n->groups.size() > 30 * 255)) std::abort();
  for (std::size_t hl : {32u, 48u, 64u}) {
    if (auto r = decode_reply(in, hl); r) prefix_of_input(encode_reply(*r));
  }
  return 0;
}
