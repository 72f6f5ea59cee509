#include "controller/ctrl_state.h"

namespace nvmemp::controller {

const char* ctrl_state_name(CtrlState s) noexcept {
  switch (s) {
    case CtrlState::New: return "new";
    case CtrlState::Connecting: return "connecting";
    case CtrlState::Live: return "live";
    case CtrlState::Resetting: return "resetting";
    case CtrlState::Deleting: return "deleting";
    case CtrlState::Dead: return "dead";
  }
  return "?";
}

bool ctrl_transition_allowed(CtrlState from, CtrlState to) noexcept {
  using S = CtrlState;
  switch (to) {
    case S::Connecting:  // first connect, or reconnect after a reset tore the queues down
      return from == S::New || from == S::Resetting;
    case S::Live:  // bring-up finished
      return from == S::Connecting;
    case S::Resetting:  // error recovery: keep-alive/command timeout, transport error, ANATT
      return from == S::Live;
    case S::Deleting:  // user request or ctrl_loss_tmo
      return from == S::New || from == S::Connecting || from == S::Live || from == S::Resetting;
    case S::Dead:  // queues gone, nothing left to do
      return from == S::Deleting;
    case S::New:
      return false;
  }
  return false;
}

bool CtrlStateMachine::change(CtrlState to) noexcept {
  if (!ctrl_transition_allowed(state_, to)) {
    return false;
  }
  state_ = to;
  return true;
}

}  // namespace nvmemp::controller
