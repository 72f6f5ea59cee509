// Identify and log page data of the simulated target, laid out with libnvme's structs
// (NVMe Base 2.0: Identify Controller, Get Log Page; NVM Command Set 1.0: Identify Namespace).
#include "sim_identify.h"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "wire/libnvme_types.h"

namespace nvmemp::sim {

namespace {

constexpr std::size_t kIdLen = 4096;

// Space-padded ASCII (Identify SN/MN/FR, discovery TRADDR/TRSVCID).
void put_padded(char* field, std::size_t len, std::string_view s) {
  std::memset(field, ' ', len);
  std::memcpy(field, s.data(), std::min(len, s.size()));
}

// NUL-padded (NQN fields).
void put_nqn(char* field, std::string_view s) {
  std::memset(field, 0, NVME_NQN_LENGTH);
  std::memcpy(field, s.data(), std::min<std::size_t>(NVME_NQN_LENGTH - 1, s.size()));
}

template <class T>
std::vector<std::uint8_t> as_bytes(const T& v, std::size_t len = sizeof(T)) {
  std::vector<std::uint8_t> out(std::max(len, sizeof(T)), 0);
  std::memcpy(out.data(), &v, sizeof(T));
  out.resize(len);
  return out;
}

std::uint8_t log2_of(std::uint32_t v) {
  std::uint8_t n = 0;
  while ((1u << n) < v && n < 31) {
    ++n;
  }
  return n;
}

}  // namespace

std::vector<std::uint8_t> build_id_ctrl(const IdCtrlInfo& info) {
  nvme_id_ctrl c;
  std::memset(&c, 0, sizeof c);
  put_padded(c.sn, sizeof c.sn, "sim-0001");
  put_padded(c.mn, sizeof c.mn, "nvme-mpath sim-target");
  put_padded(c.fr, sizeof c.fr, "0.1");
  c.mdts = kMdts;
  c.cntlid = htole16(info.cntlid);
  c.ver = htole32(0x10400);  // NVMe 1.4
  c.ctratt = htole32(1u << 0 | 1u << 6);  // 128-bit host id, TBKAS (traffic-based keep-alive)
  c.aerl = kAerl;
  c.crdt1 = c.crdt2 = c.crdt3 = htole16(info.crdt_100ms);
  c.lpa = 0x4;  // extended data for Get Log Page (offsets)
  c.kas = htole16(kKas);
  c.sqes = 0x66;
  c.cqes = 0x44;
  c.maxcmd = htole16(static_cast<std::uint16_t>(std::min<std::uint32_t>(info.mqes + 1u, 0xFFFF)));
  c.sgls = htole32(1u << 0 | 1u << 20);  // SGLs supported, offset addressing (nvmet's 0x100001)
  c.ioccsz = htole32(info.ioccsz);
  c.iorcsz = htole32(1);
  c.msdbd = 1;
  put_nqn(c.subnqn, info.subnqn);
  if (info.discovery) {
    c.cntrltype = 2;                      // discovery controller
    c.oaes = htole32(1u << 31);           // discovery log page change notices
    return as_bytes(c, kIdLen);
  }
  c.cntrltype = 1;  // I/O controller
  // CMIC: multi-port, multi-controller, ANA reporting (0xb, like nvmet).
  c.cmic = NVME_CTRL_CMIC_MULTI_PORT | NVME_CTRL_CMIC_MULTI_CTRL | NVME_CTRL_CMIC_MULTI_ANA_REPORTING;
  c.oaes = htole32(NVME_CTRL_OAES_NA | NVME_CTRL_OAES_ANA);
  c.anatt = kAnatt;
  c.anacap = 0x1f;  // all five states reported
  c.anagrpmax = htole32(kAnaGrpMax);
  c.nanagrpid = htole32(kAnaGrpMax);
  c.nn = htole32(kMaxNsid);
  c.mnan = htole32(kMaxNsid);
  c.oncs = htole16(1u << 2 | 1u << 3);  // Dataset Management, Write Zeroes
  c.vwc = 1;                              // volatile write cache: Flush is meaningful
  return as_bytes(c, kIdLen);
}

std::vector<std::uint8_t> build_id_ns(const SimNamespace& ns, std::uint32_t lba_size) {
  nvme_id_ns n;
  std::memset(&n, 0, sizeof n);
  if (!ns.enabled) {
    return as_bytes(n, kIdLen);
  }
  const std::uint64_t nlba = ns.store->size() / lba_size;
  n.nsze = htole64(nlba);
  n.ncap = htole64(nlba);
  n.nuse = htole64(nlba);
  n.nlbaf = 0;
  n.flbas = 0;
  n.nmic = 1;  // shared: reachable through several controllers
  n.anagrpid = htole32(ns.anagrpid);
  std::memcpy(n.nguid, ns.nguid.data(), sizeof n.nguid);
  n.lbaf[0].ds = log2_of(lba_size);
  return as_bytes(n, kIdLen);
}

std::vector<std::uint8_t> build_ns_descriptors(const SimNamespace& ns) {
  std::vector<std::uint8_t> out(kIdLen, 0);
  std::size_t off = 0;
  const auto add = [&](std::uint8_t nidt, const std::uint8_t* nid, std::uint8_t nidl) {
    out[off] = nidt;
    out[off + 1] = nidl;
    std::memcpy(out.data() + off + 4, nid, nidl);
    off += 4 + nidl;
  };
  if (ns.enabled) {
    // nvmet's order: UUID, NGUID, CSI (real-target README).
    add(NVME_NIDT_UUID, ns.uuid.data(), NVME_NIDT_UUID_LEN);
    add(NVME_NIDT_NGUID, ns.nguid.data(), NVME_NIDT_NGUID_LEN);
    const std::uint8_t csi = 0;  // NVM command set
    add(NVME_NIDT_CSI, &csi, NVME_NIDT_CSI_LEN);
  }
  return out;
}

std::vector<std::uint8_t> build_active_ns_list(const std::vector<SimNamespace>& nss, std::uint32_t after_nsid) {
  std::vector<std::uint8_t> out(kIdLen, 0);
  std::size_t i = 0;
  for (const auto& ns : nss) {  // ascending NSIDs
    if (ns.enabled && ns.nsid > after_nsid && i < kIdLen / 4) {
      const std::uint32_t v = htole32(ns.nsid);
      std::memcpy(out.data() + 4 * i++, &v, 4);
    }
  }
  return out;
}

std::vector<std::uint8_t> build_ana_log(const Core& core, std::size_t port, bool rgo) {
  // Groups: those with a namespace and those configured on any port (nvmet lists every
  // enabled group, with this port's state; unconfigured on this port = inaccessible).
  std::set<std::uint32_t> groups;
  for (const auto& ns : core.namespaces()) {
    groups.insert(ns.anagrpid);
  }
  for (const auto& p : core.ports()) {
    for (const auto& [g, st] : p.ana) {
      groups.insert(g);
    }
  }
  std::vector<std::uint8_t> out(sizeof(nvme_ana_log), 0);
  nvme_ana_log hdr;
  std::memset(&hdr, 0, sizeof hdr);
  hdr.chgcnt = htole64(core.ana_chgcnt());
  hdr.ngrps = htole16(static_cast<std::uint16_t>(groups.size()));
  std::memcpy(out.data(), &hdr, sizeof hdr);
  for (const std::uint32_t g : groups) {
    std::vector<std::uint32_t> nsids;
    for (const auto& ns : core.namespaces()) {
      if (ns.enabled && ns.anagrpid == g) {
        nsids.push_back(ns.nsid);
      }
    }
    nvme_ana_group_desc d;
    std::memset(&d, 0, sizeof d);
    d.grpid = htole32(g);
    d.nnsids = htole32(rgo ? 0 : static_cast<std::uint32_t>(nsids.size()));
    d.chgcnt = htole64(core.ana_chgcnt());
    d.state = static_cast<std::uint8_t>(core.ana_state(port, g));
    const std::size_t at = out.size();
    out.resize(at + sizeof d + (rgo ? 0 : 4 * nsids.size()));
    std::memcpy(out.data() + at, &d, sizeof d);
    if (!rgo) {
      for (std::size_t i = 0; i < nsids.size(); ++i) {
        const std::uint32_t v = htole32(nsids[i]);
        std::memcpy(out.data() + at + sizeof d + 4 * i, &v, 4);
      }
    }
  }
  return out;
}

std::vector<std::uint8_t> build_discovery_log(const Core& core, std::size_t port, std::string_view hostnqn) {
  std::vector<nvmf_disc_log_entry> entries;
  const auto& ports = core.ports();
  // With a TLS key every port speaks TLS 1.3 (SECTYPE 2), as nvmet's addr_tsas "tls1.3": TREQ
  // says secure channel required with --tls-required, else not required (plain accepted too).
  const bool tls = !core.config().tls_key.empty();
  const std::uint8_t secure = !tls ? 0x0 : core.config().tls_required ? 0x1 : 0x2;
  const auto entry = [&](std::uint8_t subtype, std::uint8_t treq, std::size_t p, std::string_view nqn) {
    nvmf_disc_log_entry e;
    std::memset(&e, 0, sizeof e);
    e.trtype = NVMF_TRTYPE_TCP;
    e.adrfam = NVMF_ADDR_FAMILY_IP4;
    e.subtype = subtype;
    e.treq = static_cast<std::uint8_t>(treq | secure);
    e.tsas.tcp.sectype = tls ? NVMF_TCP_SECTYPE_TLS13 : NVMF_TCP_SECTYPE_NONE;
    e.portid = htole16(static_cast<std::uint16_t>(p + 1));
    e.cntlid = htole16(0xFFFF);  // dynamic controller model
    e.asqsz = htole16(32);
    put_padded(e.trsvcid, sizeof e.trsvcid, std::to_string(ports[p].tcp_port));
    put_padded(e.traddr, sizeof e.traddr, "127.0.0.1");
    put_nqn(e.subnqn, nqn);
    entries.push_back(e);
  };
  // Like nvmet: this port only: the current discovery subsystem, the NVM subsystem, then
  // referrals to the other ports' discovery controllers. TREQ bit 2: SQ flow control
  // disable supported.
  entry(NVME_NQN_CURR, 0x4, port, kDiscoveryNqn);
  if (ports[port].up && ports[port].linked && core.host_allowed(hostnqn)) {
    entry(NVME_NQN_NVME, 0x4, port, core.config().nqn);
  }
  for (std::size_t q = 0; q < ports.size(); ++q) {
    if (q != port) {
      entry(NVME_NQN_DISC, 0x0, q, kDiscoveryNqn);
    }
  }
  nvmf_discovery_log hdr;
  std::memset(&hdr, 0, sizeof hdr);
  hdr.genctr = htole64(core.disc_genctr());
  hdr.numrec = htole64(entries.size());
  hdr.recfmt = 0;
  std::vector<std::uint8_t> out(sizeof hdr + entries.size() * sizeof(nvmf_disc_log_entry), 0);
  std::memcpy(out.data(), &hdr, sizeof hdr);
  std::memcpy(out.data() + sizeof hdr, entries.data(), entries.size() * sizeof(nvmf_disc_log_entry));
  return out;
}

std::vector<std::uint8_t> build_changed_ns_log(const Controller& ctrl) {
  std::vector<std::uint8_t> out(kIdLen, 0);
  if (ctrl.changed_ns_overflow) {
    const std::uint32_t v = htole32(0xFFFFFFFFu);
    std::memcpy(out.data(), &v, 4);
    return out;
  }
  for (std::size_t i = 0; i < ctrl.changed_ns.size() && i < kIdLen / 4; ++i) {
    const std::uint32_t v = htole32(ctrl.changed_ns[i]);
    std::memcpy(out.data() + 4 * i, &v, 4);
  }
  return out;
}

}  // namespace nvmemp::sim
