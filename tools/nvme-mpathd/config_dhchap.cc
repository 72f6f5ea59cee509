// The DH-HMAC-CHAP keys of nvme-mpathd's configuration: dhchap_secret in [host] (the host key
// of every subsystem), dhchap_secret and dhchap_ctrl_secret in a [[subsystem]] or one of its
// [[subsystem.path]]s (overriding the level above), each also as ..._file naming a file that
// holds it (read_secret(), shared with the TLS key of config_tls.cc). Errors name the key and its
// place, never the secret.
#include "config_readers.h"
#include "auth/secret_buf.h"


#include <fmt/format.h>

namespace nvmemp::mpathd::detail {

// One key, given inline or as a file; sets `out` when it parses.
template <class Key>
void read_secret(const toml::table& t, std::string_view key, std::string_view where, Key& out, bool& inline_secret,
                 Problems& p, KeyParser<Key> parse, KeyFileReader<Key> read_file) {
  const std::string file_key = std::string(key) + "_file";
  const std::string what = fmt::format("{} in {}", key, where);
  auto text = get_string(t, key, p);  // a copy of the key: wiped below
  struct Wipe {
    std::optional<std::string>& s;
    ~Wipe() {
      if (s) auth::wipe(*s);
    }
  } wipe{text};
  const auto file = get_string(t, file_key, p);
  if (text && file) {
    p.add(pos(*t.get(file_key)), fmt::format("give {} or {}, not both", key, file_key));
    return;
  }
  if (text) {
    inline_secret = true;
    auto k = parse(*text, what);
    if (k) {
      out = std::move(*k);
    } else {
      p.add(pos(*t.get(key)), k.error().message);
    }
  } else if (file) {
    if (file->empty() || file->front() != '/') {
      p.add(pos(*t.get(file_key)), fmt::format("{} must be an absolute path", file_key));
      return;
    }
    auto k = read_file(*file, fmt::format("{} in {}", file_key, where));
    if (k) {
      out = std::move(*k);
    } else {
      p.add(pos(*t.get(file_key)), k.error().message);
    }
  }
}

template void read_secret<DhchapKey>(const toml::table&, std::string_view, std::string_view, DhchapKey&, bool&,
                                     Problems&, KeyParser<DhchapKey>, KeyFileReader<DhchapKey>);
template void read_secret<TlsKey>(const toml::table&, std::string_view, std::string_view, TlsKey&, bool&, Problems&,
                                  KeyParser<TlsKey>, KeyFileReader<TlsKey>);

namespace {

void read_one(const toml::table& t, std::string_view key, std::string_view where, DhchapKey& out, bool& inline_secret,
              Problems& p) {
  read_secret<DhchapKey>(t, key, where, out, inline_secret, p, parse_dhchap_key, read_dhchap_key_file);
}

}  // namespace

void read_dhchap(const toml::table& t, std::string_view where, bool with_ctrl, FabricOptions& o,
                 std::vector<std::string>* set, bool& inline_secret, Problems& p) {
  DhchapKey host;
  read_one(t, "dhchap_secret", where, host, inline_secret, p);
  if (!host.empty()) {
    o.dhchap_secret = std::move(host);
    if (set != nullptr) set->emplace_back("dhchap_secret");
  }
  if (!with_ctrl) return;
  DhchapKey ctrl;
  read_one(t, "dhchap_ctrl_secret", where, ctrl, inline_secret, p);
  if (!ctrl.empty()) {
    o.dhchap_ctrl_secret = std::move(ctrl);
    if (set != nullptr) set->emplace_back("dhchap_ctrl_secret");
    if (o.dhchap_secret.empty()) {
      p.add(pos(t), fmt::format("dhchap_ctrl_secret in {} needs a host key as well: dhchap_secret here, in its "
                                "[[subsystem]] or in [host]",
                                where));
    }
  }
}

}  // namespace nvmemp::mpathd::detail
