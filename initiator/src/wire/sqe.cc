// SQE/CQE layout, SGL descriptors and data placement (see sqe.h).
#include "wire/sqe.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "wire/libnvme_types.h"

namespace nvmemp::wire {

// Our constants are libnvme's where it has them.
static_assert(kAenAnaChange == ((NVME_LOG_LID_ANA << 16) | (NVME_AER_NOTICE_ANA << 8) | NVME_AER_NOTICE));
static_assert(kAenNsAttrChanged ==
              ((NVME_LOG_LID_CHANGED_NS << 16) | (NVME_AER_NOTICE_NS_CHANGED << 8) | NVME_AER_NOTICE));
static_assert(kAenDiscoveryLogChange ==
              ((NVME_LOG_LID_DISCOVER << 16) | (NVME_AER_NOTICE_DISC_CHANGED << 8) | NVME_AER_NOTICE));
static_assert(kFidAsyncEventConfig == NVME_FEAT_FID_ASYNC_EVENT);
static_assert(kAecNsAttr == (1u << NVME_FEAT_AE_NAN_SHIFT) && kAecAna == (1u << NVME_FEAT_AE_ANA_SHIFT));
static_assert(kNqnMaxLen == NVMF_NQN_SIZE && kNqnFieldLen == NVME_NQN_LENGTH);
static_assert(kOpcodeFabrics == nvme_admin_fabrics);
static_assert(kDsmMaxRanges == NVME_DSM_MAX_RANGES);

void SglDescriptor::encode(MutBytes out) const {
  assert(out.size() >= kLen);
  store_le64(out, 0, addr);
  store_le32(out, 8, length);
  store_u8(out, 12, 0);
  store_u8(out, 13, 0);
  store_u8(out, 14, 0);
  store_u8(out, 15, id);
}

SglDescriptor SglDescriptor::decode(Bytes in) {
  assert(in.size() >= kLen);
  return SglDescriptor{load_le64(in, 0), load_le32(in, 8), load_u8(in, 15)};
}

Sqe Sqe::with_opcode(std::uint8_t opcode, std::uint32_t nsid) noexcept {
  Sqe s;
  s.bytes[kOffOpcode] = opcode;
  s.bytes[kOffFlags] = kFlagsPsdtSgl;
  s.set_nsid(nsid);
  s.set_sgl1(SglDescriptor::null());
  return s;
}

Result<Sqe> Sqe::from_bytes(Bytes b) {
  if (b.size() < kSqeLen) {
    return make_error(Errc::Truncated, fmt::format("SQE: {} bytes, need {}", b.size(), kSqeLen));
  }
  Sqe s;
  std::copy_n(b.begin(), kSqeLen, s.bytes.begin());
  return s;
}

std::uint32_t max_in_capsule_data(std::uint32_t ioccsz) noexcept {
  const std::uint64_t capsule = static_cast<std::uint64_t>(ioccsz) * 16;
  if (capsule <= kSqeLen) {
    return 0;
  }
  return static_cast<std::uint32_t>(
      std::min<std::uint64_t>(capsule - kSqeLen, std::numeric_limits<std::uint32_t>::max()));
}

SglDescriptor sgl_for_write(std::uint32_t len, std::uint32_t max_icd) noexcept {
  if (len == 0) {
    return SglDescriptor::null();
  }
  // Same rule as the kernel's nvme_tcp_has_inline_data(): the whole write fits or none of it.
  return len <= max_icd ? SglDescriptor::in_capsule(len) : SglDescriptor::transport(len);
}

Cqe decode_cqe(Bytes b) noexcept {
  assert(b.size() >= kCqeLen);
  std::array<std::uint8_t, kCqeLen> raw{};
  std::copy_n(b.begin(), std::min(b.size(), kCqeLen), raw.begin());
  const Bytes r(raw);
  Cqe c;
  c.dw0 = load_le32(r, 0);
  c.dw1 = load_le32(r, 4);
  c.sqhd = load_le16(r, 8);
  c.sqid = load_le16(r, 10);
  c.cid = load_le16(r, 12);
  const std::uint16_t sf = load_le16(r, 14);
  c.status = Status::from_cqe_field(sf);
  c.phase = (sf & 1) != 0;
  return c;
}

std::array<std::uint8_t, kCqeLen> encode_cqe(const Cqe& c) noexcept {
  std::array<std::uint8_t, kCqeLen> out{};
  const MutBytes o(out);
  store_le32(o, 0, c.dw0);
  store_le32(o, 4, c.dw1);
  store_le16(o, 8, c.sqhd);
  store_le16(o, 10, c.sqid);
  store_le16(o, 12, c.cid);
  store_le16(o, 14, static_cast<std::uint16_t>((c.status.raw() << 1) | (c.phase ? 1 : 0)));
  return out;
}

}  // namespace nvmemp::wire
