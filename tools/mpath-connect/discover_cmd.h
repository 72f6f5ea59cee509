// `mpath-connect discover`: nvme-cli's discover, with referrals followed.
#pragma once

#include <string>

#include "discovery/discovery.h"

namespace nvmemp::tools {

// nvme-cli's words for the discovery log fields.
std::string subtype_text(std::uint8_t subtype);
std::string treq_text(std::uint8_t treq);
std::string adrfam_text(std::uint8_t adrfam);
std::string trtype_text(std::uint8_t trtype);
// TSAS SECTYPE of a TCP entry: "none", "tls1.2", "tls1.3".
std::string sectype_text(std::uint8_t sectype);

// Runs discovery to completion (bounded by the controller timeouts).
Result<discovery::DiscoveryResult> discover(const discovery::DiscoveryOptions& opts);

std::string discovery_json(const discovery::DiscoveryResult& r);
std::string discovery_text(const discovery::DiscoveryResult& r);

}  // namespace nvmemp::tools
