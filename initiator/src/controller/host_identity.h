// The host's identity on the fabric: host NQN and host ID, as nvme-cli finds them:
// --hostnqn/--hostid first, then /etc/nvme/hostnqn and /etc/nvme/hostid (libnvme's
// nvmf_hostnqn_from_file/nvmf_hostid_from_file), else generated (nvmf_hostnqn_generate) with a
// hint to save them. The host ID follows the NQN's UUID when there is one, so the two stay
// 1:1 (the kernel refuses one NQN with two IDs or the reverse).
#pragma once

#include <optional>
#include <string>

#include "nvmemp/result.h"
#include "wire/sqe.h"

namespace nvmemp::controller {

struct HostIdentityOptions {
  std::optional<std::string> hostnqn;  // --hostnqn
  std::optional<std::string> hostid;   // --hostid (UUID text)
  // Where hostnqn/hostid files are read; empty: libnvme's defaults (/etc/nvme).
  std::string config_dir;
};

struct HostIdentity {
  std::string hostnqn;
  wire::HostId hostid{};
  std::string hostid_text;  // UUID text of hostid
  bool generated = false;   // nothing was configured: the values are new each run
  std::string hint;         // what to do about it, empty when configured
};

Result<HostIdentity> load_host_identity(const HostIdentityOptions& opts);

// UUID text ↔ 16 bytes (RFC 4122 text form).
Result<wire::HostId> parse_uuid(const std::string& text);
std::string uuid_text(const wire::HostId& id);

}  // namespace nvmemp::controller
