// Running a command line from a test (the CLI, NBD clients): its exit status and output.
#pragma once

#include <string>

namespace nvmemp::test {

struct ShellResult {
  int status = -1;  // exit status; -1 when it did not exit normally (or timed out)
  std::string out;  // stdout, and stderr unless `with_stderr` is false
};

// Runs `cmd` with /bin/sh, bounded by `timeout_s` seconds (coreutils timeout).
ShellResult shell(const std::string& cmd, int timeout_s = 120, bool with_stderr = true);

}  // namespace nvmemp::test
