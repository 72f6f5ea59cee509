// nvme-mpathd's fabric configuration: a TOML file (config/nvme-mpath.toml documents every key)
// read with toml++, plus, optionally, nvme-cli's /etc/nvme/discovery.conf and libnvme's
// /etc/nvme/config.json.
//
// The parser is strict on purpose: a typo in a key must not silently leave a knob at its
// default, so unknown keys are refused (with the known ones listed), every value is checked for
// type and range, and each problem is reported as `file:line:col: what is wrong`, all of them at
// once, in file order. Nothing here throws; nothing here touches the network.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nvmemp/mpath.h"
#include "nvmemp/result.h"

namespace nvmemp::mpathd {

inline constexpr std::uint16_t kDefaultDiscoveryPort = 8009;
inline constexpr std::uint16_t kDefaultIoPort = 4420;
inline constexpr unsigned kDefaultIoThreads = 2;
inline constexpr const char* kDefaultControlSocket = "/run/nvme-mpath/control.sock";
// A configuration is a few KiB; anything much larger is a mistake (or /dev/zero).
inline constexpr std::size_t kMaxConfigBytes = 1u << 20;

// NVMe/TCP over TLS 1.3 of a connection, as the configuration resolved it (FabricOptions' tls
// fields): `tls`, `tls_key` / `tls_key_file`, `tls_identity` and `tls_compat`, each level over
// the one above ([host] -> [[subsystem]] -> [[subsystem.path]], [host] -> [[discovery]]).
struct TlsSettings {
  bool tls = false;         // every queue does the TLS handshake; never plain
  TlsKey key;               // the configured PSK; also what a discovered port that asks for TLS uses
  TlsIdentity identity = TlsIdentity::V1;
  bool compat = false;
  static TlsSettings of(const FabricOptions& o) { return {o.tls, o.tls_key, o.tls_identity, o.tls_compat}; }
  void apply_to(FabricOptions& o) const {
    o.tls = tls;
    o.tls_key = key;
    o.tls_identity = identity;
    o.tls_compat = compat;
  }
};

// One controller connection of a statically configured subsystem.
struct PathConfig {
  Endpoint endpoint;  // trsvcid defaults to 4420
  // This path's own DH-HMAC-CHAP keys (empty: its subsystem's; the host key inherited when
  // only the controller key is given here).
  DhchapKey dhchap_secret;
  DhchapKey dhchap_ctrl_secret;
  // This path's TLS settings: its own over its subsystem's (never plain when the subsystem
  // says tls = true).
  TlsSettings tls;
};

// A discovery controller: its log names the subsystems' ports.
struct DiscoveryConfig {
  Endpoint endpoint;        // trsvcid defaults to 8009
  bool persistent = true;   // stay connected and follow discovery log change events
  // Its TLS settings over [host]'s: tls connects the discovery controller over TLS; all of them
  // are also those of the subsystems its log lists that no [[subsystem]] configures.
  TlsSettings tls;
  // Only from discovery.conf (-q / -I): the host identity nvme-cli would use for this entry;
  // empty: the daemon's. The daemon has one identity, so it must refuse an entry that differs.
  std::string hostnqn;
  std::string hostid;
  std::string origin;       // "file:line" it came from, for log messages
};

struct SubsystemConfig {
  std::string nqn;
  // May be empty: the paths then come from the discovery controllers.
  std::vector<PathConfig> paths;
  // This subsystem's own policy when it sets one (options.policy is the effective one).
  std::optional<IoPolicy> policy;
  // The effective connection knobs of this subsystem: [defaults] with its own overrides.
  FabricOptions options;
  // The keys this subsystem overrides, as written in the file (for `list` and reload diffs).
  std::vector<std::string> overrides;
};

// A namespace head served over NBD. It is named either by subsystem NQN + nsid or by wwid.
struct ExportConfig {
  std::string name;                    // the NBD export name; unique among exports
  std::string nqn;                     // a configured [[subsystem]], with nsid ...
  std::uint32_t nsid = 0;
  std::string wwid;                    // ... or the head's wwid (uuid.… / eui.… / nvme.…)
  std::string unix_socket;             // absolute path; several exports may share one
  std::optional<std::uint16_t> tcp_port;  // also listen on 127.0.0.1:PORT (never other addresses)
  bool read_only = false;

  friend bool operator==(const ExportConfig&, const ExportConfig&) = default;
};

// [scsi]: pick up SCSI disks (sdX) as multipath heads, grouped by wwid, ALUA as ANA.
struct ScsiConfig {
  bool enable = false;
  std::vector<std::string> wwid_allow;  // glob patterns; empty: every wwid
  std::vector<std::string> wwid_deny;   // glob patterns; a match is never taken
  std::string sysfs_root = "/";         // where sys/block is read (a captured tree in tests)
};

struct DaemonConfig {
  // [host] and [defaults]. Empty hostnqn/hostid: /etc/nvme/hostnqn, /etc/nvme/hostid.
  // fabric.max_io_contexts equals io_threads (one I/O context per thread).
  FabricOptions fabric;
  unsigned io_threads = kDefaultIoThreads;
  std::vector<DiscoveryConfig> discovery;
  std::vector<SubsystemConfig> subsystems;
  std::vector<ExportConfig> exports;
  ScsiConfig scsi;
  std::string control_socket = kDefaultControlSocket;
  // nvme-cli's discovery file to read as well (load_config does); empty: none.
  std::string discovery_conf;
  // libnvme's JSON configuration (/etc/nvme/config.json) to read as well (load_config does,
  // libnvme_config.h): its TCP ports become [[subsystem]] paths with their keys; empty: none.
  std::string libnvme_config;
  std::string source;  // the file this came from
  // A DH-HMAC-CHAP or TLS key is written in the file itself (not in a ..._file): load_config()
  // warns when users other than the owner may read the file.
  bool inline_secrets = false;
};

// Parses TOML text; `source` names the file in messages. Syntax errors are Errc::Malformed,
// everything else (types, ranges, unknown or missing keys, duplicates, dangling references)
// Errc::InvalidArgument; the message holds one `source:line:col: ...` line per problem.
[[nodiscard]] Result<DaemonConfig> parse_config(std::string_view text, const std::string& source);

// Reads and parses `path`, then the discovery_conf file it names, if any: entries of that
// file that repeat a [[discovery]] address and port are skipped (the TOML entry wins); then the
// libnvme_config file it names, if any (merge_libnvme_config(): the TOML's paths win too).
// A file that cannot be read is Errc::NotFound (ENOENT) or Errc::Io, naming the path and errno.
[[nodiscard]] Result<DaemonConfig> load_config(const std::string& path);

// nvme-cli's discovery.conf: one discovery controller per line as nvme-cli options
// ("-t tcp -a ADDR [-s PORT] [-w HOST_TRADDR] [-f HOST_IFACE] [-q HOSTNQN] [-I HOSTID] [-p]",
// long forms with " " or "=" too), '#' starts a comment. Errors are `source:line:col: ...`.
[[nodiscard]] Result<std::vector<DiscoveryConfig>> parse_discovery_conf(std::string_view text,
                                                                        const std::string& source);

// The subsystem configured with `nqn`, or null.
const SubsystemConfig* find_subsystem(const DaemonConfig& cfg, std::string_view nqn);

// Same address (compared as addresses: "::1" equals "0::1"), port and local binding.
bool same_endpoint(const Endpoint& a, const Endpoint& b);

}  // namespace nvmemp::mpathd
