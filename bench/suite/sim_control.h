// One line of the simulated target's control protocol (tools/README.md) over its control
// socket on 127.0.0.1: the answer lines up to OK, or an error with the target's ERR reason.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "nvmemp/result.h"

namespace nvmemp::bench {

Result<std::string> sim_control(std::uint16_t ctl_port, const std::string& line, std::chrono::milliseconds timeout);

}  // namespace nvmemp::bench
