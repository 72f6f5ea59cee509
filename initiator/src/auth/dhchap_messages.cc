#include "auth/dhchap_messages.h"

#include <optional>

#include <fmt/format.h>

#include "common/bytes.h"

namespace nvmemp::auth {

namespace {

constexpr std::size_t kHeaderLen = 8;
constexpr std::size_t kDhchapFixed = 16;  // header and fixed fields of Challenge/Reply/Success1
constexpr std::size_t kIdListLen = 30;

std::vector<std::uint8_t> header(std::size_t len, std::uint8_t type, std::uint8_t id, std::uint16_t t_id) {
  std::vector<std::uint8_t> b(len, 0);
  b[0] = type;
  b[1] = id;
  store_le16(b, 4, t_id);
  return b;
}

Error malformed(const char* msg, std::string what) {
  return Error{Errc::Malformed, fmt::format("authentication {} from the controller: {}", msg, std::move(what))};
}

// A Failure1 in place of the expected message: decoded the same way by both receivers.
Result<Failure> decode_failure1(Bytes b) {
  if (b.size() < kFailureLen) {
    return tl::unexpected(malformed("Failure1", fmt::format("{} bytes, shorter than its 8", b.size())));
  }
  return Failure{load_le16(b, 4), b[6], b[7]};
}

bool is_failure1(Bytes b) { return b.size() >= 2 && b[0] == kAuthCommon && b[1] == kIdFailure1; }

// What a Receive returned where the DH-HMAC-CHAP message `id` (`name`) belongs: a Failure1
// (returned), that message with its 16-byte header there (nullopt), or neither (an error).
Result<std::optional<Failure>> expect_dhchap(Bytes b, std::uint8_t id, const char* name) {
  if (is_failure1(b)) {
    auto f = decode_failure1(b);
    if (!f) return tl::unexpected(f.error());
    return std::optional<Failure>(*f);
  }
  if (b.size() < kDhchapFixed) {
    return tl::unexpected(malformed(name, fmt::format("{} bytes, shorter than its 16-byte header", b.size())));
  }
  if (b[0] != kAuthDhchap || b[1] != id) {
    return tl::unexpected(malformed(name, fmt::format("a message of type {:#04x} id {:#04x} instead", b[0], b[1])));
  }
  return std::optional<Failure>{};
}

}  // namespace

const char* auth_failure_text(std::uint8_t rce) noexcept {
  switch (rce) {
    case 0x01: return "authentication failed (the key was rejected, or the controller's check failed)";
    case 0x02: return "authentication protocol unusable";
    case 0x03: return "secure channel concatenation mismatch";
    case 0x04: return "hash function unusable";
    case 0x05: return "DH group unusable";
    case 0x06: return "incorrect payload";
    case 0x07: return "incorrect protocol message";
  }
  return "unknown reason code";
}

std::vector<std::uint8_t> encode_negotiate(const Negotiate& m) {
  auto b = header(kNegotiateLen, kAuthCommon, kIdNegotiate, m.t_id);
  b[6] = m.sc_c;
  b[7] = 1;       // NAPD
  b[8] = 0x01;    // AUTHID: DH-HMAC-CHAP
  const std::size_t nh = std::min(m.hashes.size(), kIdListLen);
  const std::size_t ng = std::min(m.groups.size(), kIdListLen);
  b[10] = static_cast<std::uint8_t>(nh);
  b[11] = static_cast<std::uint8_t>(ng);
  for (std::size_t i = 0; i < nh; ++i) b[12 + i] = static_cast<std::uint8_t>(m.hashes[i]);
  for (std::size_t i = 0; i < ng; ++i) b[12 + kIdListLen + i] = static_cast<std::uint8_t>(m.groups[i]);
  return b;
}

Result<Negotiate> decode_negotiate(Bytes b) {
  if (b.size() < kNegotiateLen) {
    return tl::unexpected(malformed("Negotiate", fmt::format("{} bytes, shorter than 72", b.size())));
  }
  if (b[0] != kAuthCommon || b[1] != kIdNegotiate) {
    return tl::unexpected(malformed("Negotiate", fmt::format("type {:#04x} id {:#04x}", b[0], b[1])));
  }
  const std::uint8_t napd = b[7];
  if (napd == 0 || b.size() != kHeaderLen + 64u * napd) {
    return tl::unexpected(malformed("Negotiate", fmt::format("NAPD {} does not match its {} bytes", napd, b.size())));
  }
  Negotiate m;
  m.t_id = load_le16(b, 4);
  m.sc_c = b[6];
  for (std::size_t d = 0; d < napd; ++d) {
    const std::size_t o = kHeaderLen + 64 * d;
    if (b[o] != 0x01) continue;  // not DH-HMAC-CHAP
    const std::size_t nh = b[o + 2];
    const std::size_t ng = b[o + 3];
    if (nh > kIdListLen || ng > kIdListLen) {
      return tl::unexpected(malformed("Negotiate", fmt::format("HALEN {} / DHLEN {} over 30", nh, ng)));
    }
    for (std::size_t i = 0; i < nh; ++i) m.hashes.push_back(static_cast<DhchapHash>(b[o + 4 + i]));
    for (std::size_t i = 0; i < ng; ++i) m.groups.push_back(static_cast<DhGroup>(b[o + 4 + kIdListLen + i]));
  }
  return m;
}

std::vector<std::uint8_t> encode_challenge(const Challenge& m) {
  auto b = header(kDhchapFixed + m.c1.size() + m.dh_value.size(), kAuthDhchap, kIdChallenge, m.t_id);
  b[6] = static_cast<std::uint8_t>(m.c1.size());
  b[8] = static_cast<std::uint8_t>(m.hash);
  b[9] = static_cast<std::uint8_t>(m.group);
  store_le16(b, 10, static_cast<std::uint16_t>(m.dh_value.size()));
  store_le32(b, 12, m.seqnum);
  std::copy(m.c1.begin(), m.c1.end(), b.begin() + kDhchapFixed);
  std::copy(m.dh_value.begin(), m.dh_value.end(), b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + m.c1.size()));
  return b;
}

Result<ChallengeOrFailure> decode_challenge(Bytes b) {
  ChallengeOrFailure out;
  auto head = expect_dhchap(b, kIdChallenge, "Challenge");
  if (!head) return tl::unexpected(head.error());
  if (*head) {
    out.failed = true;
    out.failure = **head;
    return out;
  }
  Challenge& c = out.challenge;
  c.t_id = load_le16(b, 4);
  const std::size_t hl = b[6];
  if (!hash_known(b[8])) return tl::unexpected(malformed("Challenge", fmt::format("HASHID {} is no hash we know", b[8])));
  if (!dh_group_known(b[9])) return tl::unexpected(malformed("Challenge", fmt::format("DHGID {} is no DH group we know", b[9])));
  c.hash = static_cast<DhchapHash>(b[8]);
  c.group = static_cast<DhGroup>(b[9]);
  if (hl != hash_length(c.hash)) {
    return tl::unexpected(malformed("Challenge", fmt::format("HL {} for {}, whose digest is {} bytes", hl,
                                                             hash_name(c.hash), hash_length(c.hash))));
  }
  const std::size_t dhvlen = load_le16(b, 10);
  if (c.group == DhGroup::Null ? dhvlen != 0 : (dhvlen == 0 || dhvlen > dh_value_length(c.group))) {
    return tl::unexpected(malformed("Challenge", fmt::format("DHVLEN {} for DH group {} (modulus {} bytes)", dhvlen,
                                                             dh_group_name(c.group), dh_value_length(c.group))));
  }
  // An Authentication Receive returns its whole AL-byte buffer (nvmet pads it with zeros): the
  // message is as long as its fields say, and may not be longer than the buffer.
  if (b.size() < kDhchapFixed + hl + dhvlen) {
    return tl::unexpected(malformed("Challenge", fmt::format("{} bytes, but HL {} and DHVLEN {} make {}", b.size(), hl,
                                                             dhvlen, kDhchapFixed + hl + dhvlen)));
  }
  c.seqnum = load_le32(b, 12);
  if (c.seqnum == 0) return tl::unexpected(malformed("Challenge", "SEQNUM 0 (the specification reserves it)"));
  c.c1.assign(b.begin() + kDhchapFixed, b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + hl));
  c.dh_value.assign(b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + hl),
                    b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + hl + dhvlen));
  return out;
}

std::vector<std::uint8_t> encode_reply(const Reply& m) {
  const std::size_t hl = m.r1.size();
  auto b = header(kDhchapFixed + 2 * hl + m.dh_value.size(), kAuthDhchap, kIdReply, m.t_id);
  b[6] = static_cast<std::uint8_t>(hl);
  b[8] = m.cvalid ? 1 : 0;
  store_le16(b, 10, static_cast<std::uint16_t>(m.dh_value.size()));
  store_le32(b, 12, m.seqnum);
  std::copy(m.r1.begin(), m.r1.end(), b.begin() + kDhchapFixed);
  if (m.cvalid) std::copy(m.c2.begin(), m.c2.begin() + static_cast<std::ptrdiff_t>(std::min(hl, m.c2.size())),
                          b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + hl));
  std::copy(m.dh_value.begin(), m.dh_value.end(), b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + 2 * hl));
  return b;
}

Result<Reply> decode_reply(Bytes b, std::size_t hash_len) {
  if (b.size() < kDhchapFixed || b[0] != kAuthDhchap || b[1] != kIdReply) {
    return tl::unexpected(malformed("Reply", fmt::format("{} bytes, not a DH-HMAC-CHAP Reply", b.size())));
  }
  const std::size_t hl = b[6];
  const std::size_t dhvlen = load_le16(b, 10);
  if (hl != hash_len || b.size() != kDhchapFixed + 2 * hl + dhvlen) {
    return tl::unexpected(malformed("Reply", fmt::format("{} bytes with HL {} and DHVLEN {} (hash length {})", b.size(),
                                                         hl, dhvlen, hash_len)));
  }
  Reply m;
  m.t_id = load_le16(b, 4);
  m.cvalid = b[8] != 0;
  m.seqnum = load_le32(b, 12);
  m.r1.assign(b.begin() + kDhchapFixed, b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + hl));
  m.c2.assign(b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + hl),
              b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + 2 * hl));
  m.dh_value.assign(b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + 2 * hl), b.end());
  return m;
}

std::vector<std::uint8_t> encode_success1(const Success1& m) {
  auto b = header(kDhchapFixed + (m.rvalid ? m.r2.size() : 0), kAuthDhchap, kIdSuccess1, m.t_id);
  b[6] = m.hl;
  b[8] = m.rvalid ? 1 : 0;
  if (m.rvalid) std::copy(m.r2.begin(), m.r2.end(), b.begin() + kDhchapFixed);
  return b;
}

Result<Success1OrFailure> decode_success1(Bytes b) {
  Success1OrFailure out;
  auto head = expect_dhchap(b, kIdSuccess1, "Success1");
  if (!head) return tl::unexpected(head.error());
  if (*head) {
    out.failed = true;
    out.failure = **head;
    return out;
  }
  Success1& s = out.success;
  s.t_id = load_le16(b, 4);
  s.hl = b[6];
  s.rvalid = (b[8] & 1) != 0;
  // 16 bytes, or 16 + HL (R2 present, or HL bytes sent anyway with RVALID 0), inside a
  // Receive buffer that may be longer (zero padding up to AL).
  if (s.rvalid) {
    if (s.hl == 0 || b.size() < kDhchapFixed + s.hl) {
      return tl::unexpected(malformed("Success1", fmt::format("RVALID set but {} bytes with HL {} carry no R2", b.size(), s.hl)));
    }
    s.r2.assign(b.begin() + kDhchapFixed, b.begin() + static_cast<std::ptrdiff_t>(kDhchapFixed + s.hl));
  }
  return out;
}

std::vector<std::uint8_t> encode_success2(std::uint16_t t_id) {
  return header(kSuccess2Len, kAuthDhchap, kIdSuccess2, t_id);
}

std::vector<std::uint8_t> encode_failure2(std::uint16_t t_id, AuthFailure why) {
  auto b = header(kFailureLen, kAuthCommon, kIdFailure2, t_id);
  b[6] = 0x01;
  b[7] = static_cast<std::uint8_t>(why);
  return b;
}

std::vector<std::uint8_t> encode_failure1(std::uint16_t t_id, AuthFailure why) {
  auto b = header(kFailureLen, kAuthCommon, kIdFailure1, t_id);
  b[6] = 0x01;
  b[7] = static_cast<std::uint8_t>(why);
  return b;
}

}  // namespace nvmemp::auth
