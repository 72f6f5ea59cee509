// Status: field decoding (kernel/libnvme form, `cqe.status >> 1`), path/ANA classification
// and libnvme-backed text.
#include "nvmemp/status.h"

#include <cstddef>
#include <string>
#include <type_traits>

#include <catch2/catch.hpp>

// libnvme 1.3's util.h neither includes <cstddef> nor has an extern "C" block.
extern "C" {
#include <nvme/util.h>
}

using nvmemp::Status;
using nvmemp::StatusContext;

static_assert(sizeof(Status) == 2);
static_assert(std::is_trivially_copyable_v<Status>);
static_assert(Status().ok() && Status::success().raw() == 0);
static_assert(Status::from_parts(3, 2, true).raw() == 0x4302);

TEST_CASE("Status fields from the kernel-form value", "[status]") {
  struct Row {
    std::uint16_t raw;
    std::uint8_t sct, sc, crd;
    bool more, dnr, ok, path, ana;
  };
  // clang-format off
  const Row rows[] = {
      {0x0000, 0, 0x00, 0, false, false, true,  false, false},  // Successful Completion
      {0x0002, 0, 0x02, 0, false, false, false, false, false},  // Invalid Field in Command (SCT 0)
      {0x4002, 0, 0x02, 0, false, true,  false, false, false},  //   ... with DNR
      {0x2002, 0, 0x02, 0, true,  false, false, false, false},  //   ... with MORE
      {0x0802, 0, 0x02, 1, false, false, false, false, false},  //   ... CRD 1
      {0x1002, 0, 0x02, 2, false, false, false, false, false},  //   ... CRD 2
      {0x1802, 0, 0x02, 3, false, false, false, false, false},  //   ... CRD 3
      {0x7802, 0, 0x02, 3, true,  true,  false, false, false},  //   ... every flag
      {0x6000, 0, 0x00, 0, true,  true,  true,  false, false},  // flags alone are still success
      {0x0184, 1, 0x84, 0, false, false, false, false, false},  // Connect Invalid Host
      {0x0281, 2, 0x81, 0, false, false, false, false, false},  // Unrecovered Read Error
      {0x0300, 3, 0x00, 0, false, false, false, true,  false},  // Internal Path Error
      {0x0301, 3, 0x01, 0, false, false, false, true,  true},   // ANA Persistent Loss
      {0x0302, 3, 0x02, 0, false, false, false, true,  true},   // ANA Inaccessible (SC 0x02 under SCT 3)
      {0x0303, 3, 0x03, 0, false, false, false, true,  true},   // ANA Transition
      {0x4303, 3, 0x03, 0, false, true,  false, true,  true},   // ANA Transition, DNR
      {0x0360, 3, 0x60, 0, false, false, false, true,  false},  // Controller Pathing Error
      {0x0370, 3, 0x70, 0, false, false, false, true,  false},  // Host Pathing Error
      {0x0371, 3, 0x71, 0, false, false, false, true,  false},  // Command Aborted By Host
      {0x0070, 0, 0x70, 0, false, false, false, false, false},  // bare SC 0x70 is NOT a path error
      {0x0702, 7, 0x02, 0, false, false, false, false, false},  // vendor specific
  };
  // clang-format on
  for (const Row& r : rows) {
    CAPTURE(r.raw);
    const Status s(r.raw);
    CHECK(s.raw() == r.raw);
    CHECK(s.sct() == r.sct);
    CHECK(s.sc() == r.sc);
    CHECK(s.crd() == r.crd);
    CHECK(s.more() == r.more);
    CHECK(s.dnr() == r.dnr);
    CHECK(s.code() == ((r.sct << 8) | r.sc));
    CHECK(s.ok() == r.ok);
    CHECK(s.is_path_error() == r.path);
    CHECK(s.is_ana_error() == r.ana);
    CHECK(Status::from_parts(r.sct, r.sc, r.dnr, r.more, r.crd) == s);
  }
}

TEST_CASE("Status: host-made statuses and constructors", "[status]") {
  CHECK(Status::host_path_error().raw() == 0x370);
  CHECK(Status::aborted_by_host().raw() == 0x371);
  CHECK(Status::host_path_error().is_path_error());
  CHECK_FALSE(Status::host_path_error().is_ana_error());
  CHECK_FALSE(Status::host_path_error().dnr());
  // Bit 15 does not exist in the 15-bit form.
  CHECK(Status(0x8302).raw() == 0x0302);
  // CQE bytes 14-15 carry the phase tag in bit 0.
  CHECK(Status::from_cqe_field(0x0604) == Status(0x0302));
  CHECK(Status::from_cqe_field(0x0605) == Status(0x0302));
  CHECK(Status::from_cqe_field(0x8604).dnr());
  // Out-of-range parts are masked, not spread into other fields.
  CHECK(Status::from_parts(0xF, 0x02).sct() == 7);
  CHECK(Status::from_parts(0, 0, false, false, 7).crd() == 3);
  // SC 0x02: Invalid Field in Command under SCT 0, ANA Inaccessible under SCT 3.
  CHECK(Status::from_parts(0, 2) != Status::from_parts(3, 2));
  CHECK_FALSE(Status::from_parts(0, 2).is_ana_error());
  CHECK(Status::from_parts(3, 2).is_ana_error());
}

TEST_CASE("libnvme's nvme_status_to_string takes the kernel form", "[status]") {
  // util.c: sc = NVME_GET(status, SC) (bits 7:0), sct = NVME_GET(status, SCT) (bits 10:8);
  // DNR/MORE/CRD are ignored. So it wants `cqe.status >> 1`, which is Status::raw().
  const std::string ana = nvme_status_to_string(0x302, false);
  CHECK(ana.rfind("Asymmetric Access Inaccessible", 0) == 0);
  CHECK(std::string(nvme_status_to_string(0x4302, false)) == ana);
  // The unshifted CQE field (0x302 << 1 = 0x604: SCT 6) means nothing to it.
  CHECK(std::string(nvme_status_to_string(0x604, false)) == "Unknown status");
  // Its `fabrics` flag selects the Fabrics table for SCT 1 codes >= 0x80.
  CHECK(std::string(nvme_status_to_string(0x184, true)).rfind("Connect Invalid Host", 0) == 0);
  CHECK(std::string(nvme_status_to_string(0x184, false)) == "unrecognized");
}

TEST_CASE("Status::to_string", "[status]") {
  struct Row {
    std::uint16_t raw;
    StatusContext ctx;
    const char* text;
  };
  const Row rows[] = {
      {0x0000, StatusContext::Command, "Successful Completion (sct 0x0 sc 0x00)"},
      {0x0002, StatusContext::Command, "Invalid Field in Command (sct 0x0 sc 0x02)"},
      {0x0302, StatusContext::Command, "Asymmetric Access Inaccessible (sct 0x3 sc 0x02)"},
      {0x4302, StatusContext::Command, "Asymmetric Access Inaccessible (sct 0x3 sc 0x02, dnr)"},
      {0x0301, StatusContext::Command, "Asymmetric Access Persistent Loss (sct 0x3 sc 0x01)"},
      {0x0303, StatusContext::Command, "Asymmetric Access Transition (sct 0x3 sc 0x03)"},
      {0x0300, StatusContext::Command, "Internal Path Error (sct 0x3 sc 0x00)"},
      {0x0360, StatusContext::Command, "Controller Pathing Error (sct 0x3 sc 0x60)"},
      {0x0370, StatusContext::Command, "Host Pathing Error (sct 0x3 sc 0x70)"},
      {0x0371, StatusContext::Command, "Command Aborted By Host (sct 0x3 sc 0x71)"},
      {0x2802, StatusContext::Command, "Invalid Field in Command (sct 0x0 sc 0x02, more, crd 1)"},
      {0x7802, StatusContext::Command, "Invalid Field in Command (sct 0x0 sc 0x02, dnr, more, crd 3)"},
      // SCT 1 >= 0x80 depends on the command: Fabrics (Connect) vs NVM/admin.
      {0x4184, StatusContext::FabricsCommand, "Connect Invalid Host (sct 0x1 sc 0x84, dnr)"},
      {0x0184, StatusContext::Command, "Unknown status (sct 0x1 sc 0x84)"},
      {0x0182, StatusContext::FabricsCommand, "Connect Invalid Parameters (sct 0x1 sc 0x82)"},
      {0x0182, StatusContext::Command, "Attempted Write to Read Only Range (sct 0x1 sc 0x82)"},
      {0x0191, StatusContext::FabricsCommand, "Authentication Required (sct 0x1 sc 0x91)"},
      {0x07FF, StatusContext::Command, "Vendor Specific Status (sct 0x7 sc 0xff)"},
      {0x0604, StatusContext::Command, "Unknown status (sct 0x6 sc 0x04)"},
      {0x03FF, StatusContext::Command, "Unknown status (sct 0x3 sc 0xff)"},
  };
  for (const Row& r : rows) {
    CAPTURE(r.raw);
    CHECK(Status(r.raw).to_string(r.ctx) == r.text);
  }
  // SCT 1 codes below 0x80 read the same whatever the context.
  CHECK(Status(0x0109).to_string(StatusContext::FabricsCommand) == Status(0x0109).to_string());
  CHECK(Status(0x0109).to_string() == "Invalid Log Page (sct 0x1 sc 0x09)");
  // The default context is an ordinary (non-Fabrics) command.
  CHECK(Status(0x0182).to_string() == "Attempted Write to Read Only Range (sct 0x1 sc 0x82)");
}
