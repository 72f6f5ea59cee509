// NBD server-side codec: handshake (fixed newstyle) and transmission request parsing.
#include "nbd_proto.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include <fmt/format.h>


namespace nvmemp::nbd {

static_assert(kCmdFlagFua == 1, "<linux/nbd.h> keeps command flags in the upper half of the type word");
static_assert(kTFlagSendTrim == (1u << 5) && kTFlagCanMultiConn == (1u << 8));
static_assert(kRequestMagic == 0x25609513u && kSimpleReplyMagic == 0x67446698u);

namespace {

// NBD is big-endian on the wire (bytes.h has only the little-endian NVMe helpers).
void put_be16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put_be32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(v >> shift));
  }
}
void put_be64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  put_be32(out, static_cast<std::uint32_t>(v >> 32));
  put_be32(out, static_cast<std::uint32_t>(v));
}
void put_bytes(std::vector<std::uint8_t>& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

std::uint16_t get_be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t get_be32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | p[3];
}
std::uint64_t get_be64(const std::uint8_t* p) {
  return (static_cast<std::uint64_t>(get_be32(p)) << 32) | get_be32(p + 4);
}

void option_reply(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint32_t type,
                  std::string_view data = {}) {
  put_be64(out, kOptReplyMagic);
  put_be32(out, option);
  put_be32(out, type);
  put_be32(out, static_cast<std::uint32_t>(data.size()));
  put_bytes(out, data);
}

// Error replies carry a message for the user; the spec caps strings at 4096 bytes.
void option_error(std::vector<std::uint8_t>& out, std::uint32_t option, std::uint32_t type, std::string message) {
  if (message.size() > kMaxStringLen) {
    message.resize(kMaxStringLen);
  }
  option_reply(out, option, type, message);
}

// Client-supplied names go into messages: keep them short and printable.
std::string printable(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (s.size() > kMax) {
    out += "...";
  }
  return out;
}

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

Result<void> ServerSession::on_client_flags() {
  client_flags_ = get_be32(hdr_);
  if ((client_flags_ & ~(kClientFlagFixedNewstyle | kClientFlagNoZeroes)) != 0) {
    // The spec: the server MUST drop the connection on an unknown client flag.
    return fail(Errc::Protocol, fmt::format("NBD handshake: client flags {:#x} at byte {} set bits the server did "
                                            "not offer (only FIXED_NEWSTYLE 0x1 and NO_ZEROES 0x2 exist)",
                                            client_flags_, item_start_));
  }
  if ((client_flags_ & kClientFlagFixedNewstyle) == 0) {
    return fail(Errc::Protocol, fmt::format("NBD handshake: client flags {:#x} at byte {} lack "
                                            "NBD_FLAG_C_FIXED_NEWSTYLE; this server speaks fixed newstyle only",
                                            client_flags_, item_start_));
  }
  state_ = State::OptHeader;
  return {};
}

Result<void> ServerSession::on_option_header(std::vector<std::uint8_t>& out) {
  const std::uint64_t magic = get_be64(hdr_);
  if (magic != kIHaveOpt) {
    return fail(Errc::Malformed, fmt::format("NBD handshake: option header at byte {} starts with {:#018x}, not "
                                             "IHAVEOPT {:#018x}",
                                             item_start_, magic, kIHaveOpt));
  }
  opt_ = get_be32(hdr_ + 8);
  opt_len_ = get_be32(hdr_ + 12);
  if (++options_seen_ > kMaxOptions) {
    return fail(Errc::Protocol, fmt::format("NBD handshake: more than {} options (the last, {} at byte {}); "
                                            "closing as the spec allows against a denial of service",
                                            kMaxOptions, option_name(opt_), item_start_));
  }
  if (opt_ == kOptExportName && opt_len_ > kMaxStringLen) {
    // NBD_OPT_EXPORT_NAME has no error reply: the spec's only answer is to close.
    return fail(Errc::Protocol, fmt::format("NBD handshake: NBD_OPT_EXPORT_NAME at byte {} names an export of {} "
                                            "bytes; names are at most {}",
                                            item_start_, opt_len_, kMaxStringLen));
  }
  if (opt_len_ > kMaxOptionData) {
    // Dropped as it arrives, never buffered, then answered NBD_REP_ERR_TOO_BIG.
    skip_left_ = opt_len_;
    state_ = State::OptSkip;
    return {};
  }
  opt_data_.clear();
  if (opt_len_ == 0) {
    return on_option(out);
  }
  state_ = State::OptData;
  return {};
}

Result<void> ServerSession::on_option(std::vector<std::uint8_t>& out) {
  state_ = State::OptHeader;
  const std::string_view data(reinterpret_cast<const char*>(opt_data_.data()), opt_data_.size());
  switch (opt_) {
    case kOptExportName: {
      const ExportInfo* e = find_export(data);
      if (e == nullptr) {
        return fail(Errc::NotFound, fmt::format("NBD handshake: NBD_OPT_EXPORT_NAME at byte {} asks for export '{}', "
                                                "which does not exist; this option has no error reply, so the "
                                                "connection closes",
                                                item_start_, printable(data)));
      }
      put_be64(out, e->size);
      put_be16(out, transmission_flags(*e));
      if (!client_no_zeroes()) {
        out.insert(out.end(), kExportNameReplyZeroes, 0);
      }
      start_transmission(static_cast<std::size_t>(e - exports_.data()), false);
      return {};
    }
    case kOptAbort:
      // Any data is ignored, as the spec asks.
      option_reply(out, opt_, kRepAck);
      phase_ = Phase::Closed;
      state_ = State::Done;
      return {};
    case kOptList:
      if (!data.empty()) {
        option_error(out, opt_, kRepErrInvalid, "NBD_OPT_LIST takes no data");
        return {};
      }
      for (const auto& e : exports_) {
        std::vector<std::uint8_t> server;
        put_be32(server, static_cast<std::uint32_t>(e.name.size()));
        put_bytes(server, e.name);
        put_bytes(server, e.description);
        option_reply(out, opt_, kRepServer,
                     std::string_view(reinterpret_cast<const char*>(server.data()), server.size()));
      }
      option_reply(out, opt_, kRepAck);
      return {};
    case kOptStartTls:
      option_error(out, opt_, kRepErrUnsup, "TLS is not supported by this server");
      return {};
    case kOptInfo:
    case kOptGo:
      on_info_or_go(out);
      return {};
    default:
      // Structured replies, extended headers, meta contexts and unknown options.
      option_error(out, opt_, kRepErrUnsup, fmt::format("option {} ({}) is not supported", opt_, option_name(opt_)));
      return {};
  }
}

void ServerSession::on_info_or_go(std::vector<std::uint8_t>& out) {
  const std::uint8_t* d = opt_data_.data();
  const std::size_t len = opt_data_.size();
  // Data: 32-bit name length, name, 16-bit count, 16-bit info requests.
  if (len < 6) {
    option_error(out, opt_, kRepErrInvalid,
                 fmt::format("{} data of {} bytes is shorter than the 6 of an empty request", option_name(opt_), len));
    return;
  }
  const std::uint32_t name_len = get_be32(d);
  if (name_len > len - 6) {
    option_error(out, opt_, kRepErrInvalid,
                 fmt::format("{}: name length {} overruns the {} bytes of option data", option_name(opt_), name_len,
                             len));
    return;
  }
  const std::uint16_t nreq = get_be16(d + 4 + name_len);
  if (len != 4 + std::size_t{name_len} + 2 + 2 * std::size_t{nreq}) {
    option_error(out, opt_, kRepErrInvalid,
                 fmt::format("{}: option length {} does not match a name of {} bytes and {} information requests",
                             option_name(opt_), len, name_len, nreq));
    return;
  }
  if (name_len > kMaxStringLen) {
    option_error(out, opt_, kRepErrInvalid,
                 fmt::format("{}: export name of {} bytes; names are at most {}", option_name(opt_), name_len,
                             kMaxStringLen));
    return;
  }
  const std::string_view name(reinterpret_cast<const char*>(d + 4), name_len);
  bool want_name = false;
  bool want_description = false;
  bool want_block_size = false;
  for (std::size_t i = 0; i < nreq; ++i) {
    switch (get_be16(d + 4 + name_len + 2 + 2 * i)) {
      case kInfoName:
        want_name = true;
        break;
      case kInfoDescription:
        want_description = true;
        break;
      case kInfoBlockSize:
        want_block_size = true;
        break;
      default:
        break;  // NBD_INFO_EXPORT is always sent; unknown requests are ignored (spec)
    }
  }
  const ExportInfo* e = find_export(name);
  if (e == nullptr) {
    option_error(out, opt_, kRepErrUnknown, fmt::format("no export named '{}'", printable(name)));
    return;
  }
  std::vector<std::uint8_t> info;
  auto send_info = [&] {
    option_reply(out, opt_, kRepInfo, std::string_view(reinterpret_cast<const char*>(info.data()), info.size()));
    info.clear();
  };
  put_be16(info, kInfoExport);
  put_be64(info, e->size);
  put_be16(info, transmission_flags(*e));
  send_info();
  if (want_name) {
    put_be16(info, kInfoName);
    put_bytes(info, e->name);
    send_info();
  }
  if (want_description && !e->description.empty()) {
    put_be16(info, kInfoDescription);
    put_bytes(info, e->description);
    send_info();
  }
  // Block sizes go out whether asked for or not (the spec allows unrequested information and
  // libnbd/qemu use it); only a GO that asked binds the client to them.
  put_be16(info, kInfoBlockSize);
  put_be32(info, e->min_block);
  put_be32(info, e->pref_block);
  put_be32(info, e->max_block);
  send_info();
  option_reply(out, opt_, kRepAck);
  if (opt_ == kOptGo) {
    start_transmission(static_cast<std::size_t>(e - exports_.data()), want_block_size);
  }
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
