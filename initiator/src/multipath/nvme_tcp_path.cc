#include "multipath/nvme_tcp_path.h"

#include <fmt/format.h>

#include "controller/io_queue.h"
#include "wire/sqe.h"

namespace nvmemp::multipath {

namespace {

class NvmeTcpPath final : public PathQueue {
 public:
  NvmeTcpPath(std::string name, std::uint32_t max_icd) : name_(std::move(name)), max_icd_(max_icd) {}

  void set_queue(std::unique_ptr<controller::IoQueue> q) { q_ = std::move(q); }

  Result<std::uint16_t> submit(const PathIo& io) override {
    if (!q_) return make_error(Errc::Protocol, name_ + ": not connected");
    Result<wire::Sqe> sqe = wire::Sqe{};
    const auto len = static_cast<std::uint32_t>(io.op == IoOp::Read ? io.read_buf.size() : io.write_buf.size());
    switch (io.op) {
      case IoOp::Read: sqe = wire::make_read(io.nsid, io.slba, io.nlb, len); break;
      case IoOp::Write: sqe = wire::make_write(io.nsid, io.slba, io.nlb, len, max_icd_, io.fua); break;
      case IoOp::Flush: sqe = wire::make_flush(io.nsid); break;
      case IoOp::WriteZeroes: sqe = wire::make_write_zeroes(io.nsid, io.slba, io.nlb, false, io.fua); break;
      case IoOp::Deallocate: sqe = wire::make_dataset_management_deallocate(io.nsid, 1, max_icd_); break;
    }
    if (!sqe) return tl::unexpected(sqe.error());
    return q_->qp().submit(transport::Command{*sqe, io.read_buf, io.write_buf, io.user, false, Nanos{0}, io.now});
  }
  Result<void> abandon_read(std::uint16_t tag) override {
    if (!q_) return make_error(Errc::Protocol, name_ + ": not connected");
    return q_->qp().abandon_read(tag);
  }
  bool live() const noexcept override { return q_ && q_->live(); }
  bool closed() const noexcept override { return !q_ || q_->closed(); }
  void close(const std::string& why) override {
    if (q_) q_->close(fmt::format("{}: {}", name_, why));
  }
  std::uint32_t inflight() const noexcept override { return q_ ? q_->qp().inflight() : 0; }
  TimePoint last_progress() const noexcept override { return q_ ? q_->last_progress() : TimePoint{}; }
  const std::string& name() const noexcept override { return name_; }
  void reauthenticate(ReauthFn done) override {
    if (q_) {
      q_->reauthenticate(std::move(done));
    } else {
      done(make_error(Errc::Io, name_ + ": not connected"));
    }
  }

 private:
  std::string name_;
  std::uint32_t max_icd_;
  std::unique_ptr<controller::IoQueue> q_;
};

}  // namespace

const char* io_op_name(IoOp op) noexcept {
  switch (op) {
    case IoOp::Read: return "read";
    case IoOp::Write: return "write";
    case IoOp::Flush: return "flush";
    case IoOp::WriteZeroes: return "write zeroes";
    case IoOp::Deallocate: return "deallocate";
  }
  return "?";
}

std::unique_ptr<PathQueue> open_nvme_tcp_path(transport::Reactor& reactor, const Clock& clock,
                                              const NvmeTcpPathConfig& cfg, transport::Connection fd,
                                              transport::CompletionFn on_complete, void* ctx,
                                              std::function<void(const Result<void>&)> on_ready) {
  controller::ControllerOptions co;
  co.endpoint = cfg.endpoint;
  co.subnqn = cfg.subnqn;
  co.host = cfg.host;
  co.queue_size = cfg.queue_size;
  co.hdgst = cfg.hdgst;
  co.ddgst = cfg.ddgst;
  co.dhchap = cfg.dhchap;
  co.connect_timeout = cfg.connect_timeout;
  co.io_timeout = cfg.io_timeout;
  auto path = std::make_unique<NvmeTcpPath>(
      fmt::format("{} @ {} cntlid {} qid {}", cfg.subnqn, transport::endpoint_name(cfg.endpoint), cfg.cntlid, cfg.qid),
      cfg.max_icd);
  auto q = controller::IoQueue::begin(reactor, clock, co, cfg.cntlid, cfg.max_icd, cfg.max_data_len, cfg.qid, std::move(fd),
                                      on_complete, ctx, on_ready);
  if (!q) {
    // Reported like any other set-up failure: from a later poll.
    reactor.post([on_ready, e = q.error()] { on_ready(tl::unexpected(e)); });
    return path;
  }
  path->set_queue(std::move(*q));
  return path;
}

}  // namespace nvmemp::multipath
