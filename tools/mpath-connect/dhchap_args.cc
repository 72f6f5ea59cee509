#include "dhchap_args.h"
#include "auth/secret_buf.h"


#include <fmt/format.h>

namespace nvmemp::tools {

namespace {

using auth::wipe;

Result<DhchapKey> load_one(std::string& text, const std::string& file, const char* text_opt, const char* file_opt) {
  if (!text.empty() && !file.empty()) {
    wipe(text);
    return make_error(Errc::InvalidArgument, fmt::format("give {} or {}, not both", text_opt, file_opt));
  }
  if (!file.empty()) return read_dhchap_key_file(file, file_opt);
  if (text.empty()) return DhchapKey{};
  auto k = parse_dhchap_key(text, text_opt);
  wipe(text);
  return k;
}

}  // namespace

void add_dhchap_options(CLI::App* c, DhchapArgs& a) {
  c->add_option("-S,--dhchap-secret", a.secret,
                "host key for in-band authentication, DHHC-1:XX:...: (nvme gen-dhchap-key); prefer "
                "--dhchap-secret-file: arguments are visible to other users");
  c->add_option("-C,--dhchap-ctrl-secret", a.ctrl_secret,
                "controller key: the controller must prove it holds it (bidirectional authentication)");
  c->add_option("--dhchap-secret-file", a.secret_file, "file holding the host key");
  c->add_option("--dhchap-ctrl-secret-file", a.ctrl_secret_file, "file holding the controller key");
}

Result<DhchapArgKeys> load_dhchap_args(DhchapArgs& a) {
  DhchapArgKeys keys;
  auto host = load_one(a.secret, a.secret_file, "--dhchap-secret", "--dhchap-secret-file");
  auto ctrl = load_one(a.ctrl_secret, a.ctrl_secret_file, "--dhchap-ctrl-secret", "--dhchap-ctrl-secret-file");
  if (!host) return tl::unexpected(host.error());
  if (!ctrl) return tl::unexpected(ctrl.error());
  if (host->empty() && !ctrl->empty()) {
    return make_error(Errc::InvalidArgument,
                      "a controller key (--dhchap-ctrl-secret) needs a host key (--dhchap-secret) as well");
  }
  keys.host = std::move(*host);
  keys.ctrl = std::move(*ctrl);
  return keys;
}

}  // namespace nvmemp::tools
