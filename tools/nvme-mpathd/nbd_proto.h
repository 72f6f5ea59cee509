// The NBD protocol, server side, as a pure codec: bytes from one client in, bytes to send and
// decoded requests out. No sockets, no threads, nothing throws. The daemon's NBD export owns
// one ServerSession per client connection and does the I/O.
//
// Spec: the NBD protocol document (NetworkBlockDevice/nbd doc/proto.md). Numbers the Linux
// uapi header <linux/nbd.h> defines are taken from it (magics, the five original commands,
// the transmission flags it knows); the rest are the spec's values, defined here.
//
// What this codec does and does not negotiate:
// - fixed newstyle only; the client must set NBD_FLAG_C_FIXED_NEWSTYLE (NO_ZEROES honoured).
// - options: EXPORT_NAME, GO, INFO (INFO_EXPORT always, INFO_BLOCK_SIZE always, INFO_NAME and
//   INFO_DESCRIPTION when asked), LIST, ABORT; STARTTLS and everything else answer
//   NBD_REP_ERR_UNSUP. Structured replies, extended headers and metadata contexts are not
//   negotiated, so every reply is a simple reply.
// - transmission: READ, WRITE, FLUSH, TRIM, WRITE_ZEROES, DISC.
#pragma once

#include <linux/nbd.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nvmemp/result.h"
#include "nvmemp/status.h"

namespace nvmemp::nbd {

// ---- Wire constants ---------------------------------------------------------------------

// Handshake magics and flags.
inline constexpr std::uint64_t kNbdMagic = 0x4e42444d41474943ULL;       // "NBDMAGIC"
inline constexpr std::uint64_t kIHaveOpt = 0x49484156454F5054ULL;       // "IHAVEOPT"
inline constexpr std::uint64_t kOptReplyMagic = 0x3e889045565a9ULL;
inline constexpr std::uint16_t kFlagFixedNewstyle = 1u << 0;            // handshake flags
inline constexpr std::uint16_t kFlagNoZeroes = 1u << 1;
inline constexpr std::uint32_t kClientFlagFixedNewstyle = 1u << 0;      // client flags
inline constexpr std::uint32_t kClientFlagNoZeroes = 1u << 1;

// Options.
inline constexpr std::uint32_t kOptExportName = 1;
inline constexpr std::uint32_t kOptAbort = 2;
inline constexpr std::uint32_t kOptList = 3;
inline constexpr std::uint32_t kOptStartTls = 5;
inline constexpr std::uint32_t kOptInfo = 6;
inline constexpr std::uint32_t kOptGo = 7;
inline constexpr std::uint32_t kOptStructuredReply = 8;
inline constexpr std::uint32_t kOptListMetaContext = 9;
inline constexpr std::uint32_t kOptSetMetaContext = 10;
inline constexpr std::uint32_t kOptExtendedHeaders = 11;

// Option reply types; errors have bit 31 set.
inline constexpr std::uint32_t kRepAck = 1;
inline constexpr std::uint32_t kRepServer = 2;
inline constexpr std::uint32_t kRepInfo = 3;
inline constexpr std::uint32_t kRepErrUnsup = (1u << 31) + 1;
inline constexpr std::uint32_t kRepErrPolicy = (1u << 31) + 2;
inline constexpr std::uint32_t kRepErrInvalid = (1u << 31) + 3;
inline constexpr std::uint32_t kRepErrPlatform = (1u << 31) + 4;
inline constexpr std::uint32_t kRepErrTlsReqd = (1u << 31) + 5;
inline constexpr std::uint32_t kRepErrUnknown = (1u << 31) + 6;
inline constexpr std::uint32_t kRepErrShutdown = (1u << 31) + 7;
inline constexpr std::uint32_t kRepErrBlockSizeReqd = (1u << 31) + 8;
inline constexpr std::uint32_t kRepErrTooBig = (1u << 31) + 9;

// NBD_REP_INFO information types.
inline constexpr std::uint16_t kInfoExport = 0;
inline constexpr std::uint16_t kInfoName = 1;
inline constexpr std::uint16_t kInfoDescription = 2;
inline constexpr std::uint16_t kInfoBlockSize = 3;

// Transmission flags (16 bits, sent with the export size).
inline constexpr std::uint16_t kTFlagHasFlags = NBD_FLAG_HAS_FLAGS;
inline constexpr std::uint16_t kTFlagReadOnly = NBD_FLAG_READ_ONLY;
inline constexpr std::uint16_t kTFlagSendFlush = NBD_FLAG_SEND_FLUSH;
inline constexpr std::uint16_t kTFlagSendFua = NBD_FLAG_SEND_FUA;
inline constexpr std::uint16_t kTFlagSendTrim = NBD_FLAG_SEND_TRIM;
inline constexpr std::uint16_t kTFlagSendWriteZeroes = 1u << 6;
inline constexpr std::uint16_t kTFlagSendDf = 1u << 7;
inline constexpr std::uint16_t kTFlagCanMultiConn = NBD_FLAG_CAN_MULTI_CONN;
inline constexpr std::uint16_t kTFlagSendFastZero = 1u << 11;

// Transmission: request/reply magics, commands, command flags.
inline constexpr std::uint32_t kRequestMagic = NBD_REQUEST_MAGIC;
inline constexpr std::uint32_t kSimpleReplyMagic = NBD_REPLY_MAGIC;
inline constexpr std::uint16_t kCmdRead = NBD_CMD_READ;
inline constexpr std::uint16_t kCmdWrite = NBD_CMD_WRITE;
inline constexpr std::uint16_t kCmdDisc = NBD_CMD_DISC;
inline constexpr std::uint16_t kCmdFlush = NBD_CMD_FLUSH;
inline constexpr std::uint16_t kCmdTrim = NBD_CMD_TRIM;
inline constexpr std::uint16_t kCmdCache = 5;
inline constexpr std::uint16_t kCmdWriteZeroes = 6;
inline constexpr std::uint16_t kCmdBlockStatus = 7;
// <linux/nbd.h> puts command flags in the upper half of a 32-bit type word; on the wire they
// are their own 16-bit field, so FUA is bit 0 of it.
inline constexpr std::uint16_t kCmdFlagFua = NBD_CMD_FLAG_FUA >> 16;
inline constexpr std::uint16_t kCmdFlagNoHole = 1u << 1;
inline constexpr std::uint16_t kCmdFlagDf = 1u << 2;
inline constexpr std::uint16_t kCmdFlagReqOne = 1u << 3;
inline constexpr std::uint16_t kCmdFlagFastZero = 1u << 4;

// Error values of the reply (the spec's fixed set, not the host's errno).
inline constexpr std::uint32_t kEPerm = 1;
inline constexpr std::uint32_t kEIo = 5;
inline constexpr std::uint32_t kENoMem = 12;
inline constexpr std::uint32_t kEInval = 22;
inline constexpr std::uint32_t kENoSpc = 28;
inline constexpr std::uint32_t kEOverflow = 75;
inline constexpr std::uint32_t kENotSup = 95;
inline constexpr std::uint32_t kEShutdown = 108;

// ---- Sizes and limits -------------------------------------------------------------------

inline constexpr std::size_t kGreetingLen = 18;       // NBDMAGIC, IHAVEOPT, 16-bit flags
inline constexpr std::size_t kOptHeaderLen = 16;      // IHAVEOPT, option, length
inline constexpr std::size_t kRequestHeaderLen = 28;
inline constexpr std::size_t kSimpleReplyHeaderLen = 16;
inline constexpr std::size_t kExportNameReplyZeroes = 124;
// The spec caps strings (export names, descriptions, messages) at 4096 bytes.
inline constexpr std::size_t kMaxStringLen = 4096;
// Option data we buffer: a GO/INFO with a maximal name (4 + 4096 + 2) and room for an info
// request list. Longer options are skipped without buffering and answered NBD_REP_ERR_TOO_BIG
// (EXPORT_NAME cannot be answered with an error, so a longer one closes the connection).
inline constexpr std::size_t kMaxOptionData = 8192;
// A client looping on options forever is a denial of service the spec lets us end.
inline constexpr std::size_t kMaxOptions = 256;
// The largest READ/WRITE this codec lets through (2^25: the spec's interoperable maximum,
// which clients SHOULD NOT exceed and servers SHOULD NOT treat as an attack). A WRITE whose
// payload is longer than this closes the connection rather than being buffered or skipped.
inline constexpr std::uint32_t kMaxPayload = 32u * 1024 * 1024;

// ---- Types ------------------------------------------------------------------------------

struct ExportInfo {
  std::string name;         // looked up by NBD_OPT_EXPORT_NAME/GO/INFO; "" = the first export
  std::string description;  // shown by NBD_OPT_LIST and NBD_INFO_DESCRIPTION ("" = none)
  std::uint64_t size = 0;   // bytes
  bool read_only = false;
  bool can_flush = false;   // NBD_FLAG_SEND_FLUSH
  bool can_fua = false;     // NBD_FLAG_SEND_FUA (not announced on a read-only export)
  bool can_trim = false;    // NBD_FLAG_SEND_TRIM (idem)
  bool can_write_zeroes = false;  // NBD_FLAG_SEND_WRITE_ZEROES (idem)
  bool can_multi_conn = false;    // NBD_FLAG_CAN_MULTI_CONN
  // Block size constraints (spec "Block size constraints"); 0 = default: min 1, preferred
  // max(min, 4096), max kMaxPayload. A max above kMaxPayload is announced as kMaxPayload
  // (rounded down to a multiple of min): this codec lets no longer READ/WRITE through.
  std::uint32_t min_block = 0;
  std::uint32_t pref_block = 0;
  std::uint32_t max_block = 0;
};

// Checks an export against the spec's rules (name and description are strings of at most
// 4096 bytes without NUL; min a power of 2 <= 64 KiB; preferred a power of 2 >= max(min, 512);
// max a multiple of min and >= min(preferred, size); size a multiple of min). The daemon calls
// it on its configuration; ServerSession assumes exports that pass it.
Result<void> validate_export(const ExportInfo& e);

// The transmission flags an export is announced with.
std::uint16_t transmission_flags(const ExportInfo& e);

// One decoded transmission request. Every request except DISC needs exactly one reply, with
// its cookie (DISC ends the session instead and is not delivered).
struct Request {
  std::uint16_t flags = 0;   // kCmdFlag*
  std::uint16_t type = 0;    // kCmd*
  std::uint64_t cookie = 0;  // "handle": echo it in the reply
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  // WRITE payload, exactly `length` bytes when error == 0; empty otherwise (the payload of a
  // refused WRITE is consumed and dropped).
  std::vector<std::uint8_t> data;
  // Non-zero: the request is refused and must not reach the device; answer
  // encode_simple_reply(error, cookie) (for a READ: without data). `reason` says why (a static
  // string, for logs).
  std::uint32_t error = 0;
  const char* reason = "";
  // The client did not negotiate block sizes (NBD_OPT_EXPORT_NAME, or NBD_OPT_GO without
  // NBD_INFO_BLOCK_SIZE) and this READ/WRITE/TRIM/WRITE_ZEROES is not aligned to min_block. The
  // spec lets the server either do it (read-modify-write; a TRIM may be shrunk to the aligned
  // part) or refuse it cleanly with NBD_EINVAL; the caller chooses. A client that did negotiate
  // and sends an unaligned request gets error = kEInval here instead.
  bool unaligned = false;
  // A zero length is legal (the spec leaves its effect unspecified and forbids disconnecting):
  // such a READ/WRITE/TRIM/WRITE_ZEROES arrives with error 0; answer it success without I/O.

  bool fua() const noexcept { return (flags & kCmdFlagFua) != 0; }
  friend bool operator==(const Request&, const Request&) = default;
};

enum class Phase { Handshake, Transmission, Closed };

// The server side of one client connection.
class ServerSession {
 public:
  // exports: looked up by name; "" selects the first. May be empty (every lookup fails).
  explicit ServerSession(std::vector<ExportInfo> exports);

  // The server's first message: NBDMAGIC, IHAVEOPT, FIXED_NEWSTYLE|NO_ZEROES.
  std::vector<std::uint8_t> greeting() const;

  // Feeds bytes from the client, in any chunking. Appends bytes to send to `out` (option
  // replies; nothing during transmission: replies come from the caller) and decoded requests
  // to `requests`. An error is a protocol violation that must close the connection (its
  // message names what and where, as a byte offset in the client's stream); it is sticky, the
  // phase becomes Closed, and what was appended before it may still be sent. After
  // NBD_OPT_ABORT or NBD_CMD_DISC the phase is Closed and further bytes are ignored: answer
  // the requests already delivered, send `out`, then close.
  Result<void> feed(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& out,
                    std::vector<Request>& requests);

  Phase phase() const noexcept { return phase_; }
  // The export chosen by NBD_OPT_GO/EXPORT_NAME (nullptr before transmission), with its block
  // sizes as announced (defaults filled in).
  const ExportInfo* selected_export() const noexcept;
  // True when the client asked for NBD_INFO_BLOCK_SIZE in the NBD_OPT_GO that started
  // transmission, and so promised to honour the constraints; false after NBD_OPT_EXPORT_NAME.
  bool block_sizes_negotiated() const noexcept { return block_sizes_negotiated_; }
  bool client_no_zeroes() const noexcept { return (client_flags_ & kClientFlagNoZeroes) != 0; }
  // Bytes of the client's stream consumed so far (error messages count from here).
  std::uint64_t consumed() const noexcept { return consumed_; }

 private:
  enum class State { ClientFlags, OptHeader, OptData, OptSkip, ReqHeader, WriteData, WriteSkip, Done };

  Result<void> fail(Errc code, std::string message);
  Result<void> on_client_flags();
  Result<void> on_option_header(std::vector<std::uint8_t>& out);
  Result<void> on_option(std::vector<std::uint8_t>& out);
  void on_info_or_go(std::vector<std::uint8_t>& out);
  Result<void> on_request_header(std::vector<Request>& requests);
  const ExportInfo* find_export(std::string_view name) const;
  void start_transmission(std::size_t index, bool negotiated);

  std::vector<ExportInfo> exports_;
  Phase phase_ = Phase::Handshake;
  State state_ = State::ClientFlags;
  std::uint8_t hdr_[kRequestHeaderLen] = {};
  std::size_t hdr_have_ = 0;
  std::uint32_t client_flags_ = 0;
  std::uint32_t opt_ = 0;           // option being received
  std::uint32_t opt_len_ = 0;
  std::vector<std::uint8_t> opt_data_;
  std::uint64_t skip_left_ = 0;     // bytes of an oversized option or a refused WRITE to drop
  std::size_t options_seen_ = 0;
  Request pending_;                 // WRITE waiting for its payload
  std::size_t selected_ = 0;
  bool has_selected_ = false;
  bool block_sizes_negotiated_ = false;
  std::uint64_t consumed_ = 0;
  std::uint64_t item_start_ = 0;    // stream offset of the header being handled
  Error error_{};
  bool failed_ = false;
};

// ---- Replies ----------------------------------------------------------------------------

// Appends a simple reply: magic, error, cookie, then `data` only when error == 0 (a READ's
// data; the spec sends no payload with an error, so data is ignored then).
void encode_simple_reply(std::uint32_t error, std::uint64_t cookie, std::span<const std::uint8_t> data,
                         std::vector<std::uint8_t>& out);
// The 16-byte header alone, for sending a READ's data from where it lies (one iovec each).
void encode_simple_reply_header(std::uint32_t error, std::uint64_t cookie,
                                std::span<std::uint8_t, kSimpleReplyHeaderLen> out);

// NBD error for a failed NVMe command of the given NBD command type: LBA out of range and
// capacity exceeded -> ENOSPC for writes (EINVAL for reads and trims), write protection /
// read-only range / access denied / reservation conflict -> EPERM, invalid field/opcode and
// other command errors -> EINVAL, media, path, transport and internal errors -> EIO.
// Success -> 0.
std::uint32_t error_from_status(Status status, std::uint16_t cmd_type);
// NBD error for a library error: Unsupported -> ENOTSUP only for a FAST_ZERO write zeroes
// (the spec allows ENOTSUP nowhere else) and EINVAL otherwise; InvalidArgument/Malformed ->
// EINVAL; the rest (I/O, timeout, protocol, lost namespace) -> EIO. ESHUTDOWN is the caller's
// to send while it shuts down.
std::uint32_t error_from_errc(Errc code, std::uint16_t cmd_flags);

// Names for logs: "NBD_CMD_READ", "NBD_OPT_GO", "NBD_EINVAL"... ("unknown" otherwise).
const char* command_name(std::uint16_t type);
const char* option_name(std::uint32_t option);
const char* error_name(std::uint32_t error);

}  // namespace nvmemp::nbd
