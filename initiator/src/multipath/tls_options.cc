#include "multipath/tls_options.h"

#include <fmt/format.h>

#include "tls/tls_key_impl.h"

namespace nvmemp::multipath {

Result<std::shared_ptr<const tls::TlsPsk>> tls_psk_for(const FabricOptions& knobs, const std::string& hostnqn,
                                                       const std::string& subnqn, std::string_view where) {
  if (knobs.tls_key.empty()) {
    if (!knobs.tls) return std::shared_ptr<const tls::TlsPsk>();
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: TLS is on but no TLS key is configured: set tls_key or tls_key_file "
                                  "(mpath-connect --tls-key-file), the NVMeTLSkey-1 key the target has for this host",
                                  where));
  }
  auto t = tls::make_tls_psk(knobs.tls_key.impl()->psk, hostnqn, subnqn,
                             knobs.tls_identity == TlsIdentity::V0 ? tls::IdentityVersion::V0 : tls::IdentityVersion::V1,
                             knobs.tls_compat ? tls::HkdfEncoding::LibnvmeCompat : tls::HkdfEncoding::Rfc8446);
  if (!t) return make_error(t.error().code, fmt::format("{}: TLS key: {}", subnqn, t.error().message));
  return std::make_shared<const tls::TlsPsk>(std::move(*t));
}

}  // namespace nvmemp::multipath
