#include "multipath/tls_options.h"

#include <fmt/format.h>

#include "tls/tls_key_impl.h"

namespace nvmemp::multipath {

Result<std::shared_ptr<const tls::TlsPsk>> tls_psk_for(const FabricOptions& knobs, const std::string& hostnqn,
                                                       const std::string& subnqn) {
  if (knobs.tls_key.empty()) return std::shared_ptr<const tls::TlsPsk>();
  auto t = tls::make_tls_psk(knobs.tls_key.impl()->psk, hostnqn, subnqn,
                             knobs.tls_identity == TlsIdentity::V0 ? tls::IdentityVersion::V0 : tls::IdentityVersion::V1,
                             knobs.tls_compat ? tls::HkdfEncoding::LibnvmeCompat : tls::HkdfEncoding::Rfc8446);
  if (!t) return make_error(t.error().code, fmt::format("{}: TLS key: {}", subnqn, t.error().message));
  return std::make_shared<const tls::TlsPsk>(std::move(*t));
}

}  // namespace nvmemp::multipath
