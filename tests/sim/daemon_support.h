// Helpers for the sim tests of nvme-mpathd: a daemon in this process, from configuration text.
#pragma once

#include <memory>
#include <string>

#include "daemon.h"

namespace nvmemp::test {

// A fresh directory for one test's files (/tmp/nvme-mpath-<what>-<pid>).
std::string test_dir(const std::string& what);
// Writes `toml` to DIR/mpath.toml, loads it and starts the daemon (REQUIREs each step).
std::unique_ptr<mpathd::Daemon> start_daemon_with(const std::string& dir, const std::string& toml);

}  // namespace nvmemp::test
