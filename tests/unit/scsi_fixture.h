// Shared by the SCSI scan tests (scsi_test.cc, scsi_udev_scan_test.cc): the sysfs tree captured
// from scsi_debug with three paths to one disk (tests/fixtures/sysfs/scsi-debug-3paths).
#pragma once

#include <filesystem>

inline const std::filesystem::path kFixture =
    std::filesystem::path(NVMEMP_FIXTURES_DIR) / "sysfs/scsi-debug-3paths";
