// A queue's connection: the TCP connect and, for a controller set up for TLS, the TLS 1.3
// handshake before the ICReq (NVMe/TCP puts the whole PDU stream inside TLS). Runs on the
// control thread, which connects every queue's socket (an I/O thread never waits on a dead
// address); bounded by connect_timeout for each of the two steps.
#pragma once

#include "controller/controller.h"
#include "transport/record_layer.h"

namespace nvmemp::controller {

// `what` prefixes errors ("I/O queue"); they name the address, and for TLS the alert.
Result<transport::Connection> connect_queue(const ControllerOptions& opts, std::string_view what);

}  // namespace nvmemp::controller
