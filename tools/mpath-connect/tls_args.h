// TLS options of mpath-connect, with nvme-cli's names: --tls turns TLS on; --tls-key takes the
// configured PSK "NVMeTLSkey-1:HH:...:" itself (visible to other users while the command runs:
// prefer --tls-key-file); --tls-identity v1|v0 and --tls-compat for older peers.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "nvmemp/mpath.h"

namespace nvmemp::tools {

struct TlsArgs {
  bool tls = false;
  std::string key;       // the key text (wiped once parsed)
  std::string key_file;  // or where to read it
  std::string identity = "v1";
  bool compat = false;
};

void add_tls_options(CLI::App* c, TlsArgs& a);

// Fills f.tls, f.tls_key, f.tls_identity and f.tls_compat from what was given (the key text
// wiped afterwards, also on error). A key without --tls, or --tls without a key, is an error
// naming the options.
Result<void> load_tls_args(TlsArgs& a, FabricOptions& f);

}  // namespace nvmemp::tools
