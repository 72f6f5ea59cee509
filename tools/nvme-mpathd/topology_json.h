// The `list` / `stats` answers of the control socket and `mpath-connect list -o json`: one
// schema for every kind of head (SCSI heads join it later, issue 7).
//   {"heads": [{"wwid", "transport": "nvme", "nqn", "nsid", "size_bytes", "block_size", "policy",
//               "exports": [...], "paths": [{"name", "state", "ana_state", "current", "ios",
//               "errors", "traddr", "trsvcid", "cntlid", "ana_grpid"}]}]}
// A head's path shows the I/O of that namespace on that path (ios, errors); `stats` has the
// path's totals over all its namespaces:
//   {"paths": [{"name", "state", "reconnects", "ios", "bytes", "errors", "failovers", "retries",
//               "stalls", "outstanding"}],
//    "heads": [{"wwid", "nqn", "nsid", "ios", "bytes", "errors", "failovers", "retries", "held",
//               "paths": [{"name", "ios", "bytes", "errors", "failovers", "retries"}]}]}
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nvmemp/mpath.h"

namespace nvmemp::mpathd {

// `exports`: head id -> export URIs ("nbd+unix:///name?socket=/run/...").
nlohmann::ordered_json list_json(const TopologyInfo& t, const std::map<std::uint32_t, std::vector<std::string>>& exports = {});
// Per path (controller totals), per head, and per (head, path) counters.
nlohmann::ordered_json stats_json(const TopologyInfo& t);
// The same counters in the Prometheus text exposition format: nvme_mpath_path_*_total (labels
// nqn, traddr, trsvcid, cntlid: the controller's totals), nvme_mpath_ns_path_*_total (the same
// labels plus nsid: one namespace on that path) and nvme_mpath_head_*_total (wwid, nqn, nsid).
// The per-namespace series have their own names so that summing a family never counts twice.
std::string stats_prometheus(const TopologyInfo& t);

}  // namespace nvmemp::mpathd
