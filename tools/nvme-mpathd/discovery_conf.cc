// nvme-cli's /etc/nvme/discovery.conf (config.h parse_discovery_conf): one discovery
// controller per line as nvme-cli options; problems reported at the offending token.
#include <array>
#include <charconv>
#include <map>

#include "config.h"
#include "config_checks.h"

namespace nvmemp::mpathd {
namespace {

using namespace detail;


enum class Opt { Transport, Traddr, Trsvcid, HostTraddr, HostIface, HostNqn, HostId, Nqn, Persistent, Tls, Unsupported };

struct OptSpec {
  char short_name;
  std::string_view long_name;
  bool takes_arg;
  Opt opt;
  std::string_view instead;  // for an unsupported option: where its setting lives
};

// nvme-cli's connect/discover options (fabrics.c). The per-connection knobs are refused rather
// than ignored: they would apply to one discovery controller only, which nvme-mpathd cannot do.
constexpr std::array<OptSpec, 20> kOpts = {{
    {'t', "transport", true, Opt::Transport, {}},
    {'a', "traddr", true, Opt::Traddr, {}},
    {'s', "trsvcid", true, Opt::Trsvcid, {}},
    {'w', "host-traddr", true, Opt::HostTraddr, {}},
    {'f', "host-iface", true, Opt::HostIface, {}},
    {'q', "hostnqn", true, Opt::HostNqn, {}},
    {'I', "hostid", true, Opt::HostId, {}},
    {'n', "nqn", true, Opt::Nqn, {}},
    {'p', "persistent", false, Opt::Persistent, {}},
    {'\0', "tls", false, Opt::Tls, {}},
    {'\0', "tls_key", true, Opt::Unsupported, "tls_key_file in [host]"},
    {'\0', "tls-key", true, Opt::Unsupported, "tls_key_file in [host]"},
    {'k', "keep-alive-tmo", true, Opt::Unsupported, "keep_alive_tmo in [defaults]"},
    {'c', "reconnect-delay", true, Opt::Unsupported, "reconnect_delay in [defaults]"},
    {'l', "ctrl-loss-tmo", true, Opt::Unsupported, "ctrl_loss_tmo in [defaults]"},
    {'O', "fast_io_fail_tmo", true, Opt::Unsupported, "fast_io_fail_tmo in [defaults]"},
    {'g', "hdr-digest", false, Opt::Unsupported, "hdr_digest in [defaults]"},
    {'G', "data-digest", false, Opt::Unsupported, "data_digest in [defaults]"},
    {'Q', "queue-size", true, Opt::Unsupported, "queue_size in [defaults]"},
    {'i', "nr-io-queues", true, Opt::Unsupported, "io_threads in [defaults]"},
}};

struct Token {
  std::string_view text;
  std::uint32_t column;  // 1-based
};

std::vector<Token> split_line(std::string_view line) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i >= line.size() || line[i] == '#') break;  // a comment runs to the end of the line
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    out.push_back({line.substr(start, i - start), static_cast<std::uint32_t>(start + 1)});
  }
  return out;
}

// An option token without its "=value" (which may be a key): what a message may quote.
std::string_view option_name(std::string_view tok) { return tok.substr(0, tok.find('=')); }

// One line's options into `d`; problems are reported at the offending token.
void parse_discovery_line(const std::vector<Token>& toks, std::uint32_t lineno, DiscoveryConfig& d,
                          std::string& canon, Problems& p) {
  std::map<Opt, bool> given;
  for (std::size_t i = 0; i < toks.size(); ++i) {
    const Token& tok = toks[i];
    const Position at{lineno, tok.column};
    const OptSpec* spec = nullptr;
    std::optional<std::string_view> value;
    if (tok.text.size() > 2 && tok.text.rfind("--", 0) == 0) {
      std::string_view name = tok.text.substr(2);
      if (auto eq = name.find('='); eq != std::string_view::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      for (const auto& o : kOpts) {
        if (o.long_name == name) spec = &o;
      }
    } else if (tok.text.size() >= 2 && tok.text[0] == '-' && tok.text[1] != '-') {
      for (const auto& o : kOpts) {
        if (o.short_name != '\0' && o.short_name == tok.text[1]) spec = &o;
      }
      if (spec != nullptr && tok.text.size() > 2) {
        if (!spec->takes_arg) spec = nullptr;  // "-px" is not an option we know
        else value = tok.text.substr(2);       // getopt's "-a10.0.0.1"
      }
    } else {
      // A key that followed an option we do not know is not repeated in the message.
      const bool key = tok.text.rfind("NVMeTLSkey-", 0) == 0 || tok.text.rfind("DHHC-", 0) == 0;
      p.add(at, fmt::format("unexpected {}: a line holds nvme-cli options such as -t tcp -a ADDR -s PORT",
                            key ? std::string("key text (not shown)") : quoted(tok.text)));
      continue;
    }
    if (spec == nullptr) {
      p.add(at, fmt::format("unknown option {}; known: -t/--transport, -a/--traddr, -s/--trsvcid, -w/--host-traddr, "
                            "-f/--host-iface, -q/--hostnqn, -I/--hostid, -n/--nqn, -p/--persistent, --tls",
                            quoted(option_name(tok.text))));
      continue;
    }
    // Recorded before its value is checked, so a bad value is not also reported as missing.
    bool twice = false;
    if (spec->opt != Opt::Unsupported) {
      twice = given[spec->opt];
      given[spec->opt] = true;
    }
    if (spec->takes_arg && !value) {
      if (i + 1 >= toks.size()) {
        p.add(at, fmt::format("{} needs a value", quoted(tok.text)));
        continue;
      }
      value = toks[++i].text;
    } else if (!spec->takes_arg && value) {
      p.add(at, fmt::format("{} takes no value", quoted(tok.text)));
      continue;
    }
    if (spec->opt == Opt::Unsupported) {
      p.add(at, fmt::format("option {} is not supported per discovery controller; set {} of the TOML configuration",
                            quoted(option_name(tok.text)), spec->instead));
      continue;
    }
    if (twice) {
      p.add(at, fmt::format("option --{} is given twice", spec->long_name));
      continue;
    }
    const std::string v = value ? std::string(*value) : std::string();
    switch (spec->opt) {
      case Opt::Transport:
        if (v != "tcp") p.add(at, fmt::format("transport {} is not supported: nvme-mpath speaks tcp only", quoted(v)));
        break;
      case Opt::Traddr:
        if (auto c = canonical_address(v)) {
          d.endpoint.traddr = v;
          canon = *c;
        } else {
          p.add(at, address_problem("traddr", v));
        }
        break;
      case Opt::Trsvcid: {
        unsigned port = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
        if (ec != std::errc() || end != v.data() + v.size() || port == 0 || port > 65535) {
          p.add(at, fmt::format("trsvcid {} must be a port number 1..65535", quoted(v)));
        } else {
          d.endpoint.trsvcid = static_cast<std::uint16_t>(port);
        }
        break;
      }
      case Opt::HostTraddr:
        if (canonical_address(v)) d.endpoint.host_traddr = v;
        else p.add(at, address_problem("host-traddr", v));
        break;
      case Opt::HostIface:
        if (valid_iface(v)) d.endpoint.host_iface = v;
        else p.add(at, fmt::format("host-iface {} is not a network interface name", quoted(v)));
        break;
      case Opt::HostNqn:
        if (valid_nqn(v)) d.hostnqn = v;
        else p.add(at, fmt::format("hostnqn {} must start with \"nqn.\" and be at most {} bytes", quoted(v), kNqnMaxLen));
        break;
      case Opt::HostId:
        if (valid_uuid(v)) d.hostid = v;
        else p.add(at, fmt::format("hostid {} must be a UUID", quoted(v)));
        break;
      case Opt::Nqn:
        // Only the well-known discovery subsystem: unique discovery NQNs are not supported.
        if (v != kDiscoveryNqn) {
          p.add(at, fmt::format("nqn {} is not supported: discovery controllers are reached as {}", quoted(v),
                                kDiscoveryNqn));
        }
        break;
      case Opt::Persistent:
        d.persistent = true;
        break;
      case Opt::Tls:
        d.tls.tls = true;  // the key: [host]'s (load_config)
        break;
      case Opt::Unsupported:
        break;
    }
  }
  if (!given[Opt::Transport]) p.add({lineno, 1}, "missing -t tcp (nvme-cli requires the transport)");
  if (!given[Opt::Traddr]) p.add({lineno, 1}, "missing -a ADDR (the discovery controller's address)");
}

}  // namespace

Result<std::vector<DiscoveryConfig>> parse_discovery_conf(std::string_view text, const std::string& source) {
  const std::string name = source.empty() ? std::string("<discovery.conf>") : source;
  if (text.size() > kMaxConfigBytes) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("{}: larger than {} bytes; is this the right file?", name, kMaxConfigBytes));
  }
  Problems p(name);
  std::vector<DiscoveryConfig> out;
  std::map<std::string, std::uint32_t> seen;
  std::uint32_t lineno = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++lineno;
    const auto toks = split_line(line);
    if (toks.empty()) continue;
    const std::size_t before = p.size();
    DiscoveryConfig d;
    d.endpoint.trsvcid = kDefaultDiscoveryPort;
    d.origin = fmt::format("{}:{}", name, lineno);
    std::string canon;
    parse_discovery_line(toks, lineno, d, canon, p);
    if (p.size() != before) continue;
    const std::string key = endpoint_key(canon, d.endpoint.trsvcid);
    if (auto [it, fresh] = seen.emplace(key, lineno); !fresh) {
      p.add({lineno, 1}, fmt::format("duplicate discovery controller {} (first at line {})", key, it->second));
      continue;
    }
    out.push_back(std::move(d));
  }
  if (!p.empty()) return p.error(Errc::InvalidArgument);
  return out;
}

}  // namespace nvmemp::mpathd
