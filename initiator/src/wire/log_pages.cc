#include "wire/log_pages.h"

#include <algorithm>
#include <limits>
#include <utility>

#include <fmt/format.h>

#include "wire/libnvme_types.h"  // libnvme 1.3 spec structs, as a system header

namespace nvmemp::wire {
namespace {

// libnvme 1.3's structs give the layouts; pin them to the spec's offsets.
constexpr std::size_t kAnaHeaderSize = offsetof(struct nvme_ana_log, descs);
constexpr std::size_t kAnaGroupHeaderSize = offsetof(struct nvme_ana_group_desc, nsids);
static_assert(kAnaHeaderSize == 16 && offsetof(struct nvme_ana_log, ngrps) == 8);
static_assert(kAnaGroupHeaderSize == 32);
static_assert(offsetof(struct nvme_ana_group_desc, nnsids) == 4);
static_assert(offsetof(struct nvme_ana_group_desc, chgcnt) == 8);
static_assert(offsetof(struct nvme_ana_group_desc, state) == 16);
static_assert(static_cast<int>(AnaState::Optimized) == NVME_ANA_STATE_OPTIMIZED);
static_assert(static_cast<int>(AnaState::NonOptimized) == NVME_ANA_STATE_NONOPTIMIZED);
static_assert(static_cast<int>(AnaState::Inaccessible) == NVME_ANA_STATE_INACCESSIBLE);
static_assert(static_cast<int>(AnaState::PersistentLoss) == NVME_ANA_STATE_PERSISTENT_LOSS);
static_assert(static_cast<int>(AnaState::Change) == NVME_ANA_STATE_CHANGE);

static_assert(offsetof(struct nvmf_discovery_log, entries) == kDiscoveryLogHeaderSize);
static_assert(sizeof(struct nvmf_disc_log_entry) == kDiscoveryLogEntrySize);
static_assert(offsetof(struct nvmf_discovery_log, numrec) == 8);
static_assert(offsetof(struct nvmf_discovery_log, recfmt) == 16);
static_assert(offsetof(struct nvmf_disc_log_entry, portid) == 4);
static_assert(offsetof(struct nvmf_disc_log_entry, eflags) == 10);
static_assert(offsetof(struct nvmf_disc_log_entry, trsvcid) == 32);
static_assert(offsetof(struct nvmf_disc_log_entry, subnqn) == 256);
static_assert(offsetof(struct nvmf_disc_log_entry, traddr) == 512);
static_assert(offsetof(struct nvmf_disc_log_entry, tsas) == 768);
static_assert(static_cast<int>(DiscoverySubtype::Referral) == NVME_NQN_DISC);
static_assert(static_cast<int>(DiscoverySubtype::Nvme) == NVME_NQN_NVME);
static_assert(static_cast<int>(DiscoverySubtype::CurrentDiscovery) == NVME_NQN_CURR);
static_assert(static_cast<int>(Trtype::Tcp) == NVMF_TRTYPE_TCP);
static_assert(static_cast<int>(Adrfam::Ipv4) == NVMF_ADDR_FAMILY_IP4);
static_assert(static_cast<int>(Adrfam::Ipv6) == NVMF_ADDR_FAMILY_IP6);

constexpr std::uint32_t kNsidBroadcast = NVME_NSID_ALL;

// An NSID (or group id) seen twice, with where each was.
struct Seen {
  std::uint32_t id;
  std::size_t group;  // descriptor index
  std::size_t off;    // byte offset in the log
};

// Sorts `seen` and returns the first id listed twice, if any.
const Seen* find_duplicate(std::vector<Seen>& seen, const Seen** first) {
  std::stable_sort(seen.begin(), seen.end(),
                   [](const Seen& a, const Seen& b) { return a.id < b.id; });
  for (std::size_t i = 1; i < seen.size(); ++i) {
    if (seen[i].id == seen[i - 1].id) {
      *first = &seen[i - 1];
      return &seen[i];
    }
  }
  return nullptr;
}

DiscoveryLogHeader load_discovery_header(Bytes b) {
  using H = struct nvmf_discovery_log;
  return DiscoveryLogHeader{load_le64(b, offsetof(H, genctr)), load_le64(b, offsetof(H, numrec)),
                            load_le16(b, offsetof(H, recfmt))};
}

DiscoveryLogEntry load_discovery_entry(Bytes e) {
  using E = struct nvmf_disc_log_entry;
  DiscoveryLogEntry out;
  out.trtype = load_u8(e, offsetof(E, trtype));
  out.adrfam = load_u8(e, offsetof(E, adrfam));
  out.subtype = load_u8(e, offsetof(E, subtype));
  out.treq = load_u8(e, offsetof(E, treq));
  out.portid = load_le16(e, offsetof(E, portid));
  out.cntlid = load_le16(e, offsetof(E, cntlid));
  out.asqsz = load_le16(e, offsetof(E, asqsz));
  out.eflags = load_le16(e, offsetof(E, eflags));
  // TRSVCID and TRADDR are space-padded per spec (SPDK); nvmet pads them with NULs instead.
  // load_text() stops at the first NUL and drops trailing spaces: both read the same.
  out.trsvcid = load_text(e, offsetof(E, trsvcid), sizeof(E::trsvcid));
  out.subnqn = load_text(e, offsetof(E, subnqn), sizeof(E::subnqn));
  out.traddr = load_text(e, offsetof(E, traddr), sizeof(E::traddr));
  out.sectype = load_u8(e, offsetof(E, tsas));
  return out;
}

}  // namespace

// ---- ANA log ----------------------------------------------------------------------------------

bool ana_state_valid(AnaState state) {
  switch (state) {
    case AnaState::Optimized:
    case AnaState::NonOptimized:
    case AnaState::Inaccessible:
    case AnaState::PersistentLoss:
    case AnaState::Change:
      return true;
  }
  return false;
}

std::string ana_state_name(AnaState state) {
  switch (state) {
    case AnaState::Optimized: return "optimized";
    case AnaState::NonOptimized: return "non-optimized";
    case AnaState::Inaccessible: return "inaccessible";
    case AnaState::PersistentLoss: return "persistent-loss";
    case AnaState::Change: return "change";
  }
  return fmt::format("invalid (0x{:x})", static_cast<unsigned>(state));
}

std::size_t ana_log_max_size(std::uint32_t nanagrpid, std::uint32_t mnan) {
  static_assert(sizeof(std::size_t) >= 8, "16 + 2^32 x 36 needs 64 bits");
  return kAnaHeaderSize + std::size_t{nanagrpid} * kAnaGroupHeaderSize +
         std::size_t{mnan} * sizeof(std::uint32_t);
}

Result<AnaLog> parse_ana_log(Bytes log, AnaLogForm form) {
  const std::size_t size = log.size();
  if (size < kAnaHeaderSize) {
    return make_error(Errc::Truncated,
                      fmt::format("ANA log: {} bytes, the header alone is {}", size,
                                  kAnaHeaderSize));
  }
  AnaLog out;
  out.chgcnt = load_le64(log, offsetof(struct nvme_ana_log, chgcnt));
  out.ngrps = load_le16(log, offsetof(struct nvme_ana_log, ngrps));
  // Reserve no more than the buffer can hold: NGRPS is outside input.
  out.groups.reserve(
      std::min<std::size_t>(out.ngrps, (size - kAnaHeaderSize) / kAnaGroupHeaderSize));

  std::vector<Seen> grpids;
  std::vector<Seen> nsids;
  std::size_t off = kAnaHeaderSize;
  for (std::size_t i = 0; i < out.ngrps; ++i) {
    // Built only on error: a log may hold thousands of groups.
    const auto where = [i, off] {
      return fmt::format("ANA log: group descriptor [{}] at offset {}", i, off);
    };
    if (size - off < kAnaGroupHeaderSize) {
      return make_error(Errc::Truncated,
                        fmt::format("{}: its 32-byte header runs past the end of the {}-byte log "
                                    "(NGRPS {})",
                                    where(), size, out.ngrps));
    }
    using G = struct nvme_ana_group_desc;
    AnaGroup g;
    g.anagrpid = load_le32(log, off + offsetof(G, grpid));
    g.nnsids = load_le32(log, off + offsetof(G, nnsids));
    g.chgcnt = load_le64(log, off + offsetof(G, chgcnt));
    // Bits 7:4 of the state byte are reserved: ignore them.
    g.state = static_cast<AnaState>(load_u8(log, off + offsetof(G, state)) & 0x0F);
    if (g.anagrpid == 0) {
      return make_error(Errc::Malformed,
                        fmt::format("{}: ANAGRPID 0 is not a valid group id", where()));
    }
    if (!ana_state_valid(g.state)) {
      return make_error(Errc::Malformed,
                        fmt::format("{} (ANAGRPID {}): ANA state 0x{:x} is undefined (valid: 1-4, "
                                    "0xf)",
                                    where(), g.anagrpid, static_cast<unsigned>(g.state)));
    }
    grpids.push_back(Seen{g.anagrpid, i, off});
    const std::size_t body = off + kAnaGroupHeaderSize;
    if (form == AnaLogForm::GroupsOnly) {
      // With RGO the controller clears NNSIDS; a list here would shift every later group.
      if (g.nnsids != 0) {
        return make_error(Errc::Malformed,
                          fmt::format("{} (ANAGRPID {}): NNSIDS {} in a log read with RGO (groups "
                                      "only, NNSIDS must be 0)",
                                      where(), g.anagrpid, g.nnsids));
      }
      off = body;
      out.groups.push_back(std::move(g));
      continue;
    }
    const std::uint64_t list_bytes = std::uint64_t{g.nnsids} * sizeof(std::uint32_t);
    if (list_bytes > size - body) {
      return make_error(Errc::Truncated,
                        fmt::format("{} (ANAGRPID {}): NNSIDS {} ({} bytes of NSIDs) runs past the "
                                    "end of the {}-byte log",
                                    where(), g.anagrpid, g.nnsids, list_bytes, size));
    }
    g.nsids.reserve(g.nnsids);
    for (std::size_t k = 0; k < g.nnsids; ++k) {
      const std::size_t at = body + 4 * k;
      const std::uint32_t nsid = load_le32(log, at);
      if (nsid == 0 || nsid == kNsidBroadcast) {
        return make_error(Errc::Malformed,
                          fmt::format("{} (ANAGRPID {}): NSID [{}] at offset {} is 0x{:x}, not a "
                                      "namespace",
                                      where(), g.anagrpid, k, at, nsid));
      }
      g.nsids.push_back(nsid);
      nsids.push_back(Seen{nsid, i, at});
    }
    off = body + static_cast<std::size_t>(list_bytes);
    out.groups.push_back(std::move(g));
  }

  // One namespace in two groups (or one group twice) leaves its state ambiguous.
  const Seen* first = nullptr;
  if (const Seen* dup = find_duplicate(grpids, &first)) {
    return make_error(Errc::Malformed,
                      fmt::format("ANA log: ANAGRPID {} appears twice: group descriptors [{}] at "
                                  "offset {} and [{}] at offset {}",
                                  dup->id, first->group, first->off, dup->group, dup->off));
  }
  if (const Seen* dup = find_duplicate(nsids, &first)) {
    return make_error(Errc::Malformed,
                      fmt::format("ANA log: NSID {} is listed twice: in group descriptor [{}] at "
                                  "offset {} and in [{}] at offset {}",
                                  dup->id, first->group, first->off, dup->group, dup->off));
  }
  return out;
}

// ---- Discovery log ----------------------------------------------------------------------------

std::string discovery_subtype_name(std::uint8_t subtype) {
  switch (subtype) {
    case static_cast<std::uint8_t>(DiscoverySubtype::Referral): return "referral";
    case static_cast<std::uint8_t>(DiscoverySubtype::Nvme): return "nvme";
    case static_cast<std::uint8_t>(DiscoverySubtype::CurrentDiscovery):
      return "current-discovery";
    default: return fmt::format("unknown ({})", subtype);
  }
}

Result<DiscoveryLogHeader> parse_discovery_log_header(Bytes log) {
  if (log.size() < kDiscoveryLogHeaderSize) {
    return make_error(Errc::Truncated,
                      fmt::format("discovery log: {} bytes, the header is {} (read at least that "
                                  "many)",
                                  log.size(), kDiscoveryLogHeaderSize));
  }
  return load_discovery_header(log);
}

Result<std::uint64_t> discovery_log_size(std::uint64_t numrec) {
  constexpr std::uint64_t kMaxNumrec =
      std::numeric_limits<std::uint64_t>::max() / kDiscoveryLogEntrySize - 1;
  if (numrec > kMaxNumrec) {
    return make_error(Errc::Malformed,
                      fmt::format("discovery log: NUMREC {} would need (1 + {}) x 1024 bytes, more "
                                  "than 64 bits can count",
                                  numrec, numrec));
  }
  return (numrec + 1) * kDiscoveryLogEntrySize;
}

Result<DiscoveryLog> parse_discovery_log(Bytes log) {
  auto header = parse_discovery_log_header(log);
  if (!header) {
    return tl::unexpected(header.error());
  }
  if (header->recfmt != 0) {
    return make_error(Errc::Unsupported,
                      fmt::format("discovery log: RECFMT {} at offset 16; only format 0 is known",
                                  header->recfmt));
  }
  // Compare counts, not byte sizes: (1 + NUMREC) x 1024 can overflow.
  const std::uint64_t room = (log.size() - kDiscoveryLogHeaderSize) / kDiscoveryLogEntrySize;
  if (header->numrec > room) {
    const auto need = discovery_log_size(header->numrec);
    const std::string need_text =
        need ? fmt::format("{} bytes", *need) : std::string("more bytes than 64 bits can count");
    return make_error(Errc::Truncated,
                      fmt::format("discovery log: NUMREC {} needs {} (1024-byte header + {} "
                                  "1024-byte entries), got {} bytes; read the log again with "
                                  "that size",
                                  header->numrec, need_text, header->numrec, log.size()));
  }
  DiscoveryLog out;
  out.header = *header;
  out.entries.reserve(static_cast<std::size_t>(header->numrec));
  for (std::size_t i = 0; i < header->numrec; ++i) {
    const std::size_t off = kDiscoveryLogHeaderSize + i * kDiscoveryLogEntrySize;
    out.entries.push_back(load_discovery_entry(log.subspan(off, kDiscoveryLogEntrySize)));
  }
  return out;
}

// ---- Changed Namespace List -------------------------------------------------------------------

Result<ChangedNsList> parse_changed_ns_list(Bytes log) {
  constexpr std::size_t kMaxBytes = kChangedNsListMaxEntries * sizeof(std::uint32_t);
  if (log.size() % 4 != 0) {
    return make_error(Errc::Malformed,
                      fmt::format("changed NS list: {} bytes, not a whole number of 4-byte NSIDs",
                                  log.size()));
  }
  if (log.size() > kMaxBytes) {
    return make_error(Errc::Malformed,
                      fmt::format("changed NS list: {} bytes, the log page is at most {} ({} "
                                  "NSIDs)",
                                  log.size(), kMaxBytes, kChangedNsListMaxEntries));
  }
  ChangedNsList out;
  for (std::size_t off = 0; off < log.size(); off += 4) {
    const std::uint32_t nsid = load_le32(log, off);
    if (nsid == 0) {
      break;  // the list ends at the first zero entry
    }
    if (nsid == kNsidBroadcast) {
      if (off == 0) {
        // More than 1024 namespaces changed; the rest of the page is zero-filled.
        out.overflow = true;
        break;
      }
      return make_error(Errc::Malformed,
                        fmt::format("changed NS list: entry {} at offset {} is 0xffffffff; that "
                                    "value is allowed only as the first entry",
                                    off / 4, off));
    }
    out.nsids.push_back(nsid);
  }
  return out;
}

}  // namespace nvmemp::wire
