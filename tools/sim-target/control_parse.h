// Parser of the simulated target's control lines: the same commands as the real target's
// control channel (../shared/real-target/README.md, "Control channel"), so one test script
// drives both. Header-only and pure (no I/O, no throw) so the fuzz target, which links only
// the library, can reach it.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth_control_parse.h"
#include "hostile_modes.h"
#include "nvmemp/result.h"

namespace nvmemp::sim {

enum class ControlOp : std::uint8_t {
  Ping,
  Status,
  Reset,
  Ana,       // ana PORT GRPID STATE
  PortDown,  // port-down PORT
  PortUp,    // port-up PORT
  Unlink,    // unlink PORT: the subsystem leaves the port; its discovery controller stays
  Link,      // link PORT
  NsDown,    // ns-down NSID
  NsUp,      // ns-up NSID
  NsGrp,     // ns-grp NSID GRPID
  // Fault injection (not in the real target's protocol).
  Blackhole,      // blackhole PORT on|off
  ApplyHeld,      // apply-held PORT
  DropHeld,       // drop-held PORT
  Latency,        // latency PORT MS
  FailNext,       // fail-next K OPCODE SCT SC [dnr]
  CorruptDigest,  // corrupt-digest PORT
  CorruptTls,     // corrupt-tls PORT: the next TLS record sent fails its authentication
  TlsKeyUpdate,   // tls-keyupdate PORT: a KeyUpdate (update_requested) before the next records
  DropAfter,      // drop-after PORT N
  ResetCtrl,      // reset-ctrl CNTLID
  Restart,        // restart
  AenNsChanged,   // aen ns-changed NSID
  AenDiscoveryChanged,  // aen discovery-changed
  KaIgnore,       // ka-ignore PORT on|off: Keep Alive accepted, never completed
  NeverComplete,  // never-complete PORT OPCODE|STEP|off: that admin opcode / step never completed
  // The hostile-target suite (sim_hostile.cc).
  Hostile,        // hostile PORT MODE|off: one protocol violation (HostileMode)
  Trickle,        // trickle PORT on|off: every byte sent on its own
  GenctrChurn,    // genctr-churn PORT on|off: the discovery log's GENCTR moves on every read
  Crdt,           // crdt PORT N: Identify CRDT1..3 reported as N (100 ms units)
  AenStorm,       // aen-storm PORT N: N ANA change notices, one per AER, as fast as the host posts them
  // In-band authentication (auth_control_parse.h): the real target's lines, then a sim-only one.
  AuthHost,       // auth-host HOSTNQN KEY [CTRLKEY|-] [HASH] [DHGROUP]
  AuthOff,        // auth-off
  AuthFault,      // auth-fault KIND [REASON]
};

// ANA states by the names nvmet's configfs uses; values are the ANA log's (NVMe Base 2.0 8.1.3).
enum class SimAnaState : std::uint8_t {
  Optimized = 0x1,
  NonOptimized = 0x2,
  Inaccessible = 0x3,
  PersistentLoss = 0x4,
  Change = 0xF,
};

inline const char* sim_ana_state_name(SimAnaState s) {
  switch (s) {
    case SimAnaState::Optimized: return "optimized";
    case SimAnaState::NonOptimized: return "non-optimized";
    case SimAnaState::Inaccessible: return "inaccessible";
    case SimAnaState::PersistentLoss: return "persistent-loss";
    case SimAnaState::Change: return "change";
  }
  return "invalid";
}

struct ControlCommand {
  ControlOp op = ControlOp::Ping;
  // PORT as written: a port index 1..M or a TCP port number; resolved by the target.
  std::uint32_t port = 0;
  std::uint32_t nsid = 0;
  std::uint32_t grpid = 0;
  SimAnaState state = SimAnaState::Optimized;
  bool on = false;           // blackhole, ka-ignore, never-complete (off: false)
  std::uint32_t count = 0;   // fail-next K, drop-after N, latency MS
  std::uint32_t cntlid = 0;  // reset-ctrl
  std::uint8_t opcode = 0;   // fail-next, never-complete
  std::uint8_t sct = 0;
  std::uint8_t sc = 0;
  bool dnr = false;
  std::uint8_t crd = 0;      // fail-next crd1..crd3: the status asks for CRDT[crd] before a retry
  std::optional<HangStep> step;               // never-complete STEP
  HostileMode mode = HostileMode::Off;        // hostile
  AuthLine auth;                              // auth-host, auth-fault
};

namespace control_detail {

inline std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  // A line has at most a handful of words; 16 bounds the loop and the vector.
  while (i < line.size() && out.size() < 16) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      ++i;
    }
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      ++i;
    }
    if (i > start) {
      out.push_back(line.substr(start, i - start));
    }
  }
  return out;
}

// A decimal number 1..max (0 is never a valid port, NSID or group id).
inline Result<std::uint32_t> parse_id(std::string_view what, std::string_view word, std::uint32_t max) {
  std::uint32_t v = 0;
  const auto* end = word.data() + word.size();
  const auto [p, ec] = std::from_chars(word.data(), end, v);
  if (ec != std::errc() || p != end || v == 0 || v > max) {
    return make_error(Errc::InvalidArgument,
                      std::string(what) + " '" + std::string(word) + "' is not a number 1.." + std::to_string(max));
  }
  return v;
}

// A number 0..max, decimal or 0x-prefixed hex (opcodes and status codes read better in hex).
inline Result<std::uint32_t> parse_num(std::string_view what, std::string_view word, std::uint32_t max) {
  std::uint32_t v = 0;
  int base = 10;
  std::string_view digits = word;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
    base = 16;
  }
  const auto* end = digits.data() + digits.size();
  const auto [p, ec] = std::from_chars(digits.data(), end, v, base);
  if (digits.empty() || ec != std::errc() || p != end || v > max) {
    return make_error(Errc::InvalidArgument,
                      std::string(what) + " '" + std::string(word) + "' is not a number 0.." + std::to_string(max));
  }
  return v;
}

}  // namespace control_detail

inline Result<SimAnaState> parse_sim_ana_state(std::string_view word) {
  for (const auto s : {SimAnaState::Optimized, SimAnaState::NonOptimized, SimAnaState::Inaccessible,
                       SimAnaState::PersistentLoss, SimAnaState::Change}) {
    if (word == sim_ana_state_name(s)) {
      return s;
    }
  }
  return make_error(Errc::InvalidArgument,
                    "ANA state '" + std::string(word) +
                        "' is not optimized|non-optimized|inaccessible|persistent-loss|change");
}

// One line without its newline (a trailing '\r' is ignored). Errors name the word at fault.
inline Result<ControlCommand> parse_control_line(std::string_view line) {
  using control_detail::parse_id;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  if (line.size() > 512) {
    return make_error(Errc::InvalidArgument, "line longer than 512 bytes");
  }
  const auto w = control_detail::split_words(line);
  if (w.empty()) {
    return make_error(Errc::InvalidArgument, "empty command");
  }
  const std::string_view cmd = w[0];
  const auto want = [&](std::size_t n) -> Result<void> {
    if (w.size() != n + 1) {
      return make_error(Errc::InvalidArgument, std::string(cmd) + ": takes " + std::to_string(n) +
                                                   " argument(s), got " + std::to_string(w.size() - 1));
    }
    return {};
  };
  ControlCommand c;
  constexpr std::uint32_t kMaxPort = 65535;
  constexpr std::uint32_t kMaxId = 0xFFFFFFFEu;
  if (cmd == "ping" || cmd == "status" || cmd == "reset") {
    if (auto r = want(0); !r) return tl::unexpected(r.error());
    c.op = cmd == "ping" ? ControlOp::Ping : cmd == "status" ? ControlOp::Status : ControlOp::Reset;
    return c;
  }
  if (cmd == "auth-off") {
    if (auto r = want(0); !r) return tl::unexpected(r.error());
    c.op = ControlOp::AuthOff;
    return c;
  }
  if (cmd == "auth-host" || cmd == "auth-fault") {
    const std::span<const std::string_view> args(w.data() + 1, w.size() - 1);
    auto a = cmd == "auth-host" ? parse_auth_host(args) : parse_auth_fault(args);
    if (!a) return tl::unexpected(a.error());
    c.op = cmd == "auth-host" ? ControlOp::AuthHost : ControlOp::AuthFault;
    c.auth = std::move(*a);
    return c;
  }
  if (cmd == "ana") {
    if (auto r = want(3); !r) return tl::unexpected(r.error());
    auto port = parse_id("PORT", w[1], kMaxPort);
    if (!port) return tl::unexpected(port.error());
    auto grp = parse_id("GRPID", w[2], kMaxId);
    if (!grp) return tl::unexpected(grp.error());
    auto st = parse_sim_ana_state(w[3]);
    if (!st) return tl::unexpected(st.error());
    c.op = ControlOp::Ana;
    c.port = *port;
    c.grpid = *grp;
    c.state = *st;
    return c;
  }
  if (cmd == "port-down" || cmd == "port-up" || cmd == "unlink" || cmd == "link") {
    if (auto r = want(1); !r) return tl::unexpected(r.error());
    auto port = parse_id("PORT", w[1], kMaxPort);
    if (!port) return tl::unexpected(port.error());
    c.op = cmd == "port-down" ? ControlOp::PortDown
           : cmd == "port-up" ? ControlOp::PortUp
           : cmd == "unlink"  ? ControlOp::Unlink
                              : ControlOp::Link;
    c.port = *port;
    return c;
  }
  if (cmd == "ns-down" || cmd == "ns-up") {
    if (auto r = want(1); !r) return tl::unexpected(r.error());
    auto nsid = parse_id("NSID", w[1], kMaxId);
    if (!nsid) return tl::unexpected(nsid.error());
    c.op = cmd == "ns-down" ? ControlOp::NsDown : ControlOp::NsUp;
    c.nsid = *nsid;
    return c;
  }
  if (cmd == "ns-grp") {
    if (auto r = want(2); !r) return tl::unexpected(r.error());
    auto nsid = parse_id("NSID", w[1], kMaxId);
    if (!nsid) return tl::unexpected(nsid.error());
    auto grp = parse_id("GRPID", w[2], kMaxId);
    if (!grp) return tl::unexpected(grp.error());
    c.op = ControlOp::NsGrp;
    c.nsid = *nsid;
    c.grpid = *grp;
    return c;
  }
  using control_detail::parse_num;
  // PORT-only fault commands.
  const auto port_cmd = [&](ControlOp op, std::size_t nargs) -> Result<ControlCommand> {
    if (auto r = want(nargs); !r) return tl::unexpected(r.error());
    auto port = parse_id("PORT", w[1], kMaxPort);
    if (!port) return tl::unexpected(port.error());
    c.op = op;
    c.port = *port;
    return c;
  };
  if (cmd == "apply-held") return port_cmd(ControlOp::ApplyHeld, 1);
  if (cmd == "drop-held") return port_cmd(ControlOp::DropHeld, 1);
  if (cmd == "corrupt-digest") return port_cmd(ControlOp::CorruptDigest, 1);
  if (cmd == "corrupt-tls") return port_cmd(ControlOp::CorruptTls, 1);
  if (cmd == "tls-keyupdate") return port_cmd(ControlOp::TlsKeyUpdate, 1);
  if (cmd == "blackhole" || cmd == "ka-ignore" || cmd == "trickle" || cmd == "genctr-churn") {
    auto r = port_cmd(cmd == "blackhole"   ? ControlOp::Blackhole
                      : cmd == "ka-ignore" ? ControlOp::KaIgnore
                      : cmd == "trickle"   ? ControlOp::Trickle
                                           : ControlOp::GenctrChurn,
                      2);
    if (!r) return r;
    if (w[2] != "on" && w[2] != "off") {
      return make_error(Errc::InvalidArgument, std::string(cmd) + ": '" + std::string(w[2]) + "' is not on|off");
    }
    r->on = w[2] == "on";
    return r;
  }
  if (cmd == "never-complete") {
    auto r = port_cmd(ControlOp::NeverComplete, 2);
    if (!r) return r;
    r->on = w[2] != "off";
    r->step = enum_by_name<HangStep>(kHangStepNames, w[2]);
    if (r->on && !r->step) {
      auto op = parse_num("OPCODE", w[2], 0xFF);
      if (!op) return tl::unexpected(op.error());
      r->opcode = static_cast<std::uint8_t>(*op);
    }
    return r;
  }
  if (cmd == "hostile") {
    auto r = port_cmd(ControlOp::Hostile, 2);
    if (!r) return r;
    auto mode = enum_by_name<HostileMode>(kHostileModeNames, w[2]);
    if (!mode) {
      return make_error(Errc::InvalidArgument, "hostile: unknown mode '" + std::string(w[2].substr(0, 40)) +
                                                   "' (tools/README.md lists them)");
    }
    r->mode = *mode;
    return r;
  }
  if (cmd == "crdt" || cmd == "aen-storm") {
    auto r = port_cmd(cmd == "crdt" ? ControlOp::Crdt : ControlOp::AenStorm, 2);
    if (!r) return r;
    auto n = parse_num("N", w[2], cmd == "crdt" ? 0xFFFF : 100000);
    if (!n) return tl::unexpected(n.error());
    r->count = *n;
    return r;
  }
  if (cmd == "latency" || cmd == "drop-after") {
    auto r = port_cmd(cmd == "latency" ? ControlOp::Latency : ControlOp::DropAfter, 2);
    if (!r) return r;
    auto n = parse_num(cmd == "latency" ? "MS" : "N", w[2], cmd == "latency" ? 60000 : 1000000);
    if (!n) return tl::unexpected(n.error());
    r->count = *n;
    return r;
  }
  if (cmd == "fail-next") {
    if (w.size() < 5 || w.size() > 7) {
      return make_error(Errc::InvalidArgument, "fail-next: usage fail-next K OPCODE SCT SC [dnr] [crd1|crd2|crd3]");
    }
    auto k = parse_id("K", w[1], 1000000);
    if (!k) return tl::unexpected(k.error());
    auto op = parse_num("OPCODE", w[2], 0xFF);
    if (!op) return tl::unexpected(op.error());
    auto sct = parse_num("SCT", w[3], 7);
    if (!sct) return tl::unexpected(sct.error());
    auto sc = parse_num("SC", w[4], 0xFF);
    if (!sc) return tl::unexpected(sc.error());
    if (*sct == 0 && *sc == 0) {
      return make_error(Errc::InvalidArgument, "fail-next: SCT 0 SC 0 is success, not a failure");
    }
    for (std::size_t i = 5; i < w.size(); ++i) {
      if (w[i] == "dnr") {
        c.dnr = true;
      } else if (w[i] == "crd1" || w[i] == "crd2" || w[i] == "crd3") {
        c.crd = static_cast<std::uint8_t>(w[i][3] - '0');
      } else {
        return make_error(Errc::InvalidArgument,
                          "fail-next: '" + std::string(w[i].substr(0, 40)) + "' is not 'dnr' or crd1..crd3");
      }
    }
    c.op = ControlOp::FailNext;
    c.count = *k;
    c.opcode = static_cast<std::uint8_t>(*op);
    c.sct = static_cast<std::uint8_t>(*sct);
    c.sc = static_cast<std::uint8_t>(*sc);
    return c;
  }
  if (cmd == "reset-ctrl") {
    if (auto r = want(1); !r) return tl::unexpected(r.error());
    auto id = parse_id("CNTLID", w[1], 0xFFEF);
    if (!id) return tl::unexpected(id.error());
    c.op = ControlOp::ResetCtrl;
    c.cntlid = *id;
    return c;
  }
  if (cmd == "restart") {
    if (auto r = want(0); !r) return tl::unexpected(r.error());
    c.op = ControlOp::Restart;
    return c;
  }
  if (cmd == "aen") {
    if (w.size() == 2 && w[1] == "discovery-changed") {
      c.op = ControlOp::AenDiscoveryChanged;
      return c;
    }
    if (w.size() == 3 && w[1] == "ns-changed") {
      auto nsid = parse_id("NSID", w[2], kMaxId);
      if (!nsid) return tl::unexpected(nsid.error());
      c.op = ControlOp::AenNsChanged;
      c.nsid = *nsid;
      return c;
    }
    return make_error(Errc::InvalidArgument, "aen: usage aen ns-changed NSID | aen discovery-changed");
  }
  std::string shown(cmd.substr(0, 40));
  for (auto& ch : shown) {
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7E) {
      ch = '?';
    }
  }
  return make_error(Errc::InvalidArgument, "unknown command '" + shown + "'");
}

}  // namespace nvmemp::sim
