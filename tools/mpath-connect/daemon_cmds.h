// mpath-connect commands that talk to nvme-mpathd over its control socket: list,
// show-topology, stats, connect, connect-all, disconnect, reauth, reset, set-policy, reload.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace nvmemp::tools {

inline constexpr const char* kDefaultControlSocket = "/run/nvme-mpath/control.sock";

// Sends `request`, prints the answer (`json`: as JSON, else as text for `cmd`). Exit code:
// 0 done, 1 the daemon refused or failed (its error printed), 2 no daemon.
int daemon_command(const std::string& socket, const nlohmann::json& request, bool json);

// The text forms (exposed for tests).
std::string list_text(const nlohmann::json& list);
std::string stats_text(const nlohmann::json& stats);

}  // namespace nvmemp::tools
