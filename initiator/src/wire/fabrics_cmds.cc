// Fabrics commands: Connect (and its data), Property Get/Set, Disconnect, Authentication
// Send/Receive.
// NVMe over Fabrics 1.1 section 3; field offsets as in the kernel's struct
// nvmf_connect_command / nvmf_property_get_command (include/linux/nvme.h).
#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "wire/libnvme_types.h"
#include "wire/sqe.h"

namespace nvmemp::wire {
namespace {

// Connect SQE.
constexpr std::size_t kOffRecfmt = 40, kOffQid = 42, kOffSqsize = 44, kOffCattr = 46, kOffKato = 48;
// Property Get/Set SQE.
constexpr std::size_t kOffAttrib = 40, kOffOfst = 44, kOffValue = 48;
constexpr std::uint8_t kAttribSize8 = 0x01;
// Authentication Send/Receive SQE.
constexpr std::size_t kOffSpsp0 = 41, kOffSpsp1 = 42, kOffSecp = 43, kOffTlAl = 44;
constexpr std::uint8_t kSecpDhchap = 0xE9;  // ATTRIB bit 0 (bits 2:0 SIZE: 0 = 4 bytes, 1 = 8 bytes)
// Connect data: libnvme's struct nvmf_connect_data.
constexpr std::size_t kOffHostid = offsetof(nvmf_connect_data, hostid);
constexpr std::size_t kOffCntlid = offsetof(nvmf_connect_data, cntlid);
constexpr std::size_t kOffSubnqn = offsetof(nvmf_connect_data, subsysnqn);
constexpr std::size_t kOffHostnqn = offsetof(nvmf_connect_data, hostnqn);
static_assert(sizeof(nvmf_connect_data) == kConnectDataLen);
static_assert(kOffHostid == 0 && kOffCntlid == 16 && kOffSubnqn == 256 && kOffHostnqn == 512);

Sqe fabrics_sqe(std::uint8_t fctype) {
  Sqe s = Sqe::with_opcode(kOpcodeFabrics);
  s.bytes[Sqe::kOffFctype] = fctype;  // bytes 5-7 stay reserved (zero)
  return s;
}

Result<std::string> check_nqn(std::string_view which, std::string_view nqn) {
  if (nqn.empty()) {
    return make_error(Errc::InvalidArgument, fmt::format("Connect data: {} is empty", which));
  }
  if (nqn.size() > kNqnMaxLen) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("Connect data: {} is {} bytes, longer than the {} an NQN may have", which,
                                  nqn.size(), kNqnMaxLen));
  }
  if (nqn.find('\0') != std::string_view::npos) {
    return make_error(Errc::InvalidArgument, fmt::format("Connect data: {} contains a NUL byte", which));
  }
  return std::string(nqn);
}

// A NUL-terminated NQN field of outside data.
Result<std::string> parse_nqn(Bytes data, std::size_t off, std::string_view which) {
  const Bytes field = data.subspan(off, kNqnFieldLen);
  const auto* nul = static_cast<const std::uint8_t*>(std::memchr(field.data(), 0, field.size()));
  if (nul == nullptr) {
    return make_error(Errc::Malformed,
                      fmt::format("Connect data: {} (bytes {}-{}) has no terminating NUL", which, off,
                                  off + kNqnFieldLen - 1));
  }
  const auto len = static_cast<std::size_t>(nul - field.data());
  if (len == 0 || len > kNqnMaxLen) {
    return make_error(Errc::Malformed, fmt::format("Connect data: {} at byte {} is {} bytes, must be 1 to {}",
                                                   which, off, len, kNqnMaxLen));
  }
  return std::string(reinterpret_cast<const char*>(field.data()), len);
}

}  // namespace

Sqe make_connect(const ConnectParams& p) noexcept {
  Sqe s = fabrics_sqe(nvme_fabrics_type_connect);
  s.set_sgl1(SglDescriptor::in_capsule(kConnectDataLen));
  const MutBytes b(s.bytes);
  store_le16(b, kOffRecfmt, 0);  // record format 0: the only one defined
  store_le16(b, kOffQid, p.qid);
  store_le16(b, kOffSqsize, p.sqsize);
  store_u8(b, kOffCattr, p.cattr);
  store_le32(b, kOffKato, p.kato_ms);
  return s;
}

Result<std::array<std::uint8_t, kConnectDataLen>> encode_connect_data(const HostId& hostid, std::uint16_t cntlid,
                                                                      std::string_view subnqn,
                                                                      std::string_view hostnqn) {
  auto sub = check_nqn("SUBNQN", subnqn);
  if (!sub) {
    return tl::unexpected(std::move(sub.error()));
  }
  auto host = check_nqn("HOSTNQN", hostnqn);
  if (!host) {
    return tl::unexpected(std::move(host.error()));
  }
  std::array<std::uint8_t, kConnectDataLen> out{};
  const MutBytes o(out);
  std::memcpy(out.data() + kOffHostid, hostid.data(), hostid.size());
  store_le16(o, kOffCntlid, cntlid);
  // Both fit (checked above: <= 223 < 256), so store_cstr cannot fail.
  [[maybe_unused]] const bool fit_sub = store_cstr(o, kOffSubnqn, kNqnFieldLen, *sub);
  [[maybe_unused]] const bool fit_host = store_cstr(o, kOffHostnqn, kNqnFieldLen, *host);
  assert(fit_sub && fit_host);
  return out;
}

Result<ConnectParams> parse_connect(const Sqe& sqe) {
  if (sqe.opcode() != kOpcodeFabrics || sqe.fctype() != nvme_fabrics_type_connect) {
    return make_error(Errc::InvalidArgument, fmt::format("Connect: opcode {:#04x} fctype {:#04x} is not a Connect",
                                                         sqe.opcode(), sqe.fctype()));
  }
  const Bytes b(sqe.bytes);
  if (const std::uint16_t recfmt = load_le16(b, kOffRecfmt); recfmt != 0) {
    return make_error(Errc::Unsupported, fmt::format("Connect: RECFMT {} (byte 40) is not 0", recfmt));
  }
  ConnectParams p;
  p.qid = load_le16(b, kOffQid);
  p.sqsize = load_le16(b, kOffSqsize);
  p.cattr = load_u8(b, kOffCattr);
  p.kato_ms = load_le32(b, kOffKato);
  return p;
}

Result<ConnectData> parse_connect_data(Bytes data) {
  if (data.size() != kConnectDataLen) {
    return make_error(data.size() < kConnectDataLen ? Errc::Truncated : Errc::Malformed,
                      fmt::format("Connect data: {} bytes, must be {}", data.size(), kConnectDataLen));
  }
  ConnectData d;
  std::memcpy(d.hostid.data(), data.data() + kOffHostid, d.hostid.size());
  d.cntlid = load_le16(data, kOffCntlid);
  auto sub = parse_nqn(data, kOffSubnqn, "SUBNQN");
  if (!sub) {
    return tl::unexpected(std::move(sub.error()));
  }
  auto host = parse_nqn(data, kOffHostnqn, "HOSTNQN");
  if (!host) {
    return tl::unexpected(std::move(host.error()));
  }
  d.subnqn = std::move(*sub);
  d.hostnqn = std::move(*host);
  return d;
}

Sqe make_property_get(std::uint32_t offset, bool eight_bytes) noexcept {
  Sqe s = fabrics_sqe(nvme_fabrics_type_property_get);
  const MutBytes b(s.bytes);
  store_u8(b, kOffAttrib, eight_bytes ? kAttribSize8 : 0);
  store_le32(b, kOffOfst, offset);
  return s;
}

Sqe make_property_set(std::uint32_t offset, std::uint64_t value, bool eight_bytes) noexcept {
  Sqe s = fabrics_sqe(nvme_fabrics_type_property_set);
  const MutBytes b(s.bytes);
  store_u8(b, kOffAttrib, eight_bytes ? kAttribSize8 : 0);
  store_le32(b, kOffOfst, offset);
  store_le64(b, kOffValue, eight_bytes ? value : (value & 0xFFFFFFFFu));
  return s;
}

Sqe make_disconnect() noexcept {
  Sqe s = fabrics_sqe(nvme_fabrics_type_disconnect);
  store_le16(MutBytes(s.bytes), kOffRecfmt, 0);
  return s;
}

namespace {
Sqe auth_sqe(std::uint8_t fctype, std::uint32_t len, SglDescriptor sgl) noexcept {
  Sqe s = fabrics_sqe(fctype);
  s.set_sgl1(sgl);
  const MutBytes b(s.bytes);
  store_u8(b, kOffSpsp0, 0x01);
  store_u8(b, kOffSpsp1, 0x01);
  store_u8(b, kOffSecp, kSecpDhchap);
  store_le32(b, kOffTlAl, len);
  return s;
}
}  // namespace

Sqe make_auth_send(std::uint32_t tl, std::uint32_t max_icd) noexcept {
  return auth_sqe(nvme_fabrics_type_auth_send, tl, sgl_for_write(tl, max_icd));
}

Sqe make_auth_receive(std::uint32_t al) noexcept {
  return auth_sqe(nvme_fabrics_type_auth_receive, al, SglDescriptor::transport(al));
}

}  // namespace nvmemp::wire

namespace nvmemp::wire {

std::string connect_invalid_param(std::uint32_t dw0) {
  const bool in_data = ((dw0 >> 16) & 1u) != 0;
  const auto off = static_cast<std::size_t>(dw0 & 0xFFFFu);
  const char* field = nullptr;
  if (!in_data) {
    switch (off) {
      case 0: field = "OPCODE"; break;
      case 4: field = "FCTYPE"; break;
      case 24: field = "SGL1"; break;
      case kOffRecfmt: field = "RECFMT"; break;
      case kOffQid: field = "QID"; break;
      case kOffSqsize: field = "SQSIZE"; break;
      case kOffCattr: field = "CATTR"; break;
      case kOffKato: field = "KATO"; break;
      default: break;
    }
    return field != nullptr ? fmt::format("{} (SQE byte {})", field, off)
                            : fmt::format("byte {} of the Connect SQE", off);
  }
  switch (off) {
    case kOffHostid: field = "HOSTID"; break;
    case kOffCntlid: field = "CNTLID"; break;
    case kOffSubnqn: field = "SUBNQN"; break;
    case kOffHostnqn: field = "HOSTNQN"; break;
    default: break;
  }
  return field != nullptr ? fmt::format("{} (Connect data byte {})", field, off)
                          : fmt::format("byte {} of the Connect data", off);
}

std::string connect_status_text(const Status& st, std::uint32_t dw0) {
  std::string text = st.to_string(StatusContext::FabricsCommand);
  if (st.sct() == Status::kSctCommandSpecific && st.sc() == kScConnectInvalidParameters) {
    text += fmt::format(": the controller names {}", connect_invalid_param(dw0));
  }
  return text;
}

}  // namespace nvmemp::wire
