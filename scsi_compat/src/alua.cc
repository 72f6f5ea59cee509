#include "alua.h"

namespace nvmemp::scsi {

AluaMapping ana_from_access_state(std::optional<std::string_view> access_state) {
  using wire::AnaState;
  if (!access_state) return {AnaState::Optimized, true};
  std::string_view s = *access_state;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  if (s == "active/optimized") return {AnaState::Optimized, true};
  if (s == "active/non-optimized" || s == "lba-dependent") return {AnaState::NonOptimized, true};
  if (s == "transitioning") return {AnaState::Change, true};
  if (s == "standby" || s == "unavailable" || s == "offline") return {AnaState::Inaccessible, true};
  return {AnaState::Inaccessible, false};
}

}  // namespace nvmemp::scsi
