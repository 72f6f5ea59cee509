#include "multipath/block_path.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <fmt/format.h>

namespace nvmemp::multipath {

bool block_path_error(int err) noexcept {
  switch (err) {
    case ENODATA:     // BLK_STS_MEDIUM
    case EILSEQ:      // BLK_STS_PROTECTION
    case EREMOTEIO:   // BLK_STS_TARGET
    case EBADE:       // BLK_STS_NEXUS
    case ENOSPC:      // BLK_STS_NOSPC
    case EOPNOTSUPP:  // BLK_STS_NOTSUPP
      return false;
    default:
      return true;
  }
}

Status block_status(int err) noexcept {
  constexpr bool kDnr = true;
  switch (err) {
    case ENODATA: return Status::from_parts(Status::kSctMedia, 0x81, kDnr);     // Unrecovered Read Error
    case EILSEQ: return Status::from_parts(Status::kSctMedia, 0x82, kDnr);      // End-to-end Guard Check Error
    case EREMOTEIO: return Status::from_parts(Status::kSctGeneric, 0x06, kDnr); // Internal Error
    case EBADE: return Status::from_parts(Status::kSctGeneric, 0x83, kDnr);     // Reservation Conflict
    case ENOSPC: return Status::from_parts(Status::kSctGeneric, 0x81, kDnr);    // Capacity Exceeded
    case EOPNOTSUPP: return Status::from_parts(Status::kSctGeneric, 0x01, kDnr);  // Invalid Command Opcode
    default: return Status::host_path_error();
  }
}

namespace {

class BlockPath;

struct Slot : transport::RawOp {
  BlockPath* owner = nullptr;
  void* user = nullptr;
  std::uint32_t expect = 0;  // bytes a read/write must move
};

class BlockPath final : public PathQueue {
 public:
  BlockPath(transport::Reactor& reactor, const Clock& clock, const BlockPathConfig& cfg, int fd,
            transport::CompletionFn on_complete, void* ctx)
      : reactor_(reactor), clock_(clock), cfg_(cfg), fd_(fd), on_complete_(on_complete), ctx_(ctx),
        slots_(cfg.queue_size == 0 ? 1 : cfg.queue_size) {
    free_.reserve(slots_.size());
    for (std::size_t i = slots_.size(); i-- > 0;) {
      slots_[i].owner = this;
      slots_[i].done = &BlockPath::done_trampoline;
      free_.push_back(static_cast<std::uint16_t>(i));
    }
    last_progress_ = clock_.now();
  }
  ~BlockPath() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Result<std::uint16_t> submit(const PathIo& io) override {
    if (closing_) return make_error(Errc::Protocol, cfg_.name + ": closed");
    if (free_.empty()) return make_error(Errc::Unsupported, cfg_.name + ": queue full");
    const std::uint16_t tag = free_.back();
    Slot& s = slots_[tag];
    const auto off = static_cast<std::uint64_t>(io.slba) * cfg_.block_size;
    const auto len = static_cast<std::uint64_t>(io.nlb) * cfg_.block_size;
    io_uring_sqe* sqe = reactor_.raw_sqe(s);
    s.expect = 0;
    switch (io.op) {
      case IoOp::Read:
        io_uring_prep_read(sqe, fd_, io.read_buf.data(), static_cast<unsigned>(io.read_buf.size()), off);
        s.expect = static_cast<std::uint32_t>(io.read_buf.size());
        break;
      case IoOp::Write:
        io_uring_prep_write(sqe, fd_, io.write_buf.data(), static_cast<unsigned>(io.write_buf.size()), off);
        if (io.fua) sqe->rw_flags = RWF_DSYNC;
        s.expect = static_cast<std::uint32_t>(io.write_buf.size());
        break;
      case IoOp::Flush:
        io_uring_prep_fsync(sqe, fd_, IORING_FSYNC_DATASYNC);
        break;
      case IoOp::WriteZeroes:
        io_uring_prep_fallocate(sqe, fd_, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                                static_cast<off_t>(len));
        break;
      case IoOp::Deallocate:
        io_uring_prep_fallocate(sqe, fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                                static_cast<off_t>(len));
        break;
    }
    free_.pop_back();
    s.user = io.user;
    ++inflight_;
    return tag;
  }
  Result<void> abandon_read(std::uint16_t) override {
    return make_error(Errc::Unsupported, cfg_.name + ": an O_DIRECT read cannot be abandoned (its data goes to "
                                                     "the caller's buffer)");
  }
  bool live() const noexcept override { return !closing_; }
  bool closed() const noexcept override { return closing_ && inflight_ == 0; }
  void close(const std::string&) override { closing_ = true; }
  std::uint32_t inflight() const noexcept override { return inflight_; }
  TimePoint last_progress() const noexcept override { return last_progress_; }
  const std::string& name() const noexcept override { return cfg_.name; }
  void reauthenticate(ReauthFn done) override {
    done(make_error(Errc::Unsupported, cfg_.name + ": a SCSI path has no in-band authentication"));
  }

 private:
  static void done_trampoline(transport::RawOp* op, int res) {
    auto* s = static_cast<Slot*>(op);
    s->owner->done(*s, res);
  }
  void done(Slot& s, int res) {
    last_progress_ = clock_.now();
    transport::Completion c;
    c.user = s.user;
    if (res < 0) {
      c.status = block_status(-res);
    } else if (s.expect != 0 && static_cast<std::uint32_t>(res) != s.expect) {
      // O_DIRECT moves whole blocks: a short transfer means the range ran past the end.
      c.status = Status::from_parts(Status::kSctGeneric, 0x80, true);  // LBA Out of Range
    }
    s.user = nullptr;
    free_.push_back(static_cast<std::uint16_t>(&s - slots_.data()));
    --inflight_;
    on_complete_(ctx_, c);
  }

  transport::Reactor& reactor_;
  const Clock& clock_;
  BlockPathConfig cfg_;
  int fd_;
  transport::CompletionFn on_complete_;
  void* ctx_;
  std::vector<Slot> slots_;
  std::vector<std::uint16_t> free_;
  std::uint32_t inflight_ = 0;
  TimePoint last_progress_{};
  bool closing_ = false;
};

}  // namespace

std::unique_ptr<PathQueue> open_block_path(transport::Reactor& reactor, const Clock& clock,
                                           const BlockPathConfig& cfg, int fd,
                                           transport::CompletionFn on_complete, void* ctx) {
  return std::make_unique<BlockPath>(reactor, clock, cfg, fd, on_complete, ctx);
}

}  // namespace nvmemp::multipath
