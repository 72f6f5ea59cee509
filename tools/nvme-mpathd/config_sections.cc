// nvme-mpathd's TOML configuration, the reader of each section (config_readers.h): [host],
// the connection knobs of [defaults] and of a [[subsystem]], [daemon], [scsi], [[discovery]],
// [[subsystem]] with its [[subsystem.path]]s, and [[export]]. Each checks its keys, types,
// ranges, required keys, duplicates and references, and reports to the Problems list.
#include "config_readers.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace nvmemp::mpathd::detail {

void read_host(const toml::table& t, FabricOptions& o, bool& inline_secret, Problems& p) {
  check_keys(t, "[host]", concat({&kHostKeys, &kTlsKeys}), p);
  read_dhchap(t, "[host]", false, o, nullptr, inline_secret, p);
  TlsSettings tls = TlsSettings::of(o);
  read_tls(t, "[host]", tls, nullptr, inline_secret, p);
  tls.apply_to(o);
  if (auto v = get_string(t, "hostnqn", p)) {
    if (valid_nqn(*v)) {
      o.hostnqn = *v;
    } else {
      p.add(pos(*t.get("hostnqn")),
            fmt::format("hostnqn {} must start with \"nqn.\" and be at most {} bytes", quoted(*v), kNqnMaxLen));
    }
  }
  if (auto v = get_string(t, "hostid", p)) {
    if (valid_uuid(*v)) {
      o.hostid = *v;
    } else {
      p.add(pos(*t.get("hostid")),
            fmt::format("hostid {} must be a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", quoted(*v)));
    }
  }
}

const IntRule kSecondsFrom1{"an integer number of seconds", 1, kYear, "1..31536000 seconds"};

// The connection knobs of [defaults] or of one [[subsystem]], applied over `o`; `set` collects
// the keys that were given (and valid).
void read_knobs(const toml::table& t, FabricOptions& o, std::vector<std::string>& set, Problems& p) {
  auto given = [&](std::string_view key) { set.emplace_back(key); };
  if (auto v = get_string(t, "policy", p)) {
    if (auto pol = parse_io_policy(*v)) {
      o.policy = *pol;
      given("policy");
    } else {
      p.add(pos(*t.get("policy")), pol.error().message);
    }
  }
  // The keep-alive timeout is also how long a lost write waits before failover: keep it sane.
  if (auto v = get_int(t, "keep_alive_tmo", {"an integer number of seconds", 1, 3600, "1..3600 seconds"}, p)) {
    o.keep_alive_tmo = std::chrono::seconds(*v);
    given("keep_alive_tmo");
  }
  if (auto v = get_int(t, "reconnect_delay", kSecondsFrom1, p)) {
    o.reconnect_delay = std::chrono::seconds(*v);
    given("reconnect_delay");
  }
  if (auto v = get_int(t, "ctrl_loss_tmo",
                       {"an integer number of seconds (-1: reconnect forever)", 0, kYear, "-1 (reconnect forever) or 0..31536000 seconds", -1},
                       p)) {
    o.ctrl_loss_tmo = std::chrono::seconds(*v);
    given("ctrl_loss_tmo");
  }
  if (auto v = get_int(t, "fast_io_fail_tmo",
                       {"an integer number of seconds (-1: off)", 0, kYear, "-1 (off) or 0..31536000 seconds", -1},
                       p)) {
    o.fast_io_fail_tmo = *v < 0 ? std::nullopt : std::optional<std::chrono::seconds>(*v);
    given("fast_io_fail_tmo");
  }
  if (const toml::node* n = t.get("no_path_retry")) {
    std::optional<std::string> text;
    if (const auto* s = n->as_string()) text = s->get();
    if (const auto* i = n->as_integer()) text = std::to_string(i->get());
    if (!text) {
      p.add(pos(*n), fmt::format("no_path_retry must be \"queue\", \"fail\" or an integer number of seconds, got {}",
                                 type_name(n->type())));
    } else if (auto np = parse_no_path_retry(*text)) {
      o.no_path_retry = *np;
      given("no_path_retry");
    } else {
      p.add(pos(*n), np.error().message);
    }
  }
  if (const toml::node* n = t.get("write_failover_delay")) {
    if (const auto* s = n->as_string()) {
      if (s->get() == "auto") {
        o.write_failover_delay.reset();
        given("write_failover_delay");
      } else {
        p.add(pos(*n), fmt::format("write_failover_delay must be \"auto\" (keep-alive timeout after the path was "
                                   "lost) or a number of seconds, got {}",
                                   quoted(s->get())));
      }
    } else if (auto ms = get_float_seconds(*n, "write_failover_delay", 0, 3600, p, " or \"auto\"")) {
      o.write_failover_delay = *ms;
      given("write_failover_delay");
    }
  }
  if (auto v = get_int(t, "io_timeout", {"an integer number of seconds", 1, 3600, "1..3600 seconds"}, p)) {
    o.io_timeout = std::chrono::seconds(*v);
    given("io_timeout");
  }
  if (const toml::node* n = t.get("stall_timeout")) {
    if (auto ms = get_float_seconds(*n, "stall_timeout", 0.001, 600, p)) {
      o.stall_timeout = *ms;
      given("stall_timeout");
    }
  }
  if (const toml::node* n = t.get("probe_timeout")) {
    if (auto ms = get_float_seconds(*n, "probe_timeout", 0.001, 600, p)) {
      o.probe_timeout = *ms;
      given("probe_timeout");
    }
  }
  // The library's bounds: 2..1024 entries (the kernel's maximum).
  if (auto v = get_int(t, "queue_size", {"an integer number of queue entries", 2, 1024, "2..1024"}, p)) {
    o.queue_size = static_cast<std::uint16_t>(*v);
    given("queue_size");
  }
  // The kernel's nvme_core.max_retries is a byte.
  if (auto v = get_int(t, "max_retries", {"an integer", 0, 255, "0..255"}, p)) {
    o.max_retries = static_cast<unsigned>(*v);
    given("max_retries");
  }
  if (const toml::node* n = t.get("max_transfer")) {
    if (auto v = get_int(t, "max_transfer", {"an integer number of bytes", 4096, 64 << 20, "4096..67108864 bytes"}, p)) {
      if (*v % 4096 != 0) {
        p.add(pos(*n), fmt::format("max_transfer = {} must be a multiple of 4096 bytes", *v));
      } else {
        o.max_transfer = static_cast<std::uint32_t>(*v);
        given("max_transfer");
      }
    }
  }
  if (auto v = get_bool(t, "hdr_digest", p)) {
    o.hdr_digest = *v;
    given("hdr_digest");
  }
  if (auto v = get_bool(t, "data_digest", p)) {
    o.data_digest = *v;
    given("data_digest");
  }
}

void read_defaults(const toml::table& t, DaemonConfig& cfg, Problems& p) {
  check_keys(t, "[defaults]", concat({&kKnobKeys}, {"io_threads", "poll"}), p);
  std::vector<std::string> ignored;
  read_knobs(t, cfg.fabric, ignored, p);
  if (auto v = get_int(t, "io_threads", {"an integer number of threads", 1, kMaxIoThreads, "1..64 threads"}, p)) {
    cfg.io_threads = static_cast<unsigned>(*v);
  }
  if (auto v = get_string(t, "poll", p)) {
    if (auto m = parse_poll_mode(*v)) {
      cfg.fabric.poll_mode = *m;
    } else {
      p.add(pos(*t.get("poll")), m.error().message);
    }
  }
}

void read_daemon(const toml::table& t, DaemonConfig& cfg, Problems& p) {
  check_keys(t, "[daemon]", kDaemonKeys, p);
  if (auto v = get_string(t, "control_socket", p)) {
    if (auto bad = socket_path_problem("control_socket", *v)) {
      p.add(pos(*t.get("control_socket")), *bad);
    } else {
      cfg.control_socket = *v;
    }
  }
  for (auto [key, field] : {std::pair{"discovery_conf", &DaemonConfig::discovery_conf},
                             std::pair{"libnvme_config", &DaemonConfig::libnvme_config}}) {
    if (auto v = get_string(t, key, p)) {
      if (!v->empty() && (*v)[0] != '/') {
        p.add(pos(*t.get(key)), fmt::format("{} {} must be an absolute path (or \"\" for none)", key, quoted(*v)));
      } else {
        cfg.*field = *v;
      }
    }
  }
}

// [scsi]: SCSI disks as heads (scsi_compat/), with a wwid allow/deny list of glob patterns.
void read_scsi(const toml::table& t, DaemonConfig& cfg, Problems& p) {
  static const Keys known = {"enable", "wwid_allow", "wwid_deny", "sysfs_root"};
  check_keys(t, "[scsi]", known, p);
  if (auto v = get_bool(t, "enable", p)) cfg.scsi.enable = *v;
  for (const char* key : {"wwid_allow", "wwid_deny"}) {
    const toml::node* n = t.get(key);
    if (n == nullptr) continue;
    auto& out = std::string_view(key) == "wwid_allow" ? cfg.scsi.wwid_allow : cfg.scsi.wwid_deny;
    const auto* arr = n->as_array();
    if (arr == nullptr) {
      p.add(pos(*n), fmt::format("{} must be an array of glob patterns (e.g. [\"naa.6*\"]), got {}", key,
                                 type_name(n->type())));
      continue;
    }
    for (const auto& e : *arr) {
      const auto* str = e.as_string();
      if (str == nullptr || str->get().empty() || str->get().find('\0') != std::string::npos) {
        p.add(pos(e), fmt::format("each {} entry must be a non-empty string (a glob pattern)", key));
        continue;
      }
      out.push_back(str->get());
    }
  }
  if (auto v = get_string(t, "sysfs_root", p)) {
    if (v->empty() || (*v)[0] != '/') {
      p.add(pos(*t.get("sysfs_root")), fmt::format("sysfs_root {} must be an absolute path", quoted(*v)));
    } else {
      cfg.scsi.sysfs_root = *v;
    }
  }
}

// traddr/trsvcid/host_traddr/host_iface of a path or a discovery controller. On success also
// returns the duplicate-detection key (canonical address and port).
std::optional<std::pair<Endpoint, std::string>> read_endpoint(const toml::table& t, std::string_view header,
                                                              std::uint16_t default_port, Problems& p) {
  const std::size_t before = p.size();
  Endpoint ep;
  ep.trsvcid = default_port;
  std::string canon;
  if (auto v = get_string(t, "traddr", p)) {
    if (auto c = canonical_address(*v)) {
      ep.traddr = *v;
      canon = *c;
    } else {
      p.add(pos(*t.get("traddr")), address_problem("traddr", *v));
    }
  } else if (!t.contains("traddr")) {
    p.add(pos(t), fmt::format("{} needs traddr (the target's IPv4 or IPv6 address)", header));
  }
  if (auto v = get_int(t, "trsvcid", {"an integer port number", 1, 65535, "1..65535"}, p)) {
    ep.trsvcid = static_cast<std::uint16_t>(*v);
  }
  if (auto v = get_string(t, "host_traddr", p)) {
    if (canonical_address(*v)) {
      ep.host_traddr = *v;
    } else {
      p.add(pos(*t.get("host_traddr")), address_problem("host_traddr", *v));
    }
  }
  if (auto v = get_string(t, "host_iface", p)) {
    if (valid_iface(*v)) {
      ep.host_iface = *v;
    } else {
      p.add(pos(*t.get("host_iface")),
            fmt::format("host_iface {} is not a network interface name (1..15 characters, no '/', ':' or spaces)",
                        quoted(*v)));
    }
  }
  if (p.size() != before) return std::nullopt;
  return std::pair{ep, endpoint_key(canon, ep.trsvcid)};
}

void read_discovery(const toml::table& t, DaemonConfig& cfg, std::map<std::string, Position>& seen,
                    const std::string& source, Problems& p) {
  check_keys(t, "[[discovery]]", concat({&kEndpointKeys, &kTlsKeys}, {"persistent"}), p);
  auto persistent = get_bool(t, "persistent", p);
  TlsSettings tls = TlsSettings::of(cfg.fabric);
  read_tls(t, "[[discovery]]", tls, nullptr, cfg.inline_secrets, p);
  auto ep = read_endpoint(t, "[[discovery]]", kDefaultDiscoveryPort, p);
  if (!ep) return;
  if (auto [it, fresh] = seen.emplace(ep->second, pos(t)); !fresh) {
    p.add(pos(t), fmt::format("duplicate [[discovery]] {} (first at line {})", ep->second, it->second.line));
    return;
  }
  DiscoveryConfig d;
  d.endpoint = ep->first;
  d.persistent = persistent.value_or(true);
  d.tls = std::move(tls);
  d.origin = fmt::format("{}:{}", source, pos(t).line);
  cfg.discovery.push_back(std::move(d));
}

void read_subsystem(const toml::table& t, DaemonConfig& cfg, std::map<std::string, Position>& seen_nqns,
                    Problems& p) {
  static const Keys known = concat({&kKnobKeys, &kDhchapKeys, &kTlsKeys}, {"nqn", "path"});
  static const std::map<std::string_view, std::string_view> hints = {
      {"io_threads", "io_threads is daemon-wide: set it in [defaults], not per [[subsystem]]"},
      {"poll", "poll is daemon-wide (one ring serves every subsystem): set it in [defaults], not per [[subsystem]]"}};
  check_keys(t, "[[subsystem]]", known, p, hints);
  SubsystemConfig s;
  bool ok = true;
  if (auto v = get_string(t, "nqn", p)) {
    if (!valid_nqn(*v)) {
      p.add(pos(*t.get("nqn")),
            fmt::format("nqn {} must start with \"nqn.\" and be at most {} bytes", quoted(*v), kNqnMaxLen));
      ok = false;
    } else if (*v == kDiscoveryNqn) {
      p.add(pos(*t.get("nqn")), "nqn is the discovery subsystem's NQN: configure discovery controllers as [[discovery]]");
      ok = false;
    } else if (auto [it, fresh] = seen_nqns.emplace(*v, pos(*t.get("nqn"))); !fresh) {
      p.add(pos(*t.get("nqn")), fmt::format("subsystem {} is configured twice (first at line {}): put all its paths "
                                            "in one [[subsystem]]",
                                            quoted(*v), it->second.line));
      ok = false;
    } else {
      s.nqn = *v;
    }
  } else {
    if (!t.contains("nqn")) p.add(pos(t), "[[subsystem]] needs nqn (the subsystem's NVMe Qualified Name)");
    ok = false;
  }
  std::map<std::string, Position> seen_paths;
  std::vector<const toml::table*> path_tables;  // aligned with s.paths
  for (const toml::table* pt : tables_at(t, "path", "[[subsystem.path]]", p)) {
    static const Keys path_keys = concat({&kEndpointKeys, &kDhchapKeys, &kTlsKeys});
    check_keys(*pt, "[[subsystem.path]]", path_keys, p);
    auto ep = read_endpoint(*pt, "[[subsystem.path]]", kDefaultIoPort, p);
    if (!ep) continue;
    // The library refuses a second connection to the same address and port of a subsystem.
    if (auto [it, fresh] = seen_paths.emplace(ep->second, pos(*pt)); !fresh) {
      p.add(pos(*pt), fmt::format("duplicate path {} in subsystem {} (first at line {})", ep->second,
                                  s.nqn.empty() ? "\"\"" : quoted(s.nqn), it->second.line));
      continue;
    }
    s.paths.push_back(PathConfig{ep->first, {}, {}, {}});
    path_tables.push_back(pt);
  }
  s.options = cfg.fabric;
  read_knobs(t, s.options, s.overrides, p);
  read_dhchap(t, "[[subsystem]]", true, s.options, &s.overrides, cfg.inline_secrets, p);
  TlsSettings tls = TlsSettings::of(s.options);
  read_tls(t, "[[subsystem]]", tls, &s.overrides, cfg.inline_secrets, p);
  tls.apply_to(s.options);
  // A path's own keys override the subsystem's (which override [host]'s).
  for (std::size_t i = 0; i < s.paths.size(); ++i) {
    FabricOptions po;
    po.dhchap_secret = s.options.dhchap_secret;
    read_dhchap(*path_tables[i], "[[subsystem.path]]", true, po, nullptr, cfg.inline_secrets, p);
    s.paths[i].dhchap_secret = po.dhchap_secret;
    s.paths[i].dhchap_ctrl_secret = po.dhchap_ctrl_secret;
    s.paths[i].tls = tls;
    read_tls(*path_tables[i], "[[subsystem.path]]", s.paths[i].tls, nullptr, cfg.inline_secrets, p);
    // A subsystem that says tls = true (itself, or [host] for it) never has a plain path.
    if (tls.tls && !s.paths[i].tls.tls) {
      const bool own = t.contains("tls");
      p.add(pos(*path_tables[i]->get("tls")),
            fmt::format("path {}:{} sets tls = false, but subsystem {} has tls = true{}: its paths never connect "
                        "without TLS; remove tls = false here, or set tls = false in the [[subsystem]] to allow "
                        "plain paths",
                        s.paths[i].endpoint.traddr, s.paths[i].endpoint.trsvcid, s.nqn.empty() ? "\"\"" : quoted(s.nqn),
                        own ? "" : " (from [host])"));
    }
  }
  if (std::find(s.overrides.begin(), s.overrides.end(), "policy") != s.overrides.end()) s.policy = s.options.policy;
  if (ok) cfg.subsystems.push_back(std::move(s));
}

void read_export(const toml::table& t, DaemonConfig& cfg, const std::map<std::string, Position>& configured,
                 std::map<std::string, Position>& names, Problems& p) {
  check_keys(t, "[[export]]", kExportKeys, p);
  const std::size_t before = p.size();
  ExportConfig e;
  if (auto v = get_string(t, "name", p)) {
    if (v->empty() || v->size() > kNbdNameMax) {
      p.add(pos(*t.get("name")), fmt::format("name must be 1..{} bytes (the NBD export name)", kNbdNameMax));
    } else if (auto [it, fresh] = names.emplace(*v, pos(*t.get("name"))); !fresh) {
      p.add(pos(*t.get("name")), fmt::format("export name {} is already used at line {}", quoted(*v), it->second.line));
    } else {
      e.name = *v;
    }
  } else if (!t.contains("name")) {
    p.add(pos(t), "[[export]] needs name (the NBD export name clients ask for)");
  }
  const bool by_nqn = t.contains("nqn") || t.contains("nsid");
  if (by_nqn && t.contains("wwid")) {
    p.add(pos(*t.get("wwid")), "an [[export]] names its namespace by nqn + nsid or by wwid, not both");
  } else if (!by_nqn && !t.contains("wwid")) {
    p.add(pos(t), "[[export]] needs nqn + nsid, or wwid, to name the namespace it serves");
  }
  if (auto v = get_string(t, "nqn", p)) {
    if (configured.count(*v) == 0) {
      p.add(pos(*t.get("nqn")), fmt::format("export names subsystem {}, which no [[subsystem]] configures (add one; "
                                            "its paths may come from discovery)",
                                            quoted(*v)));
    } else {
      e.nqn = *v;
    }
  } else if (by_nqn && !t.contains("nqn")) {
    p.add(pos(t), "[[export]] with nsid needs nqn (the subsystem of the namespace)");
  }
  if (auto v = get_int(t, "nsid", {"an integer namespace ID", 1, 0xFFFFFFFE, "1..4294967294"}, p)) {
    e.nsid = static_cast<std::uint32_t>(*v);
  } else if (by_nqn && !t.contains("nsid")) {
    p.add(pos(t), "[[export]] with nqn needs nsid (the namespace ID)");
  }
  if (auto v = get_string(t, "wwid", p)) {
    const bool known_form = v->rfind("uuid.", 0) == 0 || v->rfind("eui.", 0) == 0 || v->rfind("nvme.", 0) == 0;
    if (!known_form || v->size() > 256) {
      p.add(pos(*t.get("wwid")), fmt::format("wwid {} must be a namespace wwid as Linux shows it (uuid.…, eui.… or "
                                             "nvme.…)",
                                             quoted(*v)));
    } else {
      e.wwid = *v;
    }
  }
  if (auto v = get_string(t, "unix_socket", p)) {
    if (auto bad = socket_path_problem("unix_socket", *v)) {
      p.add(pos(*t.get("unix_socket")), *bad);
    } else if (*v == cfg.control_socket) {
      p.add(pos(*t.get("unix_socket")), "unix_socket is the daemon's control_socket: give the export its own");
    } else {
      e.unix_socket = *v;
    }
  } else if (!t.contains("unix_socket")) {
    p.add(pos(t), "[[export]] needs unix_socket (the path NBD clients connect to)");
  }
  if (auto v = get_int(t, "tcp_port", {"an integer port number", 1, 65535, "1..65535"}, p)) {
    e.tcp_port = static_cast<std::uint16_t>(*v);
  }
  if (auto v = get_bool(t, "read_only", p)) e.read_only = *v;
  if (p.size() == before) cfg.exports.push_back(std::move(e));
}

}  // namespace nvmemp::mpathd::detail
