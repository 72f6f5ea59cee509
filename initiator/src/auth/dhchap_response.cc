#include "auth/dhchap_response.h"

#include <array>

#include "common/bytes.h"

namespace nvmemp::auth {

namespace {

Bytes text(std::string_view s) { return Bytes(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }

constexpr std::uint8_t kZero = 0;

}  // namespace

Result<SecretBuf> augmented_challenge(DhchapHash h, Bytes c, Bytes z) {
  if (z.empty()) return SecretBuf(c);
  SecretBuf hz(hash_length(h));
  if (auto r = digest(h, z, hz.mut_bytes()); !r) return tl::unexpected(r.error());
  SecretBuf out(hash_length(h));
  if (auto r = hmac(h, hz.bytes(), {c}, out.mut_bytes()); !r) return tl::unexpected(r.error());
  return out;
}

namespace {

// HMAC_H(key, Ca || LE32(S) || LE16(T_ID) || byte || label || nqn1 || 0x00 || nqn2): R1 and R2
// differ only in the byte (SC_C / 0), the label and the order of the NQNs.
Result<std::vector<std::uint8_t>> response(const ResponseInput& in, std::uint8_t byte, std::string_view label,
                                           std::string_view nqn1, std::string_view nqn2) {
  std::array<std::uint8_t, 4> s{};
  store_le32(s, 0, in.seqnum);
  std::array<std::uint8_t, 2> t{};
  store_le16(t, 0, in.t_id);
  std::vector<std::uint8_t> out(hash_length(in.hash));
  auto r = hmac(in.hash, in.key,
                {in.augmented, s, t, Bytes(&byte, 1), text(label), text(nqn1), Bytes(&kZero, 1), text(nqn2)}, out);
  if (!r) return tl::unexpected(r.error());
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> host_response(const ResponseInput& in) {
  return response(in, in.sc_c, "HostHost", in.hostnqn, in.subnqn);
}

Result<std::vector<std::uint8_t>> controller_response(const ResponseInput& in) {
  return response(in, 0, "Controller", in.subnqn, in.hostnqn);
}

}  // namespace nvmemp::auth
