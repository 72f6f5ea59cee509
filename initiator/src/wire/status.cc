// Status text through libnvme, and the proof that our constants are libnvme's.
#include "nvmemp/status.h"

#include <string_view>

#include <fmt/format.h>

#include "wire/libnvme_util.h"

namespace nvmemp {

// Status keeps libnvme's layout (kernel form, `cqe.status >> 1`), so its raw value can be
// handed to libnvme as is.
static_assert(Status::kSctGeneric == NVME_SCT_GENERIC && Status::kSctCommandSpecific == NVME_SCT_CMD_SPECIFIC &&
              Status::kSctMedia == NVME_SCT_MEDIA && Status::kSctPath == NVME_SCT_PATH &&
              Status::kSctVendor == NVME_SCT_VS);
static_assert(Status::kScInternalPathError == NVME_SC_ANA_INTERNAL_PATH_ERROR &&
              Status::kScAnaPersistentLoss == NVME_SC_ANA_PERSISTENT_LOSS &&
              Status::kScAnaInaccessible == NVME_SC_ANA_INACCESSIBLE &&
              Status::kScAnaTransition == NVME_SC_ANA_TRANSITION &&
              Status::kScControllerPathError == NVME_SC_CTRL_PATH_ERROR &&
              Status::kScHostPathError == NVME_SC_HOST_PATH_ERROR &&
              Status::kScAbortedByHost == NVME_SC_CMD_ABORTED_BY_HOST);
static_assert(Status::host_path_error().raw() == ((NVME_SCT_PATH << NVME_SCT_SHIFT) | NVME_SC_HOST_PATH_ERROR));
static_assert(Status::from_parts(0, 0, true).raw() == NVME_SC_DNR);
static_assert(Status::from_parts(0, 0, false, true).raw() == NVME_SC_MORE);
static_assert(Status::from_parts(0, 0, false, false, 3).raw() == NVME_SC_CRD);

std::string Status::to_string(StatusContext ctx) const {
  // libnvme 1.3 util.c reads SC from bits 7:0 and SCT from bits 10:8 of its argument and
  // ignores the flag bits: it expects exactly our raw() (checked in status_test.cc).
  const char* text = nvme_status_to_string(static_cast<int>(raw_), ctx == StatusContext::FabricsCommand);
  std::string_view name = text != nullptr ? std::string_view(text) : std::string_view();
  // Its strings are "Name: explanation"; keep the name, messages add their own context.
  if (const auto colon = name.find(": "); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  // It answers "unrecognized" for an unknown SC in a known table, "Unknown status" otherwise.
  if (name.empty() || name == "unrecognized") {
    name = "Unknown status";
  }
  std::string out = fmt::format("{} (sct {:#x} sc {:#04x}", name, sct(), sc());
  if (dnr()) {
    out += ", dnr";
  }
  if (more()) {
    out += ", more";
  }
  if (crd() != 0) {
    out += fmt::format(", crd {}", crd());
  }
  out += ')';
  return out;
}

}  // namespace nvmemp
