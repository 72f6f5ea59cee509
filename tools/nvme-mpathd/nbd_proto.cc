// NBD server-side codec: export checks, the session's state machine, and transmission request
// parsing. The handshake's steps are in nbd_handshake.cc; what both use (big-endian fields,
// option replies) is in nbd_wire.h.
#include "nbd_proto.h"
#include "nbd_wire.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include <fmt/format.h>


namespace nvmemp::nbd {

static_assert(kCmdFlagFua == 1, "<linux/nbd.h> keeps command flags in the upper half of the type word");
static_assert(kTFlagSendTrim == (1u << 5) && kTFlagCanMultiConn == (1u << 8));
static_assert(kRequestMagic == 0x25609513u && kSimpleReplyMagic == 0x67446698u);

using namespace detail;

namespace {

bool is_pow2(std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

ExportInfo with_defaults(ExportInfo e) {
  if (e.min_block == 0) {
    e.min_block = 1;
  }
  if (e.pref_block == 0) {
    e.pref_block = std::max<std::uint32_t>(e.min_block, 4096);
  }
  if (e.max_block == 0 || e.max_block > kMaxPayload) {
    e.max_block = kMaxPayload - kMaxPayload % e.min_block;
  }
  return e;
}

bool writes_data(std::uint16_t type) {
  return type == kCmdWrite || type == kCmdTrim || type == kCmdWriteZeroes;
}

constexpr std::uint16_t kKnownCmdFlags = kCmdFlagFua | kCmdFlagNoHole | kCmdFlagDf | kCmdFlagReqOne | kCmdFlagFastZero;

// Decides whether a request may reach the device, in the order nbdkit and the spec's error
// section suggest: the command, read-only, flags, negotiated features, length, range, alignment.
void validate(Request& r, const ExportInfo& e, bool negotiated) {
  auto refuse = [&r](std::uint32_t error, const char* reason) {
    r.error = error;
    r.reason = reason;
  };
  const std::uint16_t tf = transmission_flags(e);
  switch (r.type) {
    case kCmdRead:
    case kCmdWrite:
    case kCmdFlush:
    case kCmdTrim:
    case kCmdWriteZeroes:
      break;
    default:
      // CACHE and BLOCK_STATUS included: never announced, so unknown to this client.
      return refuse(kEInval, "unknown or unsupported command");
  }
  if (e.read_only && writes_data(r.type)) {
    return refuse(kEPerm, "write to a read-only export");
  }
  if ((r.flags & ~kKnownCmdFlags) != 0) {
    return refuse(kEInval, "unknown command flag");
  }
  if ((r.flags & kCmdFlagFua) != 0 && (tf & kTFlagSendFua) == 0) {
    return refuse(kEInval, "FUA flag without NBD_FLAG_SEND_FUA");
  }
  if ((r.flags & kCmdFlagNoHole) != 0 && r.type != kCmdWriteZeroes) {
    return refuse(kEInval, "NO_HOLE flag on a command other than WRITE_ZEROES");
  }
  if ((r.flags & kCmdFlagFastZero) != 0) {
    return refuse(kEInval, "FAST_ZERO flag without NBD_FLAG_SEND_FAST_ZERO");
  }
  if ((r.flags & kCmdFlagDf) != 0) {
    return refuse(kEInval, "DF flag without structured replies");
  }
  if ((r.flags & kCmdFlagReqOne) != 0) {
    return refuse(kEInval, "REQ_ONE flag on a command other than BLOCK_STATUS");
  }
  if (r.type == kCmdFlush) {
    if ((tf & kTFlagSendFlush) == 0) {
      return refuse(kEInval, "FLUSH without NBD_FLAG_SEND_FLUSH");
    }
    if (r.offset != 0 || r.length != 0) {
      return refuse(kEInval, "FLUSH with a non-zero offset or length");
    }
    return;
  }
  if (r.type == kCmdTrim && (tf & kTFlagSendTrim) == 0) {
    return refuse(kEInval, "TRIM without NBD_FLAG_SEND_TRIM");
  }
  if (r.type == kCmdWriteZeroes && (tf & kTFlagSendWriteZeroes) == 0) {
    return refuse(kEInval, "WRITE_ZEROES without NBD_FLAG_SEND_WRITE_ZEROES");
  }
  // The maximum block size binds the commands with a payload. TRIM and WRITE_ZEROES carry
  // none, and the daemon splits them, so they are not refused for length (a SHOULD we relax).
  if ((r.type == kCmdRead || r.type == kCmdWrite) && r.length > e.max_block) {
    return refuse(kEInval, "length above the maximum block size");
  }
  if (r.offset > e.size || r.length > e.size - r.offset) {
    // The spec: ENOSPC for writes past the end, EINVAL for reads and trims.
    const bool write = r.type == kCmdWrite || r.type == kCmdWriteZeroes;
    return refuse(write ? kENoSpc : kEInval, "beyond the end of the export");
  }
  if (r.offset % e.min_block != 0 || r.length % e.min_block != 0) {
    if (negotiated) {
      return refuse(kEInval, "not aligned to the minimum block size the client agreed to");
    }
    r.unaligned = true;
  }
}

}  // namespace

// ---- Exports ----------------------------------------------------------------------------

Result<void> validate_export(const ExportInfo& e) {
  auto bad = [&e](std::string what) {
    return make_error(Errc::InvalidArgument, fmt::format("NBD export '{}': {}", printable(e.name), what));
  };
  if (e.name.size() > kMaxStringLen || e.name.find('\0') != std::string::npos) {
    return bad("the name must be at most 4096 bytes without NUL");
  }
  if (e.description.size() > kMaxStringLen || e.description.find('\0') != std::string::npos) {
    return bad("the description must be at most 4096 bytes without NUL");
  }
  if (e.min_block != 0 && (!is_pow2(e.min_block) || e.min_block > 65536)) {
    return bad(fmt::format("minimum block size {} must be a power of 2 of at most 65536", e.min_block));
  }
  const ExportInfo d = with_defaults(e);
  if (!is_pow2(d.pref_block) || d.pref_block < std::max<std::uint32_t>(d.min_block, 512)) {
    return bad(fmt::format("preferred block size {} must be a power of 2 of at least max(minimum {}, 512)",
                           d.pref_block, d.min_block));
  }
  if (d.max_block % d.min_block != 0) {
    return bad(fmt::format("maximum block size {} must be a multiple of the minimum {}", d.max_block, d.min_block));
  }
  if (d.max_block < std::min<std::uint64_t>(d.pref_block, d.size)) {
    return bad(fmt::format("maximum block size {} is below the preferred {} (and the size {})", d.max_block,
                           d.pref_block, d.size));
  }
  if (d.size % d.min_block != 0) {
    return bad(fmt::format("size {} is not a multiple of the minimum block size {}", d.size, d.min_block));
  }
  return {};
}

std::uint16_t transmission_flags(const ExportInfo& e) {
  std::uint16_t f = kTFlagHasFlags;
  if (e.read_only) {
    f |= kTFlagReadOnly;
  }
  if (e.can_flush) {
    f |= kTFlagSendFlush;
  }
  // Write-side features are not announced on a read-only export (as nbdkit does): the client
  // then never sends them, and a WRITE/TRIM/WRITE_ZEROES it sends anyway gets EPERM.
  if (!e.read_only) {
    if (e.can_fua) {
      f |= kTFlagSendFua;
    }
    if (e.can_trim) {
      f |= kTFlagSendTrim;
    }
    if (e.can_write_zeroes) {
      f |= kTFlagSendWriteZeroes;
    }
  }
  if (e.can_multi_conn) {
    f |= kTFlagCanMultiConn;
  }
  return f;
}

// ---- ServerSession ----------------------------------------------------------------------

ServerSession::ServerSession(std::vector<ExportInfo> exports) {
  exports_.reserve(exports.size());
  for (auto& e : exports) {
    exports_.push_back(with_defaults(std::move(e)));
  }
}

std::vector<std::uint8_t> ServerSession::greeting() const {
  std::vector<std::uint8_t> g;
  g.reserve(kGreetingLen);
  put_be64(g, kNbdMagic);
  put_be64(g, kIHaveOpt);
  put_be16(g, kFlagFixedNewstyle | kFlagNoZeroes);
  return g;
}

const ExportInfo* ServerSession::selected_export() const noexcept {
  return has_selected_ ? &exports_[selected_] : nullptr;
}

const ExportInfo* ServerSession::find_export(std::string_view name) const {
  if (name.empty()) {
    return exports_.empty() ? nullptr : &exports_.front();
  }
  for (const auto& e : exports_) {
    if (e.name == name) {
      return &e;
    }
  }
  return nullptr;
}

void ServerSession::start_transmission(std::size_t index, bool negotiated) {
  selected_ = index;
  has_selected_ = true;
  block_sizes_negotiated_ = negotiated;
  phase_ = Phase::Transmission;
  state_ = State::ReqHeader;
  opt_data_ = {};  // the handshake buffer is not needed any more
}

Result<void> ServerSession::fail(Errc code, std::string message) {
  failed_ = true;
  error_ = Error{code, std::move(message)};
  phase_ = Phase::Closed;
  state_ = State::Done;
  return tl::unexpected(error_);
}

Result<void> ServerSession::feed(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& out,
                                 std::vector<Request>& requests) {
  if (failed_) {
    return tl::unexpected(error_);
  }
  std::size_t pos = 0;
  // Items that need no more bytes (an empty option, a WRITE of length 0) are finished by the
  // handler of their header, so the loop only ever waits for input.
  while (phase_ != Phase::Closed && pos < bytes.size()) {
    const auto rest = bytes.subspan(pos);
    std::size_t n = 0;
    switch (state_) {
      case State::ClientFlags:
      case State::OptHeader:
      case State::ReqHeader: {
        const std::size_t need = state_ == State::ClientFlags ? 4
                                 : state_ == State::OptHeader ? kOptHeaderLen
                                                              : kRequestHeaderLen;
        if (hdr_have_ == 0) {
          item_start_ = consumed_;
        }
        n = std::min(need - hdr_have_, rest.size());
        std::memcpy(hdr_ + hdr_have_, rest.data(), n);
        hdr_have_ += n;
        pos += n;
        consumed_ += n;
        if (hdr_have_ < need) {
          break;
        }
        hdr_have_ = 0;
        Result<void> r = state_ == State::ClientFlags ? on_client_flags()
                         : state_ == State::OptHeader ? on_option_header(out)
                                                      : on_request_header(requests);
        if (!r) {
          return r;
        }
        break;
      }
      case State::OptData: {
        n = std::min<std::size_t>(opt_len_ - opt_data_.size(), rest.size());
        opt_data_.insert(opt_data_.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n));
        pos += n;
        consumed_ += n;
        if (opt_data_.size() == opt_len_) {
          if (auto r = on_option(out); !r) {
            return r;
          }
        }
        break;
      }
      case State::OptSkip:
      case State::WriteSkip: {
        n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_left_, rest.size()));
        skip_left_ -= n;
        pos += n;
        consumed_ += n;
        if (skip_left_ != 0) {
          break;
        }
        if (state_ == State::OptSkip) {
          option_error(out, opt_, kRepErrTooBig,
                       fmt::format("{} with {} bytes of data: this server takes at most {}", option_name(opt_),
                                   opt_len_, kMaxOptionData));
          state_ = State::OptHeader;
        } else {
          requests.push_back(std::move(pending_));
          pending_ = Request{};
          state_ = State::ReqHeader;
        }
        break;
      }
      case State::WriteData: {
        n = std::min<std::size_t>(pending_.length - pending_.data.size(), rest.size());
        pending_.data.insert(pending_.data.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n));
        pos += n;
        consumed_ += n;
        if (pending_.data.size() == pending_.length) {
          requests.push_back(std::move(pending_));
          pending_ = Request{};
          state_ = State::ReqHeader;
        }
        break;
      }
      case State::Done:
        return {};
    }
  }
  return {};
}
Result<void> ServerSession::on_request_header(std::vector<Request>& requests) {
  const std::uint32_t magic = get_be32(hdr_);
  if (magic != kRequestMagic) {
    return fail(Errc::Malformed, fmt::format("NBD request at byte {}: magic {:#010x} is not NBD_REQUEST_MAGIC "
                                             "{:#010x}; the stream is out of step",
                                             item_start_, magic, kRequestMagic));
  }
  Request r;
  r.flags = get_be16(hdr_ + 4);
  r.type = get_be16(hdr_ + 6);
  r.cookie = get_be64(hdr_ + 8);
  r.offset = get_be64(hdr_ + 16);
  r.length = get_be32(hdr_ + 24);
  if (r.type == kCmdDisc) {
    // Soft disconnect: no reply; the caller answers what is in flight and closes.
    phase_ = Phase::Closed;
    state_ = State::Done;
    return {};
  }
  validate(r, exports_[selected_], block_sizes_negotiated_);
  if (r.type != kCmdWrite || r.length == 0) {
    requests.push_back(std::move(r));
    return {};
  }
  if (r.length > kMaxPayload) {
    // The spec lets either side hard-disconnect on a payload this large (2^25 and above).
    return fail(Errc::Protocol, fmt::format("NBD request at byte {}: NBD_CMD_WRITE of {} bytes; this server takes "
                                            "at most {} in one request",
                                            item_start_, r.length, kMaxPayload));
  }
  pending_ = std::move(r);
  if (pending_.error == 0) {
    pending_.data.reserve(pending_.length);  // at most max_block <= kMaxPayload
    state_ = State::WriteData;
  } else {
    skip_left_ = pending_.length;  // a refused WRITE's payload still follows: drop it
    state_ = State::WriteSkip;
  }
  return {};
}

}  // namespace nvmemp::nbd
