#include "support/tls_discovery.h"

#include <memory>
#include <optional>

#include "support/control_loop.h"
#include "support/sync_queue.h"
#include "tls/tls_psk.h"

namespace nvmemp::test {

Result<discovery::DiscoveryResult> discover_over_tls(std::uint16_t port, const std::string& hostnqn,
                                                     const std::string& configured_key) {
  using namespace std::chrono_literals;
  auto configured = tls::parse_tls_key(configured_key, "the test's configured PSK");
  if (!configured) return tl::unexpected(configured.error());
  auto psk = tls::make_tls_psk(*configured, hostnqn, controller::kDiscoveryNqn, tls::IdentityVersion::V1,
                               tls::HkdfEncoding::Rfc8446);
  if (!psk) return tl::unexpected(psk.error());
  ControlLoop loop;
  discovery::DiscoveryOptions o;
  o.controller.endpoint = transport::TcpEndpoint{"127.0.0.1", port, "", ""};
  o.controller.host.hostnqn = hostnqn;
  o.controller.host.hostid = test_host_id();
  o.controller.kato = 0ms;
  o.controller.tls = std::make_shared<const tls::TlsPsk>(std::move(*psk));
  o.follow_referrals = false;
  discovery::Discovery d(loop.reactor(), loop.clock, o);
  std::optional<Result<discovery::DiscoveryResult>> got;
  d.start([&](Result<discovery::DiscoveryResult> r) { got = std::move(r); });
  const bool finished = loop.run_until(
      [&] {
        d.tick();
        return got.has_value();
      },
      30s);
  // The discovery controller shuts down in the background: give it its turns.
  loop.run_until(
      [&] {
        d.tick();
        return loop.reactor().connections() == 0;
      },
      2s);
  if (!finished) return make_error(Errc::Timeout, "discovery over TLS did not finish within 30 s");
  return std::move(*got);
}

}  // namespace nvmemp::test
