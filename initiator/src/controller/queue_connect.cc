#include "controller/queue_connect.h"

#include <fmt/format.h>

#include "common/log.h"
#include "tls/tls_session.h"

namespace nvmemp::controller {

Result<transport::Connection> connect_queue(const ControllerOptions& opts, std::string_view what) {
  auto fd = transport::tcp_connect(opts.endpoint, opts.connect_timeout);
  if (!fd) return tl::unexpected(fd.error());
  transport::Connection conn(*fd);
  if (opts.tls == nullptr) return conn;
  // A copy of the PSK for this connection's session (which wipes it after the handshake).
  tls::TlsPsk psk;
  psk.identity = opts.tls->identity;
  psk.key = auth::SecretBuf(opts.tls->key.bytes());
  psk.hash = opts.tls->hash;
  const std::string who = fmt::format("{} ({})", transport::endpoint_name(opts.endpoint), what);
  auto session = tls::tls_client_handshake(conn.fd(), std::move(psk), who, opts.connect_timeout);
  if (!session) return tl::unexpected(session.error());
  log(LogLevel::Debug, "{}: {} as \"{}\"", who, (*session)->describe(), opts.tls->identity);
  return transport::Connection(conn.release_fd(), std::move(*session));
}

}  // namespace nvmemp::controller
