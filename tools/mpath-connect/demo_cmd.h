// `mpath-connect demo`: the simulated target, nvme-mpathd and I/O through its NBD export (see
// demo_cmd.cc).
#pragma once

namespace nvmemp::tools {

// Exit code: 0 when the application saw no error and no verify failure.
int run_demo(bool verbose);

}  // namespace nvmemp::tools
