// The real-target VM (Linux nvmet) as the real tests see it: ports from
// $REAL_TARGET_DIR/run/env, and its control channel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nvmemp/result.h"

namespace nvmemp::test {

struct RealTarget {
  std::uint16_t port1 = 0;     // nvmet port 1 (ANA optimized)
  std::uint16_t port2 = 0;     // nvmet port 2 (ANA non-optimized)
  std::uint16_t ctl_port = 0;  // control channel
  std::string nqn;             // the subsystem NQN
};

// The running VM, or why there is none (message for the skip).
Result<RealTarget> find_real_target();

// Sends one control command ("reset", "ana 1 1 inaccessible"); returns the lines before OK.
Result<std::string> real_target_ctl(const RealTarget& rt, const std::string& command);

// The target found by main() before the tests ran.
const RealTarget& real_target();
void set_real_target(const RealTarget& rt);

}  // namespace nvmemp::test
