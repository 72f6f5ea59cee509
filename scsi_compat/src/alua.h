// ALUA (SCSI asymmetric logical unit access) mapped onto the ANA model the multipath core uses:
// a SCSI path's `device/access_state` (written by scsi_dh_alua) becomes an ANA state, its
// target port group plays the part of an ANA group.
//
// The table (one place, tested):
//   active/optimized      -> optimized
//   active/non-optimized  -> non-optimized
//   lba-dependent         -> non-optimized   (a choice: multipath-tools' alua prioritiser ranks
//                            it between non-optimized and standby; I/O may go there, it is never
//                            preferred over an optimized path)
//   transitioning         -> change          (held off, as an ANA group in change)
//   standby, unavailable, offline -> inaccessible
//   no access_state (no device handler attached) -> optimized: nothing says the path is worse,
//                            as an NVMe controller without ANA reporting
//   anything else (e.g. "unknown") -> inaccessible, and an error text naming it
// `preferred_path` = 1 (the PREF bit of REPORT TARGET PORT GROUPS) breaks ties within a class.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "wire/log_pages.h"

namespace nvmemp::scsi {

struct AluaMapping {
  wire::AnaState ana = wire::AnaState::Optimized;
  bool known = true;  // false: an access_state this table does not know (mapped inaccessible)
};

// `access_state` as sysfs shows it (the trailing newline is ignored); nullopt = no such file.
AluaMapping ana_from_access_state(std::optional<std::string_view> access_state);

}  // namespace nvmemp::scsi
