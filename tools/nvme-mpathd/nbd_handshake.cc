// NBD server-side codec, the handshake (fixed newstyle): the client flags, option headers and
// the options themselves (EXPORT_NAME, ABORT, LIST, STARTTLS, INFO and GO). The state machine
// that feeds them, and the transmission phase, are in nbd_proto.cc.
#include "nbd_proto.h"
#include "nbd_wire.h"

#include <string_view>

#include <fmt/format.h>

namespace nvmemp::nbd {

using namespace detail;

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
}  // namespace nvmemp::nbd
