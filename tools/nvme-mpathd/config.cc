// nvme-mpathd's TOML configuration (config.h). The TOML syntax is toml++'s business; this file
// checks the schema: which keys exist at each level, their types and ranges, what is required,
// duplicates and cross references. Problems are collected (not stopped at) so an admin fixes a
// file in one go, and each carries the line:col toml++ recorded for the offending node.
#include "config.h"
#include "config_checks.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <map>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace nvmemp::mpathd {
namespace {

using namespace detail;

// ---- source positions ---------------------------------------------------------------------

Position pos(const toml::source_region& r) { return {r.begin.line, r.begin.column}; }
Position pos(const toml::node& n) { return pos(n.source()); }

const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::none: return "nothing";
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
  }
  return "unknown type";
}

// ---- keys known at each level ---------------------------------------------------------------

using Keys = std::vector<std::string_view>;

const Keys kTopKeys = {"host", "defaults", "daemon", "scsi", "discovery", "subsystem", "export"};
const Keys kHostKeys = {"hostnqn", "hostid"};
// The connection knobs: [defaults] holds them all; a [[subsystem]] may override all but io_threads.
const Keys kKnobKeys = {"policy",         "keep_alive_tmo",       "reconnect_delay", "ctrl_loss_tmo",
                        "fast_io_fail_tmo", "no_path_retry",      "write_failover_delay", "io_timeout",
                        "stall_timeout",  "probe_timeout",        "queue_size",      "max_retries",
                        "max_transfer",   "hdr_digest",           "data_digest"};
const Keys kDaemonKeys = {"control_socket", "discovery_conf"};
const Keys kEndpointKeys = {"traddr", "trsvcid", "host_traddr", "host_iface"};
const Keys kExportKeys = {"name", "nqn", "nsid", "wwid", "unix_socket", "tcp_port", "read_only"};

Keys concat(std::initializer_list<const Keys*> parts, std::initializer_list<std::string_view> extra = {}) {
  Keys all;
  for (const Keys* k : parts) all.insert(all.end(), k->begin(), k->end());
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

// Where a key belongs, for "unknown key" messages about keys put at the wrong level.
std::string_view home_of(std::string_view key) {
  auto in = [&](const Keys& k) { return std::find(k.begin(), k.end(), key) != k.end(); };
  if (in(kKnobKeys) || key == "io_threads") return "[defaults] (or a [[subsystem]])";
  if (in(kHostKeys)) return "[host]";
  if (in(kDaemonKeys)) return "[daemon]";
  if (in(kEndpointKeys)) return "[[subsystem.path]] or [[discovery]]";
  if (key == "nqn" || key == "path") return "[[subsystem]]";
  if (in(kExportKeys)) return "[[export]]";
  if (key == "persistent") return "[[discovery]]";
  return {};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The known key a typo most likely meant ("polcy" → "policy", "keep_alive" → "keep_alive_tmo").
std::string_view closest(std::string_view key, const Keys& known) {
  if (key.size() > 64) return {};
  std::string_view best;
  std::size_t best_d = 3;  // at most two edits away
  for (const auto k : known) {
    const std::size_t d = edit_distance(key, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  if (best.empty() && key.size() >= 4) {
    for (const auto k : known) {
      if (k.rfind(key, 0) == 0 || key.rfind(k, 0) == 0) return k;
    }
  }
  return best;
}

// Refuses keys `where` does not know, so a typo cannot silently leave a knob at its default.
// `hints` adds a specific explanation for keys that are known elsewhere on purpose.
void check_keys(const toml::table& t, std::string_view where, const Keys& known, Problems& p,
                const std::map<std::string_view, std::string_view>& hints = {}) {
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    if (auto h = hints.find(key); h != hints.end()) {
      p.add(pos(k.source()), std::string(h->second));
      continue;
    }
    std::string msg = fmt::format("unknown key {} in {}", quoted(key), where);
    if (auto home = home_of(key); !home.empty()) {
      msg += fmt::format(" (it belongs in {})", home);
    } else if (auto c = closest(key, known); !c.empty()) {
      msg += fmt::format(" (did you mean \"{}\"?)", c);
    }
    msg += fmt::format("; known keys: {}", fmt::join(known, ", "));
    p.add(pos(k.source()), std::move(msg));
  }
}

// ---- typed readers ----------------------------------------------------------------------------

// A string value, or nullopt (absent, or wrong and reported).
std::optional<std::string> get_string(const toml::table& t, std::string_view key, Problems& p) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return std::nullopt;
  if (const auto* s = n->as_string()) {
    if (s->get().find('\0') != std::string::npos) {
      p.add(pos(*n), fmt::format("{} must not contain a NUL character", key));
      return std::nullopt;
    }
    return s->get();
  }
  p.add(pos(*n), fmt::format("{} must be a string, got {}", key, type_name(n->type())));
  return std::nullopt;
}

std::optional<bool> get_bool(const toml::table& t, std::string_view key, Problems& p) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return std::nullopt;
  if (const auto* b = n->as_boolean()) return b->get();
  p.add(pos(*n), fmt::format("{} must be true or false, got {}", key, type_name(n->type())));
  return std::nullopt;
}

// An integer within [lo, hi] (or exactly `special`, a sentinel such as -1 for "forever").
struct IntRule {
  const char* what;   // "an integer number of seconds"
  long long lo;
  long long hi;
  const char* range;  // how the message words the valid values
  std::optional<long long> special = std::nullopt;
};

std::optional<long long> get_int(const toml::table& t, std::string_view key, const IntRule& r, Problems& p) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return std::nullopt;
  const auto* i = n->as_integer();
  if (i == nullptr) {
    p.add(pos(*n), fmt::format("{} must be {}, got {}", key, r.what, type_name(n->type())));
    return std::nullopt;
  }
  const long long v = i->get();
  if ((r.special && v == *r.special) || (v >= r.lo && v <= r.hi)) return v;
  p.add(pos(*n), fmt::format("{} = {} is out of range: use {}", key, v, r.range));
  return std::nullopt;
}

// Seconds as an integer or a float, for the knobs where a fraction of a second makes sense;
// returned in milliseconds. NaN and infinities fail the range check.
std::optional<std::chrono::milliseconds> get_float_seconds(const toml::node& n, std::string_view key, double lo,
                                                           double hi, Problems& p, const char* alternatives = "") {
  double v = 0;
  if (const auto* i = n.as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = n.as_floating_point()) {
    v = f->get();
  } else {
    p.add(pos(n), fmt::format("{} must be a number of seconds{}, got {}", key, alternatives, type_name(n.type())));
    return std::nullopt;
  }
  if (!(v >= lo && v <= hi)) {
    p.add(pos(n), fmt::format("{} = {} is out of range: use {}..{} seconds", key, v, lo, hi));
    return std::nullopt;
  }
  return std::chrono::milliseconds(std::llround(v * 1000.0));
}

// ---- sections -------------------------------------------------------------------------------

// [name]: a table, or null (absent, or not a table and reported).
const toml::table* table_at(const toml::table& t, std::string_view key, Problems& p) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  if (const auto* tt = n->as_table()) return tt;
  p.add(pos(*n), fmt::format("{} must be a table ([{}]), got {}", key, key, type_name(n->type())));
  return nullptr;
}

// [[name]]: an array of tables (inline tables in an array work too).
std::vector<const toml::table*> tables_at(const toml::table& t, std::string_view key, std::string_view header,
                                          Problems& p) {
  std::vector<const toml::table*> out;
  const toml::node* n = t.get(key);
  if (n == nullptr) return out;
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    p.add(pos(*n), fmt::format("{} must be an array of tables: write {} for each one, got {}", key, header,
                               type_name(n->type())));
    return out;
  }
  for (const auto& e : *arr) {
    if (const auto* tt = e.as_table()) {
      out.push_back(tt);
    } else {
      p.add(pos(e), fmt::format("each {} entry must be a table ({}), got {}", key, header, type_name(e.type())));
    }
  }
  return out;
}

void read_host(const toml::table& t, FabricOptions& o, Problems& p) {
  check_keys(t, "[host]", kHostKeys, p);
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
  check_keys(t, "[defaults]", concat({&kKnobKeys}, {"io_threads"}), p);
  std::vector<std::string> ignored;
  read_knobs(t, cfg.fabric, ignored, p);
  if (auto v = get_int(t, "io_threads", {"an integer number of threads", 1, kMaxIoThreads, "1..64 threads"}, p)) {
    cfg.io_threads = static_cast<unsigned>(*v);
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
  if (auto v = get_string(t, "discovery_conf", p)) {
    if (!v->empty() && (*v)[0] != '/') {
      p.add(pos(*t.get("discovery_conf")),
            fmt::format("discovery_conf {} must be an absolute path (or \"\" for none)", quoted(*v)));
    } else {
      cfg.discovery_conf = *v;
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
  check_keys(t, "[[discovery]]", concat({&kEndpointKeys}, {"persistent"}), p);
  auto persistent = get_bool(t, "persistent", p);
  auto ep = read_endpoint(t, "[[discovery]]", kDefaultDiscoveryPort, p);
  if (!ep) return;
  if (auto [it, fresh] = seen.emplace(ep->second, pos(t)); !fresh) {
    p.add(pos(t), fmt::format("duplicate [[discovery]] {} (first at line {})", ep->second, it->second.line));
    return;
  }
  DiscoveryConfig d;
  d.endpoint = ep->first;
  d.persistent = persistent.value_or(true);
  d.origin = fmt::format("{}:{}", source, pos(t).line);
  cfg.discovery.push_back(std::move(d));
}

void read_subsystem(const toml::table& t, DaemonConfig& cfg, std::map<std::string, Position>& seen_nqns,
                    Problems& p) {
  static const Keys known = concat({&kKnobKeys}, {"nqn", "path"});
  static const std::map<std::string_view, std::string_view> hints = {
      {"io_threads", "io_threads is daemon-wide: set it in [defaults], not per [[subsystem]]"}};
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
  for (const toml::table* pt : tables_at(t, "path", "[[subsystem.path]]", p)) {
    check_keys(*pt, "[[subsystem.path]]", kEndpointKeys, p);
    auto ep = read_endpoint(*pt, "[[subsystem.path]]", kDefaultIoPort, p);
    if (!ep) continue;
    // The library refuses a second connection to the same address and port of a subsystem.
    if (auto [it, fresh] = seen_paths.emplace(ep->second, pos(*pt)); !fresh) {
      p.add(pos(*pt), fmt::format("duplicate path {} in subsystem {} (first at line {})", ep->second,
                                  s.nqn.empty() ? "\"\"" : quoted(s.nqn), it->second.line));
      continue;
    }
    s.paths.push_back(PathConfig{ep->first});
  }
  s.options = cfg.fabric;
  read_knobs(t, s.options, s.overrides, p);
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

Result<DaemonConfig> check_schema(const toml::table& root, const std::string& source) {
  Problems p(source);
  DaemonConfig cfg;
  cfg.source = source;
  check_keys(root, "the top level", kTopKeys, p);
  if (const auto* t = table_at(root, "host", p)) read_host(*t, cfg.fabric, p);
  if (const auto* t = table_at(root, "defaults", p)) read_defaults(*t, cfg, p);
  cfg.fabric.max_io_contexts = static_cast<std::uint16_t>(cfg.io_threads);
  if (const auto* t = table_at(root, "daemon", p)) read_daemon(*t, cfg, p);
  if (const auto* t = table_at(root, "scsi", p)) read_scsi(*t, cfg, p);
  std::map<std::string, Position> seen;
  for (const toml::table* t : tables_at(root, "discovery", "[[discovery]]", p)) read_discovery(*t, cfg, seen, source, p);
  // Subsystems before exports: an export must name a configured subsystem. Every NQN seen
  // counts as configured, even one whose [[subsystem]] had another problem, so one mistake
  // is not reported twice.
  std::map<std::string, Position> nqns;
  for (const toml::table* t : tables_at(root, "subsystem", "[[subsystem]]", p)) read_subsystem(*t, cfg, nqns, p);
  std::map<std::string, Position> names;
  for (const toml::table* t : tables_at(root, "export", "[[export]]", p)) read_export(*t, cfg, nqns, names, p);
  if (!p.empty()) return p.error(Errc::InvalidArgument);
  return cfg;
}

Result<DaemonConfig> syntax_error(const std::string& source, const toml::source_region& where,
                                  std::string_view description) {
  std::string what(description);
  // toml++ says "Error while parsing X: ..."; after "file:line:col: " lower case reads better.
  if (!what.empty() && what[0] == 'E') what[0] = 'e';
  Problems p(source);
  p.add(pos(where), std::move(what));
  return p.error(Errc::Malformed);
}

Result<DaemonConfig> parse_toml(std::string_view text, const std::string& source) {
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    return syntax_error(source, e.source(), e.description());
  }
  return check_schema(root, source);
#else
  toml::parse_result r = toml::parse(text, std::string_view(source));
  if (!r) return syntax_error(source, r.error().source(), r.error().description());
  return check_schema(r.table(), source);
#endif
}

// ---- files --------------------------------------------------------------------------------

Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return make_error(e == ENOENT ? Errc::NotFound : Errc::Io, fmt::format("{}: cannot open: {}", path, std::strerror(e)));
  }
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return make_error(Errc::Io, fmt::format("{}: cannot read: {}", path, std::strerror(e)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      ::close(fd);
      return make_error(Errc::InvalidArgument,
                        fmt::format("{}: larger than {} bytes; is this the right file?", path, kMaxConfigBytes));
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

Result<DaemonConfig> parse_config(std::string_view text, const std::string& source) {
  const std::string name = source.empty() ? std::string("<config>") : source;
  if (text.size() > kMaxConfigBytes) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: larger than {} bytes; is this the right file?", name, kMaxConfigBytes));
  }
#if defined(__cpp_exceptions)
  // toml++ and the standard library may throw (bad_alloc, and parse_error when toml++ uses
  // exceptions); none of that may escape to the daemon.
  try {
    return parse_toml(text, name);
  } catch (const std::exception& e) {
    return make_error(Errc::InvalidArgument, fmt::format("{}: {}", name, e.what()));
  } catch (...) {
    return make_error(Errc::InvalidArgument, fmt::format("{}: unexpected error while parsing", name));
  }
#else
  return parse_toml(text, name);
#endif
}

Result<DaemonConfig> load_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  auto cfg = parse_config(*text, path);
  if (!cfg || cfg->discovery_conf.empty()) return cfg;
  auto conf_text = read_file(cfg->discovery_conf);
  if (!conf_text) {
    return make_error(conf_text.error().code,
                      fmt::format("{}, named by discovery_conf in {}", conf_text.error().message, path));
  }
  auto extra = parse_discovery_conf(*conf_text, cfg->discovery_conf);
  if (!extra) return tl::unexpected(extra.error());
  for (auto& d : *extra) {
    const bool dup = std::any_of(cfg->discovery.begin(), cfg->discovery.end(), [&](const DiscoveryConfig& c) {
      return c.endpoint.trsvcid == d.endpoint.trsvcid &&
             canonical_address(c.endpoint.traddr) == canonical_address(d.endpoint.traddr);
    });
    if (!dup) cfg->discovery.push_back(std::move(d));
  }
  return cfg;
}

const SubsystemConfig* find_subsystem(const DaemonConfig& cfg, std::string_view nqn) {
  for (const auto& s : cfg.subsystems) {
    if (s.nqn == nqn) return &s;
  }
  return nullptr;
}

bool same_endpoint(const Endpoint& a, const Endpoint& b) {
  if (a.trsvcid != b.trsvcid || a.host_iface != b.host_iface) return false;
  auto same_addr = [](const std::string& x, const std::string& y) {
    if (x == y) return true;
    auto cx = canonical_address(x);
    return cx && cx == canonical_address(y);
  };
  return same_addr(a.traddr, b.traddr) && same_addr(a.host_traddr, b.host_traddr);
}

}  // namespace nvmemp::mpathd
