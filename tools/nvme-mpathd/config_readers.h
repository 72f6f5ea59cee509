// Internal to nvme-mpathd's TOML configuration: what config.cc (the key checks, the typed
// readers, the schema check and the files) and config_sections.cc (the reader of each section)
// share. Every reader reports what is wrong to a Problems list instead of stopping.
#pragma once

#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "config.h"
#include "config_checks.h"

namespace nvmemp::mpathd::detail {

// ---- source positions ---------------------------------------------------------------------

inline Position pos(const toml::source_region& r) { return {r.begin.line, r.begin.column}; }
inline Position pos(const toml::node& n) { return pos(n.source()); }
const char* type_name(toml::node_type t);

// ---- keys known at each level ---------------------------------------------------------------

using Keys = std::vector<std::string_view>;

inline const Keys kTopKeys = {"host", "defaults", "daemon", "scsi", "discovery", "subsystem", "export"};
inline const Keys kHostKeys = {"hostnqn", "hostid", "dhchap_secret", "dhchap_secret_file"};
// TLS keys of [host], a [[subsystem]], a [[subsystem.path]] and a [[discovery]] (config_tls.cc).
inline const Keys kTlsKeys = {"tls", "tls_key", "tls_key_file", "tls_identity", "tls_compat"};
// DH-HMAC-CHAP keys of a [[subsystem]] or [[subsystem.path]] (config_dhchap.cc).
inline const Keys kDhchapKeys = {"dhchap_secret", "dhchap_secret_file", "dhchap_ctrl_secret",
                                 "dhchap_ctrl_secret_file"};
// The connection knobs: [defaults] holds them all; a [[subsystem]] may override all but io_threads.
inline const Keys kKnobKeys = {"policy",         "keep_alive_tmo",       "reconnect_delay", "ctrl_loss_tmo",
                               "fast_io_fail_tmo", "no_path_retry",      "write_failover_delay", "io_timeout",
                               "stall_timeout",  "probe_timeout",        "queue_size",      "max_retries",
                               "max_transfer",   "hdr_digest",           "data_digest"};
inline const Keys kDaemonKeys = {"control_socket", "discovery_conf", "libnvme_config"};
inline const Keys kEndpointKeys = {"traddr", "trsvcid", "host_traddr", "host_iface"};
inline const Keys kExportKeys = {"name", "nqn", "nsid", "wwid", "unix_socket", "tcp_port", "read_only"};

Keys concat(std::initializer_list<const Keys*> parts, std::initializer_list<std::string_view> extra = {});
void check_keys(const toml::table& t, std::string_view where, const Keys& known, Problems& p,
                const std::map<std::string_view, std::string_view>& hints = {});

// ---- typed readers ----------------------------------------------------------------------------

std::optional<std::string> get_string(const toml::table& t, std::string_view key, Problems& p);
std::optional<bool> get_bool(const toml::table& t, std::string_view key, Problems& p);

// An integer within [lo, hi] (or exactly `special`, a sentinel such as -1 for "forever").
struct IntRule {
  const char* what;   // "an integer number of seconds"
  long long lo;
  long long hi;
  const char* range;  // how the message words the valid values
  std::optional<long long> special = std::nullopt;
};
std::optional<long long> get_int(const toml::table& t, std::string_view key, const IntRule& r, Problems& p);

std::optional<std::chrono::milliseconds> get_float_seconds(const toml::node& n, std::string_view key, double lo,
                                                           double hi, Problems& p, const char* alternatives = "");

std::vector<const toml::table*> tables_at(const toml::table& t, std::string_view key, std::string_view header,
                                          Problems& p);

// ---- sections (config_sections.cc) ----------------------------------------------------------

void read_host(const toml::table& t, FabricOptions& o, bool& inline_secret, Problems& p);
// dhchap_secret[_file] (and with `with_ctrl`, dhchap_ctrl_secret[_file]) of the table at `where`
// into `o`; the keys given are added to `set` when not null; `inline_secret` is set when a key
// is written in the file itself (the daemon then checks who may read the file).
void read_dhchap(const toml::table& t, std::string_view where, bool with_ctrl, FabricOptions& o,
                 std::vector<std::string>* set, bool& inline_secret, Problems& p);
// A key given inline as `key` or in the file named by `key`_file at `where`, into `out` (left
// as it is when neither is given); the inline text is wiped. config_dhchap.cc instantiates it for
// DhchapKey and TlsKey.
template <class Key>
using KeyParser = Result<Key> (*)(std::string_view text, std::string_view what);
template <class Key>
using KeyFileReader = Result<Key> (*)(const std::string& path, std::string_view what);
template <class Key>
void read_secret(const toml::table& t, std::string_view key, std::string_view where, Key& out, bool& inline_secret,
                 Problems& p, KeyParser<Key> parse, KeyFileReader<Key> read_file);
// tls, tls_key[_file], tls_identity and tls_compat of the table at `where` over `o` (the level
// above's); the keys given are added to `set` when not null. tls = true with no key here or
// above is reported.
void read_tls(const toml::table& t, std::string_view where, TlsSettings& o, std::vector<std::string>* set,
              bool& inline_secret, Problems& p);
void read_knobs(const toml::table& t, FabricOptions& o, std::vector<std::string>& set, Problems& p);
void read_defaults(const toml::table& t, DaemonConfig& cfg, Problems& p);
void read_daemon(const toml::table& t, DaemonConfig& cfg, Problems& p);
void read_scsi(const toml::table& t, DaemonConfig& cfg, Problems& p);
std::optional<std::pair<Endpoint, std::string>> read_endpoint(const toml::table& t, std::string_view header,
                                                              std::uint16_t default_port, Problems& p);
void read_discovery(const toml::table& t, DaemonConfig& cfg, std::map<std::string, Position>& seen,
                    const std::string& source, Problems& p);
void read_subsystem(const toml::table& t, DaemonConfig& cfg, std::map<std::string, Position>& seen_nqns,
                    Problems& p);
void read_export(const toml::table& t, DaemonConfig& cfg, const std::map<std::string, Position>& configured,
                 std::map<std::string, Position>& names, Problems& p);

}  // namespace nvmemp::mpathd::detail
