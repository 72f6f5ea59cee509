// Names of the simulated target's deliberate misbehaviours (the hostile-target suite): the
// one-shot protocol violations of `hostile PORT MODE` and the bring-up steps of
// `never-complete PORT STEP`. Header-only and pure, for the control-line parser and its fuzz
// target; the behaviour is in sim_hostile.cc, the table in tools/README.md.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nvmemp::sim {

// Each fires once, on the first PDU of its kind the port sends, then the port is honest again.
enum class HostileMode : std::uint8_t {
  Off,
  IcrespPfv,         // ICResp PFV 1 (only 0 exists)
  IcrespCpda,        // ICResp CPDA 255 (at most 31)
  IcrespDgstReserved,  // ICResp DGST with reserved bit 2 set
  IcrespDigests,     // ICResp enables both digests though the host asked for none
  IcrespMaxh2cdata,  // ICResp MAXH2CDATA 1024 (at least 4096)
  RespPlenShort,     // CapsuleResp PLEN 16, shorter than its header
  RespPlenHuge,      // CapsuleResp PLEN 1 GiB
  RespHlen,          // CapsuleResp HLEN 28 (must be 24)
  RespTypeUnknown,   // CapsuleResp sent with PDU type 0x0B (no such type)
  RespTypeHost,      // CapsuleResp sent as type 0x04 CapsuleCmd (only a host sends it)
  RespCid,           // CapsuleResp for CID 0xFFFE, which no command owns
  RespTwice,         // the CapsuleResp sent twice: the second is for a finished command
  RespSctReserved,   // CQE status SCT 5 (reserved) SC 0x7F
  C2hCid,            // C2HData for CCCID 0xFFFE
  C2hPdo,            // C2HData PDO 8, inside its header
  C2hDatao,          // C2HData DATAO past the command's transfer
  C2hDatal,          // C2HData DATAL 4 bytes more than the data it carries
  C2hOverrun,        // C2HData with 512 bytes more than the command asked for
  C2hTruncated,      // C2HData with half the data, then a successful CapsuleResp
  C2hSuccessNoLast,  // C2HData with SUCCESS but not LAST_PDU
  C2hUnasked,        // C2HData for a command that reads nothing, before its CapsuleResp
  R2tOutside,        // R2T asking 4096 bytes more than the write has
  TermReq,           // C2HTermReq (FES 1, FEI 2) instead of the next CapsuleResp, then close
  CutPdu,            // half of the next CapsuleResp, then the connection closes
  // Lies in the log pages (the next read of that log on the port):
  AnaNgrps,          // ANA log NGRPS 65535 with two groups' data
  AnaStateReserved,  // ANA log state 0x7 (reserved) for the first group
  DiscNumrec,        // discovery log NUMREC 2^40
  DiscRecfmt,        // discovery log RECFMT 1 (only 0 exists)
};

inline constexpr std::array<std::string_view, 29> kHostileModeNames = {
    "off",           "icresp-pfv",      "icresp-cpda",       "icresp-dgst-reserved", "icresp-digests",
    "icresp-maxh2cdata", "resp-plen-short", "resp-plen-huge", "resp-hlen",          "resp-type-unknown",
    "resp-type-host", "resp-cid",       "resp-twice",        "resp-sct-reserved",    "c2h-cid",
    "c2h-pdo",       "c2h-datao",       "c2h-datal",         "c2h-overrun",          "c2h-truncated",
    "c2h-success-no-last", "c2h-unasked", "r2t-outside",     "termreq",              "cut-pdu",
    "ana-ngrps",     "ana-state-reserved", "disc-numrec",    "disc-recfmt"};
static_assert(kHostileModeNames.size() == static_cast<std::size_t>(HostileMode::DiscRecfmt) + 1);

// Bring-up steps (and Keep Alive) a port can leave unanswered: the command is accepted and
// never completed (for `icresp`, no ICResp; for `csts-rdy`, CC.EN is accepted but CSTS.RDY
// never comes and CAP.TO says 1 s). One bit each in PortFaults::hang_steps.
enum class HangStep : std::uint8_t {
  Icresp, Connect, Cap, Cc, CstsRdy, IdCtrl, IdNsList, NumQueues, AnaLog, IoConnect, KeepAlive,
};
inline constexpr std::array<std::string_view, 11> kHangStepNames = {
    "icresp", "connect", "cap", "cc", "csts-rdy", "id-ctrl", "id-ns-list", "num-queues", "ana-log", "io-connect",
    "keep-alive"};
static_assert(kHangStepNames.size() == static_cast<std::size_t>(HangStep::KeepAlive) + 1);

template <class E, std::size_t N>
std::optional<E> enum_by_name(const std::array<std::string_view, N>& names, std::string_view word) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == word) {
      return static_cast<E>(i);
    }
  }
  return std::nullopt;
}

}  // namespace nvmemp::sim
