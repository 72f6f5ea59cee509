// Controller states and the one table of allowed transitions (the kernel's
// nvme_change_ctrl_state() is the model: an allow-list; anything else is refused).
//
//   New ──► Connecting ──► Live ──► Resetting ──► Connecting ...
//    │          │  ▲         │          │
//    └──────────┴──┴─────────┴──────────┴──► Deleting ──► Dead
#pragma once

#include <cstdint>

namespace nvmemp::controller {

enum class CtrlState : std::uint8_t { New, Connecting, Live, Resetting, Deleting, Dead };

const char* ctrl_state_name(CtrlState s) noexcept;

// True when `from` → `to` is allowed.
bool ctrl_transition_allowed(CtrlState from, CtrlState to) noexcept;

// The state of one controller; owned by the control thread.
class CtrlStateMachine {
 public:
  CtrlState state() const noexcept { return state_; }
  // Moves to `to` when the table allows it; returns false (state unchanged) otherwise.
  bool change(CtrlState to) noexcept;

 private:
  CtrlState state_ = CtrlState::New;
};

}  // namespace nvmemp::controller
