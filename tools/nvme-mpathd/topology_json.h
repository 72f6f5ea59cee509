// The `list` / `stats` answers of the control socket and `mpath-connect list -o json`: one
// schema for every kind of head (SCSI heads join it later, issue 7).
//   {"heads": [{"wwid", "transport": "nvme", "nqn", "nsid", "size_bytes", "block_size", "policy",
//               "exports": [...], "paths": [{"name", "state", "ana_state", "current", "ios",
//               "errors", "traddr", "trsvcid", "cntlid", "ana_grpid"}]}]}
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nvmemp/mpath.h"

namespace nvmemp::mpathd {

// `exports`: head id -> export URIs ("nbd+unix:///name?socket=/run/...").
nlohmann::ordered_json list_json(const TopologyInfo& t, const std::map<std::uint32_t, std::vector<std::string>>& exports = {});
// Per path and per head counters.
nlohmann::ordered_json stats_json(const TopologyInfo& t);
// The same counters in the Prometheus text exposition format.
std::string stats_prometheus(const TopologyInfo& t);

}  // namespace nvmemp::mpathd
