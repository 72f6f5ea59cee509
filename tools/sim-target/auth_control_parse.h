// The in-band authentication control lines of the simulated target: `auth-host` and `auth-off`
// (the real target's, ../shared/real-target/README.md "Control channel") and the sim-only
// `auth-fault` (tools/README.md lists the faults). Header-only and pure like control_parse.h,
// which calls it: the fuzz target reaches it through parse_control_line(). Keys are kept as
// typed; the target checks them (sim_auth_config.cc), and no error here repeats one.
#pragma once

#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "auth/dh_group.h"
#include "auth/dhchap_hash.h"
#include "hostile_modes.h"
#include "nvmemp/result.h"

namespace nvmemp::sim {

// `auth-fault KIND`: how the controller side misbehaves. One-shot unless said otherwise.
enum class AuthFault : std::uint8_t {
  Off,              // every auth fault off (the persistent ones included)
  WrongR2,          // the next Success1 that carries R2 carries a wrong one
  NoR2,             // the next Success1 the host asked R2 of has RVALID 0
  Failure1,         // the next Receive after a Negotiate: AUTH_Failure1 with REASON, no Challenge
  NoChallenge,      // the next Receive after a Negotiate never completes
  WrongTid,         // the next Challenge carries T_ID + 1
  GroupNotOffered,  // the next Challenge names a DH group the host did not offer
  RefuseReauth,     // persistent: a Negotiate on an authenticated queue gets Failure1 (reason 7), queue kept
  RefuseReauthCse,  // persistent: that Negotiate's Send fails with Command Sequence Error (SPDK's target)
  Ascr,             // the next Connect response of a queue that must authenticate also sets AUTHREQ.ASCR
};
inline constexpr std::array<std::string_view, 10> kAuthFaultNames = {
    "off", "wrong-r2", "no-r2", "failure1", "no-challenge", "wrong-tid", "group-not-offered", "refuse-reauth",
    "refuse-reauth-cse", "ascr"};
static_assert(kAuthFaultNames.size() == static_cast<std::size_t>(AuthFault::Ascr) + 1);

// Failure reason code explanations by name (index = RCE), for `auth-fault failure1 REASON`.
inline constexpr std::array<std::string_view, 8> kAuthReasonNames = {
    "",
    "failed",
    "protocol-unusable",
    "concat-mismatch",
    "hash-unusable",
    "dhgroup-unusable",
    "incorrect-payload",
    "incorrect-message"};

struct AuthLine {
  std::string hostnqn;   // auth-host
  std::string key;       // DHHC-1:XX:...: as typed (checked by the target)
  std::string ctrl_key;  // empty: '-' (unidirectional)
  auth::DhchapHash hash = auth::DhchapHash::Sha256;
  auth::DhGroup group = auth::DhGroup::Null;
  AuthFault fault = AuthFault::Off;  // auth-fault
  std::uint8_t reason = 0;           // auth-fault failure1 REASON (1..255)
};

// "hmac(sha256)" as nvmet's configfs spells a hash.
inline std::string auth_hash_config_name(auth::DhchapHash h) { return std::string("hmac(") + auth::hash_name(h) + ")"; }

namespace auth_control_detail {

inline tl::unexpected<Error> bad(std::string msg) { return tl::unexpected(Error{Errc::InvalidArgument, std::move(msg)}); }

inline std::string shown(std::string_view word) {
  std::string s(word.substr(0, 40));
  for (auto& ch : s) {
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7E) ch = '?';
  }
  return s;
}

}  // namespace auth_control_detail

// HASH: hmac(sha256) | hmac(sha384) | hmac(sha512), or sha256 | sha384 | sha512.
inline Result<auth::DhchapHash> parse_auth_hash(std::string_view word) {
  for (const auto h : {auth::DhchapHash::Sha256, auth::DhchapHash::Sha384, auth::DhchapHash::Sha512}) {
    if (word == auth::hash_name(h) || word == auth_hash_config_name(h)) return h;
  }
  return auth_control_detail::bad("HASH '" + auth_control_detail::shown(word) +
                                  "' is not hmac(sha256)|hmac(sha384)|hmac(sha512) (or sha256|sha384|sha512)");
}

// DHGROUP: null | ffdhe2048 | ffdhe3072 | ffdhe4096 | ffdhe6144 | ffdhe8192.
inline Result<auth::DhGroup> parse_auth_dhgroup(std::string_view word) {
  for (std::uint8_t id = 0; id <= 5; ++id) {
    if (word == auth::dh_group_name(static_cast<auth::DhGroup>(id))) return static_cast<auth::DhGroup>(id);
  }
  return auth_control_detail::bad("DHGROUP '" + auth_control_detail::shown(word) +
                                  "' is not null|ffdhe2048|ffdhe3072|ffdhe4096|ffdhe6144|ffdhe8192");
}

// The words after `auth-host`: HOSTNQN KEY [CTRLKEY|-] [HASH] [DHGROUP]. The keys are never part
// of an error.
inline Result<AuthLine> parse_auth_host(std::span<const std::string_view> args) {
  using auth_control_detail::bad;
  if (args.size() < 2 || args.size() > 5) {
    return bad("auth-host: usage auth-host HOSTNQN KEY [CTRLKEY|-] [HASH] [DHGROUP], got " +
               std::to_string(args.size()) + " argument(s)");
  }
  AuthLine a;
  if (args[0].size() > 223) return bad("auth-host: HOSTNQN is longer than 223 bytes");
  a.hostnqn = std::string(args[0]);
  a.key = std::string(args[1]);
  if (args.size() > 2 && args[2] != "-") a.ctrl_key = std::string(args[2]);
  if (args.size() > 3) {
    auto h = parse_auth_hash(args[3]);
    if (!h) return tl::unexpected(h.error());
    a.hash = *h;
  }
  if (args.size() > 4) {
    auto g = parse_auth_dhgroup(args[4]);
    if (!g) return tl::unexpected(g.error());
    a.group = *g;
  }
  return a;
}

// The words after `auth-fault`: KIND, or `failure1 REASON` (1..255 decimal or 0x hex, or a
// name of kAuthReasonNames).
inline Result<AuthLine> parse_auth_fault(std::span<const std::string_view> args) {
  using auth_control_detail::bad;
  const std::string usage = "auth-fault: usage auth-fault off|wrong-r2|no-r2|failure1 REASON|no-challenge|"
                            "wrong-tid|group-not-offered|refuse-reauth|refuse-reauth-cse|ascr";
  if (args.empty()) return bad(usage);
  auto kind = enum_by_name<AuthFault>(kAuthFaultNames, args[0]);
  if (!kind) return bad("auth-fault: unknown fault '" + auth_control_detail::shown(args[0]) + "'; " + usage);
  AuthLine a;
  a.fault = *kind;
  if (*kind != AuthFault::Failure1) {
    if (args.size() != 1) return bad("auth-fault " + std::string(args[0]) + ": takes no argument");
    return a;
  }
  if (args.size() != 2) return bad("auth-fault failure1: takes REASON (1..255 or failed|hash-unusable|...)");
  if (auto named = enum_by_name<std::uint8_t>(kAuthReasonNames, args[1]); named && *named != 0) {
    a.reason = *named;
    return a;
  }
  std::uint32_t v = 0;
  std::string_view digits = args[1];
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
    base = 16;
  }
  const auto* end = digits.data() + digits.size();
  const auto [p, ec] = std::from_chars(digits.data(), end, v, base);
  if (digits.empty() || ec != std::errc() || p != end || v == 0 || v > 255) {
    return bad("auth-fault failure1: REASON '" + auth_control_detail::shown(args[1]) +
               "' is not 1..255 or failed|protocol-unusable|concat-mismatch|hash-unusable|dhgroup-unusable|"
               "incorrect-payload|incorrect-message");
  }
  a.reason = static_cast<std::uint8_t>(v);
  return a;
}

}  // namespace nvmemp::sim
