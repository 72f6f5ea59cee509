#include "nbd_connection.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "common/iov_gather.h"
#include "common/log.h"

namespace nvmemp::mpathd {

namespace {
constexpr std::uint32_t kMaxWriteZeroesBlocks = 65536;  // NLB is 16 bits, 0's based
}  // namespace

// One NBD request being served. Its NVMe commands cover blocks [slba, slba + nlb); `next` of
// them are submitted, `inflight` commands are outstanding.
struct NbdConnection::Op {
  enum class Io : std::uint8_t { Read, Write, WriteZeroes, Trim, Flush };
  NbdConnection* conn = nullptr;
  nbd::Request req;
  Io io = Io::Read;
  std::uint64_t slba = 0;
  std::uint32_t nlb = 0;            // blocks (1 for a Flush: one command)
  std::uint32_t next = 0;
  unsigned inflight = 0;
  std::vector<std::uint8_t> buf;    // READ data, WRITE payload, or the read-modify-write blocks
  std::size_t skip = 0;             // bytes of buf before the part the client asked for
  bool rmw = false;                 // reading the covering blocks of an unaligned write
  bool exclusive = false;           // runs alone (read-modify-write)
  bool fua = false;
  std::uint32_t error = 0;
  std::string why;
};

NbdConnection::NbdConnection(IoContext& io, std::vector<ExportTarget> exports, std::string peer,
                             std::function<void(NbdConnection*)> on_gone)
    : io_(io), exports_(std::move(exports)), peer_(std::move(peer)), on_gone_(std::move(on_gone)), session_([&] {
        std::vector<nbd::ExportInfo> infos;
        for (const auto& e : exports_) infos.push_back(e.info);
        return infos;
      }()) {}

NbdConnection::~NbdConnection() = default;

void NbdConnection::start() { send(TxItem{session_.greeting(), {}, 0, 0}); }

void NbdConnection::send(TxItem item) {
  if (closed_ || item.size() == 0) return;
  tx_.push_back(std::move(item));
}

Result<void> NbdConnection::on_receive(std::span<const std::uint8_t> bytes) {
  out_.clear();
  requests_.clear();
  auto fed = session_.feed(bytes, out_, requests_);
  if (!out_.empty()) send(TxItem{std::move(out_), {}, 0, 0});
  out_ = {};
  if (target_ == nullptr && session_.selected_export() != nullptr) {
    for (const auto& e : exports_) {
      if (e.info.name == session_.selected_export()->name) target_ = &e;
    }
    if (target_ != nullptr) {
      log(LogLevel::Info, "nbd: {} uses export {} ({} bytes, block size {}{})", peer_, target_->info.name,
          target_->info.size, target_->block_size,
          session_.block_sizes_negotiated() ? "" : ", not negotiated: unaligned requests read-modify-write");
    }
  }
  for (auto& r : requests_) handle(std::move(r));
  requests_.clear();
  pump();
  if (!fed) {
    return make_error(fed.error().code, fmt::format("nbd client {}: {}", peer_, fed.error().message));
  }
  return {};
}

void NbdConnection::handle(nbd::Request&& req) {
  auto op = std::make_unique<Op>();
  op->conn = this;
  op->req = std::move(req);
  const nbd::Request& r = op->req;
  if (r.error != 0 || shutting_down_ || target_ == nullptr) {
    op->error = r.error != 0 ? r.error : nbd::kEShutdown;
    op->why = r.error != 0 ? r.reason : "the daemon is stopping";
    reply(*op);
    return;
  }
  const std::uint64_t bs = target_->block_size;
  const std::uint64_t first = r.offset / bs;
  const std::uint64_t end = (r.offset + r.length + bs - 1) / bs;
  const bool aligned = r.offset % bs == 0 && r.length % bs == 0;
  op->fua = r.fua();
  op->slba = first;
  op->nlb = static_cast<std::uint32_t>(end - first);
  op->skip = static_cast<std::size_t>(r.offset - first * bs);
  if (r.type != nbd::kCmdFlush && r.length == 0) {
    reply(*op);  // legal, and nothing to do
    return;
  }
  switch (r.type) {
    case nbd::kCmdRead:
      op->io = Op::Io::Read;
      op->buf.resize(static_cast<std::size_t>(op->nlb * bs));
      break;
    case nbd::kCmdWrite:
    case nbd::kCmdWriteZeroes:
      if (aligned) {
        op->io = r.type == nbd::kCmdWrite ? Op::Io::Write : Op::Io::WriteZeroes;
        if (r.type == nbd::kCmdWrite) op->buf = std::move(op->req.data);
      } else {
        // Read the covering blocks, patch them, write them back, alone.
        op->io = Op::Io::Read;
        op->rmw = true;
        op->exclusive = true;
        op->buf.resize(static_cast<std::size_t>(op->nlb * bs));
      }
      break;
    case nbd::kCmdTrim: {
      // Only whole blocks can be deallocated; the spec lets a TRIM do less than asked.
      const std::uint64_t a = (r.offset + bs - 1) / bs;
      const std::uint64_t b = (r.offset + r.length) / bs;
      if (b <= a) {
        reply(*op);
        return;
      }
      op->io = Op::Io::Trim;
      op->slba = a;
      op->nlb = static_cast<std::uint32_t>(b - a);
      break;
    }
    case nbd::kCmdFlush:
      op->io = Op::Io::Flush;
      op->nlb = 1;
      break;
    default:
      op->error = nbd::kEInval;
      op->why = "command not supported";
      reply(*op);
      return;
  }
  queued_bytes_ += op->req.data.size() + op->buf.size();
  queue_.push_back(std::move(op));
}

bool NbdConnection::submit_more(Op& op) {
  const std::uint32_t bs = target_->block_size;
  while (op.next < op.nlb && chunks_inflight_ < kWindow) {
    std::uint32_t n = op.nlb - op.next;
    switch (op.io) {
      case Op::Io::Read:
      case Op::Io::Write: n = std::min(n, std::max<std::uint32_t>(1, target_->max_transfer / bs)); break;
      case Op::Io::WriteZeroes: n = std::min(n, kMaxWriteZeroesBlocks); break;
      case Op::Io::Trim:
      case Op::Io::Flush: break;
    }
    const std::uint64_t slba = op.slba + op.next;
    const std::size_t off = static_cast<std::size_t>(op.next) * bs;
    const std::size_t len = static_cast<std::size_t>(n) * bs;
    Result<void> r;
    switch (op.io) {
      case Op::Io::Read: r = io_.read(target_->head, slba, n, std::span(op.buf).subspan(off, len), chunk_done, &op); break;
      case Op::Io::Write: {
        const auto data = std::span<const std::uint8_t>(op.buf).subspan(off, len);
        r = op.fua ? io_.write_fua(target_->head, slba, n, data, chunk_done, &op)
                   : io_.write(target_->head, slba, n, data, chunk_done, &op);
        break;
      }
      case Op::Io::WriteZeroes: r = io_.write_zeroes(target_->head, slba, n, op.fua, chunk_done, &op); break;
      case Op::Io::Trim: r = io_.deallocate(target_->head, slba, n, chunk_done, &op); break;
      case Op::Io::Flush: r = io_.flush(target_->head, chunk_done, &op); break;
    }
    if (!r) {
      // The I/O was refused before it reached a path: nothing more of this request is sent.
      op.error = op.error != 0 ? op.error : nbd::error_from_errc(r.error().code, op.req.flags);
      op.why = r.error().message;
      op.next = op.nlb;
      return true;
    }
    op.next += n;
    ++op.inflight;
    ++chunks_inflight_;
  }
  return op.next >= op.nlb;
}

void NbdConnection::chunk_done(void* arg, const IoResult& r) {
  auto* op = static_cast<Op*>(arg);
  if (op->conn->abandoned_) return;
  op->conn->on_chunk(*op, r);
}

void NbdConnection::on_chunk(Op& op, const IoResult& r) {
  --op.inflight;
  --chunks_inflight_;
  if (!r.status.ok() && op.error == 0) {
    op.error = nbd::error_from_status(r.status, op.req.type);
    op.why = r.error != nullptr ? r.error : r.status.to_string();
  }
  pump();
  if (closed_ && active_.empty() && !gone_reported_) {
    gone_reported_ = true;
    on_gone_(this);  // may destroy this: nothing after it
  }
}

void NbdConnection::pump() {
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < active_.size();) {
      Op& a = *active_[i];
      if (closed_) a.next = a.nlb;  // nobody to answer: send nothing more
      if (a.next < a.nlb) submit_more(a);
      if (a.inflight > 0 || a.next < a.nlb) {
        ++i;
        continue;
      }
      if (a.rmw && a.error == 0 && !closed_) {
        // The covering blocks are in: patch them, then write them back.
        if (a.req.type == nbd::kCmdWrite) {
          std::memcpy(a.buf.data() + a.skip, a.req.data.data(), a.req.length);
        } else {
          std::memset(a.buf.data() + a.skip, 0, a.req.length);
        }
        a.rmw = false;
        a.io = Op::Io::Write;
        a.next = 0;
        changed = true;
        continue;
      }
      if (a.exclusive) exclusive_running_ = false;
      reply(a);
      active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(i));
      changed = true;
    }
    while (!queue_.empty() && !exclusive_running_ && !closed_ && chunks_inflight_ < kWindow) {
      if (queue_.front()->exclusive) {
        if (!active_.empty()) break;  // waits until every earlier request is answered
        exclusive_running_ = true;
      }
      queued_bytes_ -= std::min(queued_bytes_, queue_.front()->req.data.size() + queue_.front()->buf.size());
      active_.push_back(std::move(queue_.front()));
      queue_.pop_front();
      changed = true;
    }
  }
}

void NbdConnection::reply(Op& op) {
  const nbd::Request& r = op.req;
  if (op.error != 0) {
    log(LogLevel::Warn, "nbd: {} export {}: {} offset {} length {}: {} ({})", peer_,
        target_ != nullptr ? target_->info.name : "-", nbd::command_name(r.type), r.offset, r.length,
        nbd::error_name(op.error), op.why);
  }
  if (closed_) return;
  TxItem item;
  item.head.resize(nbd::kSimpleReplyHeaderLen);
  nbd::encode_simple_reply_header(op.error, r.cookie,
                                  std::span<std::uint8_t, nbd::kSimpleReplyHeaderLen>(item.head.data(), item.head.size()));
  if (op.error == 0 && r.type == nbd::kCmdRead) {
    item.body = std::move(op.buf);
    item.body_off = op.skip;
    item.body_len = r.length;
  }
  send(std::move(item));
}

std::size_t NbdConnection::gather(std::span<iovec> out) {
  IovGather g(out, tx_sent_);
  for (const TxItem& t : tx_) {
    if (!g.add(t.head.data(), t.head.size()) || !g.add(t.body.data() + t.body_off, t.body_len)) break;
  }
  return g.count();
}

void NbdConnection::on_sent(std::size_t n) {
  while (n > 0 && !tx_.empty()) {
    const std::size_t left = tx_.front().size() - tx_sent_;
    if (n < left) {
      tx_sent_ += n;
      return;
    }
    n -= left;
    tx_sent_ = 0;
    tx_.pop_front();
  }
}

bool NbdConnection::finished() const noexcept {
  return (shutting_down_ || session_.phase() == nbd::Phase::Closed) && queue_.empty() && active_.empty() &&
         tx_.empty();
}

void NbdConnection::shutdown() {
  shutting_down_ = true;
  for (auto& op : queue_) {
    op->error = nbd::kEShutdown;
    op->why = "the daemon is stopping";
    reply(*op);
  }
  queue_.clear();
  queued_bytes_ = 0;
}

void NbdConnection::on_closed(const std::string& reason) {
  closed_ = true;
  tx_.clear();
  queue_.clear();  // never started: nothing of theirs is outstanding
  queued_bytes_ = 0;
  log(LogLevel::Info, "nbd: {} disconnected ({}){}", peer_, reason,
      active_.empty() ? "" : fmt::format("; waiting for {} request(s) in flight", active_.size()));
  pump();  // drops what cannot be sent any more
  if (active_.empty() && !gone_reported_) {
    gone_reported_ = true;
    on_gone_(this);  // may destroy this: nothing after it
  }
}

}  // namespace nvmemp::mpathd
