// Discovery over TLS for the relay tests: our discovery controller (discovery/discovery.h) with
// the TLS PSK our code derives from a configured key for the discovery subsystem, referrals not
// followed (a referral names a plain port of the target, which the relay is not).
#pragma once

#include <cstdint>
#include <string>

#include "discovery/discovery.h"
#include "nvmemp/result.h"

namespace nvmemp::test {

// Reads the discovery log at 127.0.0.1:`port` over TLS 1.3, as `hostnqn` with `configured_key`
// ("NVMeTLSkey-1:..."), within 30 s; the discovery controller is shut down before it returns.
Result<discovery::DiscoveryResult> discover_over_tls(std::uint16_t port, const std::string& hostnqn,
                                                     const std::string& configured_key);

}  // namespace nvmemp::test
