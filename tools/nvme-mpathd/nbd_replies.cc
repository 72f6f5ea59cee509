// NBD server side: the replies, and the mapping of NVMe and library errors to NBD errors
// (the codec proper is nbd_proto.cc).
#include "nbd_proto.h"

#include "wire/libnvme_types.h"

namespace nvmemp::nbd {

void encode_simple_reply_header(std::uint32_t error, std::uint64_t cookie,
                                std::span<std::uint8_t, kSimpleReplyHeaderLen> out) {
  auto put = [&out](std::size_t off, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) {
      out[off + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * (bytes - 1 - i)));
    }
  };
  put(0, kSimpleReplyMagic, 4);
  put(4, error, 4);
  put(8, cookie, 8);
}

void encode_simple_reply(std::uint32_t error, std::uint64_t cookie, std::span<const std::uint8_t> data,
                         std::vector<std::uint8_t>& out) {
  const std::size_t at = out.size();
  out.resize(at + kSimpleReplyHeaderLen);
  encode_simple_reply_header(error, cookie, std::span<std::uint8_t, kSimpleReplyHeaderLen>(out.data() + at,
                                                                                         kSimpleReplyHeaderLen));
  if (error == 0) {
    out.insert(out.end(), data.begin(), data.end());
  }
}

std::uint32_t error_from_status(Status status, std::uint16_t cmd_type) {
  if (status.ok()) {
    return 0;
  }
  const bool write = cmd_type == kCmdWrite || cmd_type == kCmdWriteZeroes;
  switch (status.sct()) {
    case Status::kSctGeneric:
      switch (status.sc()) {
        case NVME_SC_LBA_RANGE:
        case NVME_SC_CAP_EXCEEDED:
          return write ? kENoSpc : kEInval;
        case NVME_SC_NS_WRITE_PROTECTED:
        case NVME_SC_RESERVATION_CONFLICT:
        case NVME_SC_OP_DENIED:
          return kEPerm;
        case NVME_SC_INVALID_OPCODE:
        case NVME_SC_INVALID_FIELD:
        case NVME_SC_INVALID_NS:
          return kEInval;
        default:
          return kEIo;  // internal, transport, aborts, namespace not ready, ...
      }
    case Status::kSctCommandSpecific:
      switch (status.sc()) {
        case NVME_SC_READ_ONLY:
          return kEPerm;
        case NVME_SC_BAD_ATTRIBUTES:
        case NVME_SC_INVALID_PI:
        case NVME_SC_CMD_SIZE_LIMIT_EXCEEDED:
          return kEInval;
        default:
          return kEIo;
      }
    case Status::kSctMedia:
      return status.sc() == NVME_SC_ACCESS_DENIED ? kEPerm : kEIo;
    default:
      return kEIo;  // path errors left after multipath gave up, vendor specific
  }
}

std::uint32_t error_from_errc(Errc code, std::uint16_t cmd_flags) {
  switch (code) {
    case Errc::InvalidArgument:
    case Errc::Malformed:
      return kEInval;
    case Errc::Unsupported:
      return (cmd_flags & kCmdFlagFastZero) != 0 ? kENotSup : kEInval;
    default:
      return kEIo;
  }
}

const char* command_name(std::uint16_t type) {
  switch (type) {
    case kCmdRead: return "NBD_CMD_READ";
    case kCmdWrite: return "NBD_CMD_WRITE";
    case kCmdDisc: return "NBD_CMD_DISC";
    case kCmdFlush: return "NBD_CMD_FLUSH";
    case kCmdTrim: return "NBD_CMD_TRIM";
    case kCmdCache: return "NBD_CMD_CACHE";
    case kCmdWriteZeroes: return "NBD_CMD_WRITE_ZEROES";
    case kCmdBlockStatus: return "NBD_CMD_BLOCK_STATUS";
    default: return "unknown";
  }
}

const char* option_name(std::uint32_t option) {
  switch (option) {
    case kOptExportName: return "NBD_OPT_EXPORT_NAME";
    case kOptAbort: return "NBD_OPT_ABORT";
    case kOptList: return "NBD_OPT_LIST";
    case kOptStartTls: return "NBD_OPT_STARTTLS";
    case kOptInfo: return "NBD_OPT_INFO";
    case kOptGo: return "NBD_OPT_GO";
    case kOptStructuredReply: return "NBD_OPT_STRUCTURED_REPLY";
    case kOptListMetaContext: return "NBD_OPT_LIST_META_CONTEXT";
    case kOptSetMetaContext: return "NBD_OPT_SET_META_CONTEXT";
    case kOptExtendedHeaders: return "NBD_OPT_EXTENDED_HEADERS";
    default: return "unknown";
  }
}

const char* error_name(std::uint32_t error) {
  switch (error) {
    case 0: return "success";
    case kEPerm: return "NBD_EPERM";
    case kEIo: return "NBD_EIO";
    case kENoMem: return "NBD_ENOMEM";
    case kEInval: return "NBD_EINVAL";
    case kENoSpc: return "NBD_ENOSPC";
    case kEOverflow: return "NBD_EOVERFLOW";
    case kENotSup: return "NBD_ENOTSUP";
    case kEShutdown: return "NBD_ESHUTDOWN";
    default: return "unknown";
  }
}

}  // namespace nvmemp::nbd
