// The library API's TlsKey and TlsIdentity (nvmemp/mpath.h).
#include <fmt/format.h>

#include "auth/key_text.h"
#include "tls/tls_key_impl.h"

namespace nvmemp {

std::string TlsKey::describe() const {
  if (!impl_) return "none";
  return fmt::format("NVMeTLSkey-1:{:02} ({} bytes)", static_cast<unsigned>(impl_->psk.transform), impl_->psk.key.size());
}

Result<TlsKey> parse_tls_key(std::string_view text, std::string_view what) {
  auto p = tls::parse_tls_key(text, what);
  if (!p) return tl::unexpected(p.error());
  auto impl = std::make_shared<TlsKey::Impl>();
  impl->psk = std::move(*p);
  return TlsKey(std::move(impl));
}

Result<TlsKey> read_tls_key_file(const std::string& path, std::string_view what) {
  auto text = auth::read_key_file(path, what, "NVMeTLSkey-1");
  if (!text) return tl::unexpected(text.error());
  const std::string where = fmt::format("{} (file {})", what, path);
  return parse_tls_key(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), where);
}

const char* tls_identity_name(TlsIdentity v) noexcept { return v == TlsIdentity::V0 ? "v0" : "v1"; }

Result<TlsIdentity> parse_tls_identity(std::string_view text) {
  if (text == "v1" || text == "1") return TlsIdentity::V1;
  if (text == "v0" || text == "0") return TlsIdentity::V0;
  return make_error(Errc::InvalidArgument,
                    fmt::format("unknown TLS identity version \"{}\": use v1 (NVMe1R, the default) or v0 (NVMe0R)", text));
}

}  // namespace nvmemp
