// libnvme's JSON configuration (/etc/nvme/config.json: what `nvme connect-all -J` and `nvme
// config` read and write), read with libnvme's own reader (nvme_read_config), so its format is
// the one nvme-cli users already have. Its subsystems' TCP ports become paths of [[subsystem]]s,
// with the DH-HMAC-CHAP keys it names: `dhchap_key` (the host key) and `dhchap_ctrl_key` (the
// controller key) per port, `dhchap_key` per host for every port of that host; and `tls` per
// port (nvme_ctrl_get_config). libnvme 1.3 neither reads nor exposes a port's `tls_key` (nor
// `keyring`): the key of a port with tls is the TOML's, of its [[subsystem]] or of [host].
#pragma once

#include <string>

#include "config.h"
#include "nvmemp/result.h"

namespace nvmemp::mpathd {

// Adds the TCP ports of `path`'s subsystems to cfg.subsystems: a port of a configured
// [[subsystem]] becomes one more path of it unless the TOML names that address and port
// already (the TOML wins); a subsystem the TOML does not name gets an entry with [defaults]'s
// knobs. Only the host entries whose hostnqn is `hostnqn` (or that name none) are taken; the
// others are logged and skipped, since the daemon has one host identity. Ports of other
// transports are skipped (logged). A file libnvme cannot read or parse is an error naming it;
// a key that is not a valid DHHC-1 secret is an error naming the subsystem and port (never the
// key), and so is a port with tls for which the TOML configures no TLS key. A port of a
// subsystem whose TOML says tls = true has TLS whatever the file says. libnvme's copies of the
// keys are wiped before its tree is freed.
[[nodiscard]] Result<void> merge_libnvme_config(DaemonConfig& cfg, const std::string& path,
                                                const std::string& hostnqn);

}  // namespace nvmemp::mpathd
