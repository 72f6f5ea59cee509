// Admin commands (NVMe Base 2.0 section 5): Identify, Get Log Page, Set/Get Features,
// Keep Alive, Asynchronous Event Request.
#include <fmt/format.h>

#include "wire/libnvme_types.h"
#include "wire/sqe.h"

namespace nvmemp::wire {

Sqe make_identify(std::uint8_t cns, std::uint32_t nsid, std::uint16_t cntid, std::uint8_t csi,
                  std::uint32_t len) noexcept {
  Sqe s = Sqe::with_opcode(nvme_admin_identify, nsid);
  s.set_sgl1(SglDescriptor::transport(len));
  s.set_cdw(10, cns | (static_cast<std::uint32_t>(cntid) << 16));
  s.set_cdw(11, static_cast<std::uint32_t>(csi) << 24);
  return s;
}

Result<Sqe> make_get_log_page(std::uint8_t lid, std::uint32_t nsid, std::uint64_t offset_bytes,
                              std::uint32_t len_bytes, std::uint8_t lsp, bool rae) {
  if (len_bytes == 0 || len_bytes % 4 != 0) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("Get Log Page {:#04x}: length {} is not a non-zero multiple of 4", lid, len_bytes));
  }
  // LPOL/LPOU count bytes but must be dword aligned (NVMe Base 2.0 5.16, "Log Page Offset").
  if (offset_bytes % 4 != 0) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("Get Log Page {:#04x}: offset {} is not a multiple of 4", lid, offset_bytes));
  }
  // LSP is 7 bits (14:8) since NVMe 1.4; bit 15 is RAE.
  if (lsp > 0x7F) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("Get Log Page {:#04x}: LSP {:#x} does not fit in 7 bits", lid, lsp));
  }
  const std::uint32_t numd = len_bytes / 4 - 1;  // 0's based dwords
  Sqe s = Sqe::with_opcode(nvme_admin_get_log_page, nsid);
  s.set_sgl1(SglDescriptor::transport(len_bytes));
  s.set_cdw(10, lid | (static_cast<std::uint32_t>(lsp) << 8) | (rae ? 1u << 15 : 0u) | ((numd & 0xFFFF) << 16));
  s.set_cdw(11, numd >> 16);  // NUMDU 15:0; LSI 31:16 stays 0
  s.set_cdw(12, static_cast<std::uint32_t>(offset_bytes));
  s.set_cdw(13, static_cast<std::uint32_t>(offset_bytes >> 32));
  return s;
}

Sqe make_set_features(std::uint8_t fid, std::uint32_t cdw11, bool save) noexcept {
  Sqe s = Sqe::with_opcode(nvme_admin_set_features);
  s.set_cdw(10, fid | (save ? 1u << 31 : 0u));
  s.set_cdw(11, cdw11);
  return s;
}

Sqe make_get_features(std::uint8_t fid, std::uint8_t sel, std::uint32_t cdw11) noexcept {
  assert(sel <= 7);
  Sqe s = Sqe::with_opcode(nvme_admin_get_features);
  s.set_cdw(10, fid | (static_cast<std::uint32_t>(sel & 0x7) << 8));
  s.set_cdw(11, cdw11);
  return s;
}

Sqe make_keep_alive() noexcept { return Sqe::with_opcode(nvme_admin_keep_alive); }

Sqe make_async_event_request() noexcept { return Sqe::with_opcode(nvme_admin_async_event); }

}  // namespace nvmemp::wire
