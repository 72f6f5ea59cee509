#include "libnvme_config.h"

#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>
#include <libnvme.h>

#include "auth/secret_buf.h"
#include "common/log.h"

namespace nvmemp::mpathd {

namespace {

std::string str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// libnvme keeps the keys in strings of its own; they are wiped in place before its tree is freed.
void wipe_c_string(const char* s) {
  if (s != nullptr) ::explicit_bzero(const_cast<char*>(s), std::strlen(s));
}

struct Tree {
  nvme_root_t root = nullptr;
  char* log_text = nullptr;  // what libnvme logged (open_memstream)
  std::size_t log_len = 0;
  std::FILE* log = nullptr;
  ~Tree() {
    if (root != nullptr) {
      nvme_host_t h;
      nvme_for_each_host(root, h) {
        wipe_c_string(nvme_host_get_dhchap_key(h));
        nvme_subsystem_t s;
        nvme_for_each_subsystem(h, s) {
          nvme_ctrl_t c;
          nvme_subsystem_for_each_ctrl(s, c) {
            wipe_c_string(nvme_ctrl_get_dhchap_host_key(c));
            wipe_c_string(nvme_ctrl_get_dhchap_key(c));
          }
        }
      }
      nvme_free_tree(root);
    }
    if (log != nullptr) std::fclose(log);
    std::free(log_text);
  }
  std::string logged() {
    if (log != nullptr) std::fflush(log);
    std::string t = log_text == nullptr ? std::string() : std::string(log_text, log_len);
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t;
  }
};

// The key text named at `where`, parsed; empty text is no key.
Result<DhchapKey> key_of(const char* text, const std::string& what) {
  if (text == nullptr || *text == '\0') return DhchapKey{};
  std::string copy(text);
  auto k = parse_dhchap_key(copy, what);
  auth::wipe(copy);
  return k;
}

}  // namespace

Result<void> merge_libnvme_config(DaemonConfig& cfg, const std::string& path, const std::string& hostnqn) {
  // libnvme takes a missing file for an empty configuration (it is optional to nvme-cli); one
  // named in ours must be there.
  if (::access(path.c_str(), R_OK) != 0) {
    const int e = errno;
    return make_error(e == ENOENT ? Errc::NotFound : Errc::Io,
                      fmt::format("{} (libnvme_config): cannot open: {}", path, std::strerror(e)));
  }
  Tree t;
  t.log = ::open_memstream(&t.log_text, &t.log_len);
  t.root = nvme_create_root(t.log, LOG_ERR);
  if (t.root == nullptr) {
    return make_error(Errc::Io, fmt::format("{} (libnvme_config): libnvme could not start: {}", path,
                                            std::strerror(errno)));
  }
  if (nvme_read_config(t.root, path.c_str()) != 0) {
    // libnvme says why only at debug level, which would log every attribute it reads.
    const std::string said = t.logged();
    return make_error(Errc::InvalidArgument,
                      fmt::format("{} (libnvme_config): libnvme could not read it{}: it must be JSON in libnvme's "
                                  "format, an array of hosts, as `nvme connect-all --dump-config` writes",
                                  path, said.empty() ? "" : " (" + said + ")"));
  }
  // What libnvme skipped on its own (a port without traddr, ...) it said in its log.
  if (const std::string said = t.logged(); !said.empty()) log(LogLevel::Warn, "{}: libnvme: {}", path, said);
  unsigned added = 0;
  bool holds_keys = false;
  nvme_host_t h;
  nvme_for_each_host(t.root, h) {
    const std::string host = str(nvme_host_get_hostnqn(h));
    if (!host.empty() && host != hostnqn) {
      log(LogLevel::Warn, "{}: host {} is not this daemon's ({}): its subsystems are skipped (the daemon has one "
          "host identity)", path, host, hostnqn);
      continue;
    }
    nvme_subsystem_t s;
    nvme_for_each_subsystem(h, s) {
      const std::string nqn = str(nvme_subsystem_get_nqn(s));
      nvme_ctrl_t c;
      nvme_subsystem_for_each_ctrl(s, c) {
        const std::string transport = str(nvme_ctrl_get_transport(c));
        const std::string traddr = str(nvme_ctrl_get_traddr(c));
        const std::string trsvcid = str(nvme_ctrl_get_trsvcid(c));
        const std::string where = fmt::format("{}: subsystem {} port {} {}:{}", path, nqn, transport, traddr, trsvcid);
        if (transport != "tcp") {
          log(LogLevel::Warn, "{}: skipped: nvme-mpath connects over tcp only", where);
          continue;
        }
        if (nqn.empty() || traddr.empty()) {
          return make_error(Errc::InvalidArgument, fmt::format("{}: a port needs a subsystem nqn and a traddr", where));
        }
        PathConfig pc;
        pc.endpoint.traddr = traddr;
        pc.endpoint.host_traddr = str(nvme_ctrl_get_host_traddr(c));
        pc.endpoint.host_iface = str(nvme_ctrl_get_host_iface(c));
        if (trsvcid.empty()) {
          pc.endpoint.trsvcid = kDefaultIoPort;
        } else {
          char* end = nullptr;
          const unsigned long port = std::strtoul(trsvcid.c_str(), &end, 10);
          if (*end != '\0' || port == 0 || port > 65535) {
            return make_error(Errc::InvalidArgument, fmt::format("{}: trsvcid must be a port number 1-65535", where));
          }
          pc.endpoint.trsvcid = static_cast<std::uint16_t>(port);
        }
        // The port's host key, else its host's; the controller key only per port.
        const char* host_key = nvme_ctrl_get_dhchap_host_key(c);
        if (host_key == nullptr || *host_key == '\0') host_key = nvme_host_get_dhchap_key(h);
        auto hk = key_of(host_key, fmt::format("the host key (dhchap_key) of {}", where));
        if (!hk) return tl::unexpected(hk.error());
        auto ck = key_of(nvme_ctrl_get_dhchap_key(c), fmt::format("the controller key (dhchap_ctrl_key) of {}", where));
        if (!ck) return tl::unexpected(ck.error());
        pc.dhchap_secret = std::move(*hk);
        pc.dhchap_ctrl_secret = std::move(*ck);
        holds_keys = holds_keys || !pc.dhchap_secret.empty() || !pc.dhchap_ctrl_secret.empty();

        SubsystemConfig* sub = nullptr;
        for (auto& x : cfg.subsystems) {
          if (x.nqn == nqn) sub = &x;
        }
        // The port's "tls" (libnvme 1.3 reads it; it has no tls_key) over its subsystem's TLS
        // settings: the key is the TOML's, of a [[subsystem]] with this nqn or of [host].
        pc.tls = TlsSettings::of(sub != nullptr ? sub->options : cfg.fabric);
        if (const nvme_fabrics_config* fc = nvme_ctrl_get_config(c); fc != nullptr && fc->tls) pc.tls.tls = true;
        if (pc.tls.tls && pc.tls.key.empty()) {
          return make_error(Errc::InvalidArgument,
                            fmt::format("{}: tls is set but no TLS key is configured for it (libnvme 1.3 does not read "
                                        "tls_key from its file): set tls_key_file in a [[subsystem]] with nqn = \"{}\" "
                                        "or in [host]",
                                        where, nqn));
        }
        if (sub == nullptr) {
          SubsystemConfig fresh;
          fresh.nqn = nqn;
          fresh.options = cfg.fabric;
          cfg.subsystems.push_back(std::move(fresh));
          sub = &cfg.subsystems.back();
        }
        const bool dup = std::any_of(sub->paths.begin(), sub->paths.end(),
                                     [&](const PathConfig& p) { return same_endpoint(p.endpoint, pc.endpoint); });
        if (dup) continue;  // the TOML names it: the TOML wins
        sub->paths.push_back(std::move(pc));
        ++added;
      }
    }
  }
  struct stat st {};
  if (holds_keys && ::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    log(LogLevel::Warn, "{} holds DH-HMAC-CHAP keys and is readable by {} (mode {:04o}): chmod 600 it", path,
        (st.st_mode & S_IROTH) != 0 ? "every user" : "its group", st.st_mode & 07777);
  }
  log(LogLevel::Info, "{}: {} path(s) taken from libnvme's configuration", path, added);
  return {};
}

}  // namespace nvmemp::mpathd
