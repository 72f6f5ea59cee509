// Parsers of the log pages the host reads (NVMe Base 2.0, Get Log Page): Asymmetric Namespace
// Access (LID 0Ch), Discovery (LID 70h) and Changed Namespace List (LID 04h). Pure functions
// over bytes received from a controller: every length is checked before it is read (sizes in
// 64-bit arithmetic), nothing throws, and an Error says what, where and why.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "nvmemp/result.h"

namespace nvmemp::wire {

// ---- ANA log (LID 0Ch) -------------------------------------------------------------------

// ANA state of a group (the descriptor's byte 16, bits 3:0). The enum holds any 4-bit value so
// that an undefined one can be carried and named; parse_ana_log() rejects those.
enum class AnaState : std::uint8_t {
  Optimized = 0x1,
  NonOptimized = 0x2,
  Inaccessible = 0x3,
  PersistentLoss = 0x4,
  Change = 0xF,
};

// True for the five states the spec defines.
bool ana_state_valid(AnaState state);

// "optimized", "non-optimized", "inaccessible", "persistent-loss", "change" (the names of
// nvmet's configfs and the kernel's sysfs ana_state); "invalid (0x5)" for anything else.
std::string ana_state_name(AnaState state);

struct AnaGroup {
  std::uint32_t anagrpid = 0;  // never 0
  std::uint32_t nnsids = 0;    // as reported (0 in the RGO form)
  std::uint64_t chgcnt = 0;
  AnaState state = AnaState::Inaccessible;
  std::vector<std::uint32_t> nsids;  // empty in the RGO form
};

struct AnaLog {
  std::uint64_t chgcnt = 0;
  std::uint16_t ngrps = 0;
  std::vector<AnaGroup> groups;  // ngrps entries, in log order
};

// How the log was read: with NSID lists (LSP 0, what the kernel reads) or Return Groups Only
// (LSP bit 0 RGO: NNSIDS 0 and no NSID lists).
enum class AnaLogForm : std::uint8_t { WithNsids, GroupsOnly };

// Parses `log` (the buffer read; bytes after the last group are ignored: hosts read a fixed
// size). Errors: header or a descriptor past the end (Truncated); ANAGRPID 0, an undefined
// state, NSID 0 or 0xFFFFFFFF, a group id or NSID listed twice, NNSIDS != 0 in the RGO form
// (Malformed).
[[nodiscard]] Result<AnaLog> parse_ana_log(Bytes log, AnaLogForm form = AnaLogForm::WithNsids);

// Buffer size the kernel reads the ANA log with (drivers/nvme/host/multipath.c,
// nvme_mpath_init_identify): 16 + NANAGRPID x 32 + MNAN x 4. Never overflows (64-bit size_t).
std::size_t ana_log_max_size(std::uint32_t nanagrpid, std::uint32_t mnan);

// ---- Discovery log (LID 70h) ---------------------------------------------------------------

inline constexpr std::size_t kDiscoveryLogHeaderSize = 1024;
inline constexpr std::size_t kDiscoveryLogEntrySize = 1024;

// SUBTYPE (NVMe Base 2.0, Discovery Log Page Entry).
enum class DiscoverySubtype : std::uint8_t {
  Referral = 1,          // another discovery service
  Nvme = 2,              // an NVM subsystem
  CurrentDiscovery = 3,  // the discovery controller reporting this log
};

// TRTYPE (NVMe over Fabrics 1.1, Transport Type codes).
enum class Trtype : std::uint8_t { Rdma = 1, Fc = 2, Tcp = 3, Loop = 254 };

// ADRFAM (NVMe over Fabrics 1.1, Address Family codes).
enum class Adrfam : std::uint8_t { Ipv4 = 1, Ipv6 = 2, Ib = 3, Fc = 4, Loop = 254 };

struct DiscoveryLogHeader {
  std::uint64_t genctr = 0;  // changes whenever the log changes
  std::uint64_t numrec = 0;  // number of entries
  std::uint16_t recfmt = 0;  // record format, 0 is the only one defined
};

struct DiscoveryLogEntry {
  std::uint8_t trtype = 0;
  std::uint8_t adrfam = 0;
  std::uint8_t subtype = 0;
  std::uint8_t treq = 0;    // 1:0 secure channel, b2 SQ flow control disable supported
  std::uint16_t portid = 0;
  std::uint16_t cntlid = 0;  // 0xFFFF: dynamic controller model
  std::uint16_t asqsz = 0;   // max admin SQ size
  std::uint16_t eflags = 0;  // b0 DUPRETINFO, b1 EPCSD, b2 NCC
  std::string trsvcid;       // port, space/NUL padding removed ("4420")
  std::string subnqn;        // up to the first NUL
  std::string traddr;        // address, space/NUL padding removed ("127.0.0.1")
  std::uint8_t sectype = 0;  // TSAS byte 0; for TCP the security type (0 none)

  bool is_tcp() const { return trtype == static_cast<std::uint8_t>(Trtype::Tcp); }
  bool is_referral() const {
    return subtype == static_cast<std::uint8_t>(DiscoverySubtype::Referral);
  }
  bool is_nvm_subsystem() const {
    return subtype == static_cast<std::uint8_t>(DiscoverySubtype::Nvme);
  }
  bool is_current_discovery() const {
    return subtype == static_cast<std::uint8_t>(DiscoverySubtype::CurrentDiscovery);
  }
  bool sqflow_disable_supported() const { return (treq & 0x04) != 0; }
};

struct DiscoveryLog {
  DiscoveryLogHeader header;
  std::vector<DiscoveryLogEntry> entries;  // header.numrec entries
};

// "referral", "nvme", "current-discovery", or "unknown (N)".
std::string discovery_subtype_name(std::uint8_t subtype);

// The header alone: the first read, of 1024 bytes (needs at least that many).
[[nodiscard]] Result<DiscoveryLogHeader> parse_discovery_log_header(Bytes log);

// Bytes to read for a log of `numrec` entries: 1024 x (1 + numrec). Error (Malformed) when
// that does not fit in 64 bits.
[[nodiscard]] Result<std::uint64_t> discovery_log_size(std::uint64_t numrec);

// Header and all NUMREC entries; `log` must hold 1024 x (1 + NUMREC) bytes (more is ignored).
// RECFMT other than 0 is Unsupported.
[[nodiscard]] Result<DiscoveryLog> parse_discovery_log(Bytes log);

// ---- Changed Namespace List (LID 04h) ------------------------------------------------------

inline constexpr std::size_t kChangedNsListMaxEntries = 1024;

struct ChangedNsList {
  bool overflow = false;  // more than 1024 namespaces changed: rescan them all
  std::vector<std::uint32_t> nsids;
};

// Up to 1024 NSIDs (at most 4096 bytes, a multiple of 4), ending at the first 0. A first entry
// of 0xFFFFFFFF sets `overflow` (and no NSIDs); 0xFFFFFFFF anywhere else is Malformed.
[[nodiscard]] Result<ChangedNsList> parse_changed_ns_list(Bytes log);

}  // namespace nvmemp::wire
