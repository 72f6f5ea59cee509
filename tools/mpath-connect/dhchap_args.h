// DH-HMAC-CHAP key options of mpath-connect, with nvme-cli's names: -S/--dhchap-secret and
// -C/--dhchap-ctrl-secret take the "DHHC-1:XX:...:" key itself (visible in /proc to every user
// while the command runs: prefer the _file forms), --dhchap-secret-file and
// --dhchap-ctrl-secret-file read it from a file.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "nvmemp/mpath.h"

namespace nvmemp::tools {

struct DhchapArgs {
  std::string secret, ctrl_secret;            // the key text (wiped once parsed)
  std::string secret_file, ctrl_secret_file;  // or where to read it
};

void add_dhchap_options(CLI::App* c, DhchapArgs& a);

struct DhchapArgKeys {
  DhchapKey host;
  DhchapKey ctrl;
};
// Parses or reads what was given (the text options wiped afterwards, also on error). A key
// given both ways, or a controller key without a host key, is an error naming the options.
Result<DhchapArgKeys> load_dhchap_args(DhchapArgs& a);

}  // namespace nvmemp::tools
