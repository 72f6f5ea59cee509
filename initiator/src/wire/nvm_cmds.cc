// NVM command set I/O commands (NVM Command Set 1.0 section 3): Read, Write, Flush,
// Write Zeroes, Dataset Management (deallocate).
#include <cstddef>

#include <fmt/format.h>

#include "wire/libnvme_types.h"
#include "wire/sqe.h"

namespace nvmemp::wire {
namespace {

// NLB is 16 bits, 0's based: 1..65536 blocks per command.
Result<std::uint32_t> check_nlb(const char* cmd, std::uint32_t nsid, std::uint64_t slba, std::uint32_t nlb) {
  if (nlb == 0 || nlb > kMaxNlb) {
    return make_error(Errc::InvalidArgument, fmt::format("{} nsid {} slba {}: {} blocks, must be 1 to {}", cmd,
                                                         nsid, slba, nlb, kMaxNlb));
  }
  return nlb - 1;
}

Sqe lba_sqe(std::uint8_t opcode, std::uint32_t nsid, std::uint64_t slba, std::uint32_t cdw12) {
  Sqe s = Sqe::with_opcode(opcode, nsid);
  s.set_cdw(10, static_cast<std::uint32_t>(slba));
  s.set_cdw(11, static_cast<std::uint32_t>(slba >> 32));
  s.set_cdw(12, cdw12);
  return s;
}

}  // namespace

Result<Sqe> make_read(std::uint32_t nsid, std::uint64_t slba, std::uint32_t nlb, std::uint32_t len_bytes) {
  auto nlb0 = check_nlb("Read", nsid, slba, nlb);
  if (!nlb0) {
    return tl::unexpected(std::move(nlb0.error()));
  }
  if (len_bytes == 0) {
    return make_error(Errc::InvalidArgument, fmt::format("Read nsid {} slba {}: data length 0", nsid, slba));
  }
  Sqe s = lba_sqe(nvme_cmd_read, nsid, slba, *nlb0);
  s.set_sgl1(SglDescriptor::transport(len_bytes));
  return s;
}

Result<Sqe> make_write(std::uint32_t nsid, std::uint64_t slba, std::uint32_t nlb, std::uint32_t len_bytes,
                       std::uint32_t max_icd, bool fua) {
  auto nlb0 = check_nlb("Write", nsid, slba, nlb);
  if (!nlb0) {
    return tl::unexpected(std::move(nlb0.error()));
  }
  if (len_bytes == 0) {
    return make_error(Errc::InvalidArgument, fmt::format("Write nsid {} slba {}: data length 0", nsid, slba));
  }
  Sqe s = lba_sqe(nvme_cmd_write, nsid, slba, *nlb0 | (fua ? kCdw12Fua : 0u));
  s.set_sgl1(sgl_for_write(len_bytes, max_icd));
  return s;
}

Sqe make_flush(std::uint32_t nsid) noexcept { return Sqe::with_opcode(nvme_cmd_flush, nsid); }

Result<Sqe> make_write_zeroes(std::uint32_t nsid, std::uint64_t slba, std::uint32_t nlb, bool deallocate,
                              bool fua) {
  auto nlb0 = check_nlb("Write Zeroes", nsid, slba, nlb);
  if (!nlb0) {
    return tl::unexpected(std::move(nlb0.error()));
  }
  return lba_sqe(nvme_cmd_write_zeroes, nsid, slba,
                 *nlb0 | (deallocate ? kCdw12Deac : 0u) | (fua ? kCdw12Fua : 0u));
}

Result<Sqe> make_dataset_management_deallocate(std::uint32_t nsid, std::size_t nr_ranges, std::uint32_t max_icd) {
  if (nr_ranges == 0 || nr_ranges > kDsmMaxRanges) {
    return make_error(Errc::InvalidArgument, fmt::format("Dataset Management nsid {}: {} ranges, must be 1 to {}",
                                                         nsid, nr_ranges, kDsmMaxRanges));
  }
  Sqe s = Sqe::with_opcode(nvme_cmd_dsm, nsid);
  s.set_cdw(10, static_cast<std::uint32_t>(nr_ranges - 1));  // NR, 0's based
  s.set_cdw(11, kDsmAttrDeallocate);                         // AD
  s.set_sgl1(sgl_for_write(static_cast<std::uint32_t>(nr_ranges * kDsmRangeLen), max_icd));
  return s;
}

std::vector<std::uint8_t> encode_dsm_ranges(std::span<const DsmRange> ranges) {
  std::vector<std::uint8_t> out(ranges.size() * kDsmRangeLen, 0);
  const MutBytes o(out);
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const std::size_t off = i * kDsmRangeLen;
    store_le32(o, off + 0, 0);  // context attributes: none
    store_le32(o, off + 4, ranges[i].nlb);
    store_le64(o, off + 8, ranges[i].slba);
  }
  return out;
}

static_assert(kDsmAttrDeallocate == NVME_DSMGMT_AD);
static_assert(sizeof(nvme_dsm_range) == kDsmRangeLen && offsetof(nvme_dsm_range, nlb) == 4 &&
              offsetof(nvme_dsm_range, slba) == 8);

}  // namespace nvmemp::wire
