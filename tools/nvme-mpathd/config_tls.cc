// NVMe/TCP over TLS in nvme-mpathd's configuration: `tls`, `tls_key` (or `tls_key_file`),
// `tls_identity` and `tls_compat` in [host] (every connection's), in a [[subsystem]] (its
// paths'), in a [[subsystem.path]] and in a [[discovery]] (its discovery controller's, and the
// subsystems its log lists that no [[subsystem]] configures), each level over the one above.
// Errors name the key and its place, never the key.
#include "config_readers.h"

#include <fmt/format.h>

namespace nvmemp::mpathd::detail {

namespace {

// Where else a key for `where` may be set, for the "tls = true needs a key" message.
std::string_view key_places(std::string_view where) {
  if (where == "[host]") return "in [host]";
  if (where == "[[subsystem.path]]") return "here, in its [[subsystem]] or in [host]";
  return "here or in [host]";
}

}  // namespace

void read_tls(const toml::table& t, std::string_view where, TlsSettings& o, std::vector<std::string>* set,
              bool& inline_secret, Problems& p) {
  auto given = [&](std::string_view key) {
    if (set != nullptr) set->emplace_back(key);
  };
  const auto tls = get_bool(t, "tls", p);
  if (tls) {
    o.tls = *tls;
    given("tls");
  }
  TlsKey key;
  read_secret<TlsKey>(t, "tls_key", where, key, inline_secret, p, parse_tls_key, read_tls_key_file);
  if (!key.empty()) {
    o.key = std::move(key);
    given("tls_key");
  }
  if (auto v = get_string(t, "tls_identity", p)) {
    if (auto id = parse_tls_identity(*v)) {
      o.identity = *id;
      given("tls_identity");
    } else {
      p.add(pos(*t.get("tls_identity")), fmt::format("tls_identity in {}: {}", where, id.error().message));
    }
  }
  if (auto v = get_bool(t, "tls_compat", p)) {
    o.compat = *v;
    given("tls_compat");
  }
  // Said where tls is turned on: a level that inherits it inherits the missing key too, and its
  // own place was told already. A key that failed to parse was reported as such.
  const bool key_failed = t.contains("tls_key") || t.contains("tls_key_file");
  if (tls && *tls && o.key.empty() && !key_failed) {
    p.add(pos(*t.get("tls")), fmt::format("tls = true in {} needs a TLS key (the NVMeTLSkey-1 key the target has for "
                                          "this host): set tls_key_file or tls_key {}",
                                          where, key_places(where)));
  }
}

}  // namespace nvmemp::mpathd::detail
