// nvme-mpathd's TOML configuration (config.h). The TOML syntax is toml++'s business; this file
// checks the schema: which keys exist at each level, their types and ranges, what is required,
// duplicates and cross references. Problems are collected (not stopped at) so an admin fixes a
// file in one go, and each carries the line:col toml++ recorded for the offending node. The
// reader of each section is in config_sections.cc; what the two share is in config_readers.h.
#include "config.h"
#include "auth/secret_buf.h"
#include "config_checks.h"
#include "common/log.h"
#include "config_readers.h"
#include "controller/host_identity.h"
#include "libnvme_config.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
namespace detail {

// ---- source positions ---------------------------------------------------------------------

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

Keys concat(std::initializer_list<const Keys*> parts, std::initializer_list<std::string_view> extra) {
  Keys all;
  for (const Keys* k : parts) all.insert(all.end(), k->begin(), k->end());
  all.insert(all.end(), extra.begin(), extra.end());
  return all;
}

}  // namespace detail

namespace {

using namespace detail;

// Where a key belongs, for "unknown key" messages about keys put at the wrong level.
std::string_view home_of(std::string_view key) {
  auto in = [&](const Keys& k) { return std::find(k.begin(), k.end(), key) != k.end(); };
  if (key == "io_threads" || key == "poll") return "[defaults]";
  if (in(kKnobKeys)) return "[defaults] (or a [[subsystem]])";
  if (in(kHostKeys)) return "[host]";
  if (in(kTlsKeys)) return "[host], a [[subsystem]], a [[subsystem.path]] or a [[discovery]]";
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

}  // namespace

namespace detail {

// Refuses keys `where` does not know, so a typo cannot silently leave a knob at its default.
// `hints` adds a specific explanation for keys that are known elsewhere on purpose.
void check_keys(const toml::table& t, std::string_view where, const Keys& known, Problems& p,
                const std::map<std::string_view, std::string_view>& hints) {
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
                                                           double hi, Problems& p, const char* alternatives) {
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

}  // namespace detail

namespace {

// [name]: a table, or null (absent, or not a table and reported).
const toml::table* table_at(const toml::table& t, std::string_view key, Problems& p) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  if (const auto* tt = n->as_table()) return tt;
  p.add(pos(*n), fmt::format("{} must be a table ([{}]), got {}", key, key, type_name(n->type())));
  return nullptr;
}
Result<DaemonConfig> check_schema(const toml::table& root, const std::string& source) {
  Problems p(source);
  DaemonConfig cfg;
  cfg.source = source;
  check_keys(root, "the top level", kTopKeys, p);
  if (const auto* t = table_at(root, "host", p)) read_host(*t, cfg.fabric, cfg.inline_secrets, p);
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

// Wipes the DH-HMAC-CHAP and TLS keys written in the file from the parsed table before it is freed
// (best effort: the parser's own intermediate buffers are not reachable; keys in ..._file
// files never pass through here).
void wipe_inline_secrets(toml::node& n) {
  if (auto* t = n.as_table()) {
    for (auto&& [key, value] : *t) {
      if (auto* s = value.as_string(); s != nullptr && (key == "dhchap_secret" || key == "dhchap_ctrl_secret" || key == "tls_key")) {
        auth::wipe(s->get());
      } else {
        wipe_inline_secrets(value);
      }
    }
  } else if (auto* a = n.as_array()) {
    for (auto& e : *a) wipe_inline_secrets(e);
  }
}

Result<DaemonConfig> parse_toml(std::string_view text, const std::string& source) {
#if TOML_EXCEPTIONS
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    return syntax_error(source, e.source(), e.description());
  }
  auto cfg = check_schema(root, source);
  wipe_inline_secrets(root);
  return cfg;
#else
  toml::parse_result r = toml::parse(text, std::string_view(source));
  if (!r) return syntax_error(source, r.error().source(), r.error().description());
  auto cfg = check_schema(r.table(), source);
  wipe_inline_secrets(r.table());
  return cfg;
#endif
}

// ---- files --------------------------------------------------------------------------------

Result<std::string> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return make_error(e == ENOENT ? Errc::NotFound : Errc::Io, fmt::format("{}: cannot open: {}", path, std::strerror(e)));
  }
  // Sized at once from fstat, so that growing never leaves a copy behind in freed memory (the
  // file may hold DH-HMAC-CHAP keys); the stack buffer is wiped at the end.
  std::string text;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    text.reserve(std::min<std::size_t>(static_cast<std::size_t>(st.st_size), kMaxConfigBytes) + 1);
  }
  char buf[16384];
  struct Wipe {
    char* p;
    std::size_t n;
    ~Wipe() { auth::wipe(std::span<char>(p, n)); }
  } wipe_buf{buf, sizeof buf};
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

namespace {

// nvme-cli's discovery.conf named by discovery_conf: its entries join [[discovery]], except those
// repeating a TOML entry's address and port.
Result<void> read_discovery_conf(DaemonConfig& cfg, const std::string& path) {
  if (cfg.discovery_conf.empty()) return {};
  auto conf_text = read_file(cfg.discovery_conf);
  if (!conf_text) {
    return make_error(conf_text.error().code,
                      fmt::format("{}, named by discovery_conf in {}", conf_text.error().message, path));
  }
  auto extra = parse_discovery_conf(*conf_text, cfg.discovery_conf);
  auth::wipe(*conf_text);  // a --tls_key there (refused) is not left behind in freed memory
  if (!extra) return tl::unexpected(extra.error());
  for (auto& d : *extra) {
    // Its TLS settings are [host]'s; --tls on its line turns TLS on for it.
    const bool tls = d.tls.tls || cfg.fabric.tls;
    d.tls = TlsSettings::of(cfg.fabric);
    d.tls.tls = tls;
    if (tls && d.tls.key.empty()) {
      return make_error(Errc::InvalidArgument, fmt::format("{}: --tls needs a TLS key: set tls_key_file in [host] of {}",
                                                           d.origin, path));
    }
    const bool dup = std::any_of(cfg.discovery.begin(), cfg.discovery.end(), [&](const DiscoveryConfig& c) {
      return c.endpoint.trsvcid == d.endpoint.trsvcid &&
             canonical_address(c.endpoint.traddr) == canonical_address(d.endpoint.traddr);
    });
    if (!dup) cfg.discovery.push_back(std::move(d));
  }
  return {};
}

}  // namespace

Result<DaemonConfig> load_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return tl::unexpected(text.error());
  auto cfg = parse_config(*text, path);
  // The text may hold DH-HMAC-CHAP or TLS keys: not left behind in freed memory.
  auth::wipe(*text);
  if (cfg && cfg->inline_secrets) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
      log(LogLevel::Warn, "{} holds DH-HMAC-CHAP or TLS keys and is readable by {} (mode {:04o}): chmod 600 it, or "
          "move the keys to dhchap_secret_file / tls_key_file", path, (st.st_mode & S_IROTH) != 0 ? "every user" : "its group",
          st.st_mode & 07777);
    }
  }
  if (!cfg) return cfg;
  if (auto r = read_discovery_conf(*cfg, path); !r) return tl::unexpected(r.error());
  if (cfg->libnvme_config.empty()) return cfg;
  // The host entries of libnvme's file are matched against the identity the daemon will use.
  std::string hostnqn = cfg->fabric.hostnqn;
  if (hostnqn.empty()) {
    auto id = controller::load_host_identity({});
    if (!id) return tl::unexpected(id.error());
    hostnqn = id->hostnqn;
  }
  if (auto r = merge_libnvme_config(*cfg, cfg->libnvme_config, hostnqn); !r) {
    return make_error(r.error().code, fmt::format("{}, named by libnvme_config in {}", r.error().message, path));
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
