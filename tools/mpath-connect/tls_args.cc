#include "tls_args.h"

#include <fmt/format.h>

#include "auth/secret_buf.h"

namespace nvmemp::tools {

void add_tls_options(CLI::App* c, TlsArgs& a) {
  c->add_flag("--tls", a.tls, "NVMe/TCP over TLS 1.3 with a pre-shared key (needs --tls-key or --tls-key-file)");
  c->add_option("--tls-key", a.key,
                "configured TLS PSK, NVMeTLSkey-1:HH:...: (nvme gen-tls-key); prefer --tls-key-file: arguments are "
                "visible to other users");
  c->add_option("--tls-key-file", a.key_file, "file holding the configured TLS PSK");
  c->add_option("--tls-identity", a.identity, "PSK identity: v1 (NVMe1R, default) or v0 (NVMe0R, SPDK)")
      ->check(CLI::IsMember({"v1", "v0"}));
  c->add_flag("--tls-compat", a.compat, "derive the TLS PSK as libnvme did before its fix (older nvme-cli set-ups)");
}

Result<void> load_tls_args(TlsArgs& a, FabricOptions& f) {
  const bool have_text = !a.key.empty();
  if (have_text && !a.key_file.empty()) {
    auth::wipe(a.key);
    return make_error(Errc::InvalidArgument, "give --tls-key or --tls-key-file, not both");
  }
  Result<TlsKey> key = TlsKey{};
  if (!a.key_file.empty()) {
    key = read_tls_key_file(a.key_file, "--tls-key-file");
  } else if (have_text) {
    key = parse_tls_key(a.key, "--tls-key");
    auth::wipe(a.key);
  }
  if (!key) return tl::unexpected(key.error());
  if (!a.tls && !key->empty()) return make_error(Errc::InvalidArgument, "a TLS key is given but not --tls: add --tls");
  if (a.tls && key->empty()) {
    return make_error(Errc::InvalidArgument, "--tls needs the configured PSK: --tls-key-file FILE or --tls-key KEY");
  }
  auto id = parse_tls_identity(a.identity);
  if (!id) return tl::unexpected(id.error());
  f.tls = a.tls;
  f.tls_key = std::move(*key);
  f.tls_identity = *id;
  f.tls_compat = a.compat;
  return {};
}

}  // namespace nvmemp::tools
