// Fuzz target: the simulated target's control-line parser (tools/sim-target/control_parse.h,
// header-only so this target needs only the library). Besides "no crash": a parsed command
// has ids in range and an error has a message; auth-host has a host NQN, a key, a known hash and
// group; auth-fault failure1 (and only it) has a reason.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../tools/sim-target/control_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto r = nvmemp::sim::parse_control_line(line);
  if (!r) {
    if (r.error().message.empty()) {
      std::abort();
    }
    return 0;
  }
  using nvmemp::sim::ControlOp;
  switch (r->op) {
    case ControlOp::Ana:
      if (r->port == 0 || r->port > 65535 || r->grpid == 0) std::abort();
      (void)nvmemp::sim::sim_ana_state_name(r->state);
      break;
    case ControlOp::PortDown:
    case ControlOp::PortUp:
      if (r->port == 0 || r->port > 65535) std::abort();
      break;
    case ControlOp::NsDown:
    case ControlOp::NsUp:
    case ControlOp::NsGrp:
      if (r->nsid == 0) std::abort();
      break;
    case ControlOp::Hostile:
      if (r->port == 0 || r->port > 65535) std::abort();
      (void)nvmemp::sim::kHostileModeNames.at(static_cast<std::size_t>(r->mode));
      break;
    case ControlOp::NeverComplete:
      if (r->step) (void)nvmemp::sim::kHangStepNames.at(static_cast<std::size_t>(*r->step));
      break;
    case ControlOp::FailNext:
      if (r->crd > 3) std::abort();
      break;
    case ControlOp::AuthHost:
      if (r->auth.hostnqn.empty() || r->auth.hostnqn.size() > 223 || r->auth.key.empty()) std::abort();
      if (!nvmemp::auth::hash_known(static_cast<std::uint8_t>(r->auth.hash))) std::abort();
      if (!nvmemp::auth::dh_group_known(static_cast<std::uint8_t>(r->auth.group))) std::abort();
      break;
    case ControlOp::AuthFault:
      (void)nvmemp::sim::kAuthFaultNames.at(static_cast<std::size_t>(r->auth.fault));
      if ((r->auth.fault == nvmemp::sim::AuthFault::Failure1) != (r->auth.reason != 0)) std::abort();
      break;
    default: break;
  }
  return 0;
}
