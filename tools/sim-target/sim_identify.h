// Builders of the data the simulated target returns: Identify Controller/Namespace, the NS
// ID descriptor and active NS lists, and the ANA, discovery and changed namespace log pages.
// The opposite direction of wire/identify.h and wire/log_pages.h, built on libnvme's structs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim_core.h"

namespace nvmemp::sim {

// Identify Controller values that do not come from the configuration (nvmet-like).
inline constexpr std::uint32_t kAnaGrpMax = 128;  // ANAGRPMAX = NANAGRPID
inline constexpr std::uint32_t kMaxNsid = 128;    // NN = MNAN
inline constexpr std::uint8_t kAerl = 3;          // 4 AERs outstanding
inline constexpr std::uint16_t kKas = 10;         // keep-alive granularity: 1 s (100 ms units)
inline constexpr std::uint8_t kAnatt = 10;        // seconds
// Largest admin SQSIZE (0's based). CAP.MQES limits only I/O queues on fabrics (nvmet's
// nvmet_install_queue); the I/O limit is SimConfig::mqes.
inline constexpr std::uint16_t kAdminMaxSqsize = 1023;

struct IdCtrlInfo {
  std::uint16_t cntlid = 0;
  bool discovery = false;
  std::string subnqn;
  std::uint32_t ioccsz = 0;
  std::uint16_t mqes = 0;  // CAP.MQES: MAXCMD = MQES + 1
  std::uint16_t crdt_100ms = 0;  // CRDT1..3 (the `crdt` fault)
};

std::vector<std::uint8_t> build_id_ctrl(const IdCtrlInfo& info);
// Zeros for an inactive (disabled) namespace.
std::vector<std::uint8_t> build_id_ns(const SimNamespace& ns, std::uint32_t lba_size);
std::vector<std::uint8_t> build_ns_descriptors(const SimNamespace& ns);
std::vector<std::uint8_t> build_active_ns_list(const std::vector<SimNamespace>& nss, std::uint32_t after_nsid);
// `rgo`: Return Groups Only (LSP bit 0): no NSID lists.
std::vector<std::uint8_t> build_ana_log(const Core& core, std::size_t port, bool rgo);
// The NVM subsystem's entry only for a host that may connect to it (in-band authentication
// configured: its allowed hosts), as nvmet.
std::vector<std::uint8_t> build_discovery_log(const Core& core, std::size_t port, std::string_view hostnqn);
std::vector<std::uint8_t> build_changed_ns_log(const Controller& ctrl);

}  // namespace nvmemp::sim
