// What the daemon answers on its control socket (the protocol mpath-connect speaks).
// One JSON object per request; "cmd" says what:
//   {"cmd": "list"}                                   heads -> paths (topology_json.h schema)
//   {"cmd": "stats"} / {"cmd": "stats", "format": "prometheus"}   counters ({"text": ...})
//   {"cmd": "connect", "traddr", "trsvcid", "nqn" [, "host_traddr", "host_iface"]}      root
//   {"cmd": "connect-all", "traddr", "trsvcid", "nqn"}                                   root
//   {"cmd": "disconnect", "nqn"} | {"cmd": "disconnect", "path": ID}                     root
//   {"cmd": "set-policy", "nqn", "policy"}                                               root
//   {"cmd": "reload"}                                                                    root
// Answers: {"ok": true, ...} or {"error": "what is wrong and what to do"}.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control_server.h"
#include "nvmemp/mpath.h"

namespace nvmemp::mpathd {

struct ControlContext {
  Fabric* fabric = nullptr;
  std::function<Result<void>()> reload;                      // re-read the configuration
  std::map<std::uint32_t, std::vector<std::string>> exports;  // head id -> export URIs
  // A subsystem's connection knobs, keys and TLS settings for connect and connect-all (its
  // [[subsystem]]'s, else [host] and [defaults]); unset: the Fabric's options.
  std::function<FabricOptions(const std::string& nqn)> knobs;
};

nlohmann::json handle_control(ControlContext& ctx, const nlohmann::json& req, const Peer& peer);

}  // namespace nvmemp::mpathd
