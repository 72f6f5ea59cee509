// The TLS PSK of one NVMe/TCP connection from the public TLS settings (FabricOptions tls_key,
// tls_identity, tls_compat): shared by the Fabric's paths and discovery controllers and by
// mpath-connect's discover, which drives a discovery controller without a Fabric.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "nvmemp/mpath.h"
#include "nvmemp/result.h"
#include "tls/tls_psk.h"

namespace nvmemp::multipath {

// What a connection of host `hostnqn` to `subnqn` offers in its TLS handshake: the identity
// (knobs.tls_identity) and the TLS PSK derived from knobs.tls_key (knobs.tls_compat: libnvme's
// former derivation). Null when knobs has no tls_key; knobs.tls without a tls_key is an error
// that starts with `where` (the connection: "nqn... @ 10.0.0.1:4420"). Errors never hold the key.
[[nodiscard]] Result<std::shared_ptr<const tls::TlsPsk>> tls_psk_for(const FabricOptions& knobs,
                                                                     const std::string& hostnqn,
                                                                     const std::string& subnqn,
                                                                     std::string_view where);

}  // namespace nvmemp::multipath
