// DH-HMAC-CHAP and common authentication messages: pure encoders and decoders, no I/O
// (NVMe base specification 8.13.5; byte layouts in auth-tls-facts.md 1.4, checked against
// include/linux/nvme.h and SPDK). Multi-byte fields are little-endian, DH values big-endian.
// Decoders take a controller's bytes: every length is checked against the buffer and against
// the fields that imply it, and an error names the message and the field.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "auth/dh_group.h"
#include "auth/dhchap_hash.h"
#include "nvmemp/result.h"

namespace nvmemp::auth {

// AUTH_TYPE / AUTH_ID of the header (bytes 0 and 1).
inline constexpr std::uint8_t kAuthCommon = 0x00;
inline constexpr std::uint8_t kAuthDhchap = 0x01;
inline constexpr std::uint8_t kIdNegotiate = 0x00;   // common
inline constexpr std::uint8_t kIdChallenge = 0x01;   // dhchap
inline constexpr std::uint8_t kIdReply = 0x02;       // dhchap
inline constexpr std::uint8_t kIdSuccess1 = 0x03;    // dhchap
inline constexpr std::uint8_t kIdSuccess2 = 0x04;    // dhchap
inline constexpr std::uint8_t kIdFailure2 = 0xF0;    // common
inline constexpr std::uint8_t kIdFailure1 = 0xF1;    // common

inline constexpr std::size_t kNegotiateLen = 8 + 64;  // one protocol descriptor
inline constexpr std::size_t kSuccess2Len = 16;
inline constexpr std::size_t kFailureLen = 8;

// Failure reason code explanations (RCE), RC is always 0x01.
enum class AuthFailure : std::uint8_t {
  Failed = 0x01,
  ProtocolUnusable = 0x02,
  ConcatMismatch = 0x03,
  HashUnusable = 0x04,
  DhGroupUnusable = 0x05,
  IncorrectPayload = 0x06,
  IncorrectProtocolMessage = 0x07,
};
// "authentication failed (host key rejected or wrong)", "hash function unusable", ...
const char* auth_failure_text(std::uint8_t rce) noexcept;

struct Negotiate {
  std::uint16_t t_id = 0;
  std::uint8_t sc_c = 0;                // 0: no secure channel concatenation
  std::vector<DhchapHash> hashes;       // at most 30
  std::vector<DhGroup> groups;          // at most 30
};

struct Challenge {
  std::uint16_t t_id = 0;
  DhchapHash hash = DhchapHash::None;   // HASHID, checked known
  DhGroup group = DhGroup::Null;        // DHGID, checked known
  std::uint32_t seqnum = 0;             // S1
  std::vector<std::uint8_t> c1;         // HL bytes, HL == hash_length(hash)
  std::vector<std::uint8_t> dh_value;   // DHVLEN bytes (0 for the null group)
};

struct Reply {
  std::uint16_t t_id = 0;
  std::uint32_t seqnum = 0;             // S2; 0 when not bidirectional
  bool cvalid = false;                  // C2 is a challenge to the controller
  std::vector<std::uint8_t> r1;         // HL bytes
  std::vector<std::uint8_t> c2;         // HL bytes (zeros when !cvalid)
  std::vector<std::uint8_t> dh_value;   // the host's g^x mod p, padded
};

struct Success1 {
  std::uint16_t t_id = 0;
  std::uint8_t hl = 0;
  bool rvalid = false;
  std::vector<std::uint8_t> r2;         // HL bytes when rvalid
};

struct Failure {
  std::uint16_t t_id = 0;
  std::uint8_t rc = 0x01;
  std::uint8_t rce = 0;
};

std::vector<std::uint8_t> encode_negotiate(const Negotiate& m);
std::vector<std::uint8_t> encode_reply(const Reply& m);
std::vector<std::uint8_t> encode_success2(std::uint16_t t_id);
std::vector<std::uint8_t> encode_failure2(std::uint16_t t_id, AuthFailure why);

// What an Authentication Receive returned after a Negotiate: a Challenge or a Failure1.
struct ChallengeOrFailure {
  bool failed = false;
  Challenge challenge;
  Failure failure;
};
[[nodiscard]] Result<ChallengeOrFailure> decode_challenge(std::span<const std::uint8_t> b);

// What an Authentication Receive returned after a Reply: a Success1 or a Failure1.
struct Success1OrFailure {
  bool failed = false;
  Success1 success;
  Failure failure;
};
[[nodiscard]] Result<Success1OrFailure> decode_success1(std::span<const std::uint8_t> b);

// The controller side's decoders (the simulated target, and encode/decode round trips).
[[nodiscard]] Result<Negotiate> decode_negotiate(std::span<const std::uint8_t> b);
[[nodiscard]] Result<Reply> decode_reply(std::span<const std::uint8_t> b, std::size_t hash_len);
std::vector<std::uint8_t> encode_challenge(const Challenge& m);
std::vector<std::uint8_t> encode_success1(const Success1& m);
std::vector<std::uint8_t> encode_failure1(std::uint16_t t_id, AuthFailure why);

}  // namespace nvmemp::auth
