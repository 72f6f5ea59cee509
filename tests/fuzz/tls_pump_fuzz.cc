// Fuzz target for the TLS glue between a queue pair and its record layer (transport/tls_pump.h),
// behind a fake record layer whose behaviour the input decides: ciphertext fed in any chunking
// (a record is only decoded once it is whole: "want read" at every byte), plaintext handed to
// the queue pair in pieces of any size (into a caller's read buffer too), close_notify, alerts
// and broken records in the middle of a PDU, and a record layer whose write fails. A real
// TLS layer cannot say "want write" here (its output goes to memory): that case does not exist.
// The queue pair has two reads outstanding (CIDs 0 and 1, each 8 KiB with guard bytes around
// its buffer that must never change) and must end either working or failed, never crash.
//
// Input: byte 0 = feed chunk seed, byte 1 = plaintext piece seed, byte 2 = the write that fails
// (0: none), then fake records: [kind][len][len bytes]; kind % 4: 0 data, 1 close_notify,
// 2 alert, 3 a record that does not decrypt.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/clock.h"
#include "transport/tls_pump.h"
#include "wire/sqe.h"

using namespace nvmemp;
using namespace nvmemp::transport;

namespace {

class FakeLayer final : public RecordLayer {
 public:
  FakeLayer(std::size_t piece, unsigned fail_write) : piece_(piece), fail_write_(fail_write) {}
  void feed(Bytes c) override { in_.insert(in_.end(), c.begin(), c.end()); }
  Result<void> drain_into(RxSink& sink) override {
    for (;;) {
      if (plain_off_ < plain_.size()) {
        iovec iov[4];
        const std::size_t cnt = sink.rx_iov(iov);
        if (cnt == 0) return {};
        const std::size_t k = std::min({iov[0].iov_len, piece_, plain_.size() - plain_off_});
        std::memcpy(iov[0].iov_base, plain_.data() + plain_off_, k);
        plain_off_ += k;
        if (auto r = sink.received_into(k); !r) return r;
        continue;
      }
      if (in_.size() - in_off_ < 2) return {};  // want read
      const std::uint8_t kind = in_[in_off_] % 4;
      const std::size_t len = in_[in_off_ + 1];
      if (in_.size() - in_off_ - 2 < len) return {};  // want read: the record is not whole yet
      const std::uint8_t* body = in_.data() + in_off_ + 2;
      in_off_ += 2 + len;
      if (kind == 1) return make_error(Errc::Io, "fake: the controller closed the TLS session (close_notify)");
      if (kind == 2) return make_error(Errc::Io, "fake: the controller sent TLS alert 20 (bad record mac)");
      if (kind == 3) return make_error(Errc::Io, "fake: decryption failed");
      plain_.assign(body, body + len);
      plain_off_ = 0;
    }
  }
  Result<void> write(Bytes p) override {
    if (++writes_ == fail_write_) return make_error(Errc::Io, "fake: write failed");
    out_.push_back(static_cast<std::uint8_t>(p.size() & 0xff));
    out_.insert(out_.end(), p.begin(), p.end());
    return {};
  }
  void take_output(std::vector<std::uint8_t>& out) override {
    out.insert(out.end(), out_.begin(), out_.end());
    out_.clear();
  }
  void close_notify() override { out_.push_back(0xff); }
  std::string describe() const override { return "fake"; }

 private:
  std::vector<std::uint8_t> in_;
  std::size_t in_off_ = 0;
  std::vector<std::uint8_t> plain_;
  std::size_t plain_off_ = 0;
  std::vector<std::uint8_t> out_;
  std::size_t piece_;
  unsigned fail_write_;
  unsigned writes_ = 0;
};

// The two reads, submitted the moment the queue pair turns live (inside the drain that brought
// the ICResp, so their data may follow in the same records).
struct Reads {
  QueuePair* qp = nullptr;
  std::uint8_t* bufs[2] = {nullptr, nullptr};
  unsigned done = 0;
};
constexpr std::size_t kGuard = 64, kLen = 8192;

void on_done(void* ctx, const Completion&) { ++static_cast<Reads*>(ctx)->done; }

void on_live(void* ctx) {
  auto* r = static_cast<Reads*>(ctx);
  for (std::size_t i = 0; i < 2; ++i) {
    auto sqe = wire::make_read(1, i * 16, 16, 512 * 16);
    if (!sqe) std::abort();
    if (!r->qp->submit(Command{*sqe, MutBytes(r->bufs[i], kLen), {}, nullptr})) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t chunk = 1 + data[0] % 61;
  const std::size_t piece = 1 + data[1] % 37;
  const unsigned fail_write = data[2] % 8;
  const Bytes stream(data + 3, size - 3);

  ManualClock clock;
  QueuePairConfig cfg;
  cfg.qid = 1;
  cfg.queue_size = 8;
  cfg.max_data_len = 1 << 20;
  cfg.name = "fuzz";
  std::vector<std::uint8_t> mem(2 * (kLen + 2 * kGuard), 0xEE);
  Reads reads;
  QueuePair qp(cfg, clock, &on_done, &reads);
  reads.qp = &qp;
  for (std::size_t i = 0; i < 2; ++i) reads.bufs[i] = mem.data() + i * (kLen + 2 * kGuard) + kGuard;
  qp.on_live(&on_live);
  TlsPump pump(std::make_unique<FakeLayer>(piece, fail_write), qp);
  if (!qp.start()) std::abort();
  bool failed = false;
  auto fill = [&] {
    if (!failed && !pump.fill()) failed = true;
    pump.sent(pump.pending().size());
  };
  fill();  // the ICReq
  for (std::size_t off = 0; off < stream.size() && !failed; off += chunk) {
    const Bytes c = stream.subspan(off, std::min(chunk, stream.size() - off));
    if (auto r = pump.received(c); !r) {
      (void)r.error().message.size();
      qp.fail(r.error().message);
      failed = true;
    }
    fill();
  }
  (void)pump.close_notify();
  qp.fail("fuzz: end");
  if (qp.state() == QpState::Live || (reads.done != 0 && reads.done != 2)) std::abort();  // every read completed once
  for (std::size_t i = 0; i < 2; ++i) {
    const std::uint8_t* g = mem.data() + i * (kLen + 2 * kGuard);
    for (std::size_t k = 0; k < kGuard; ++k) {
      if (g[k] != 0xEE || g[kGuard + kLen + k] != 0xEE) std::abort();  // written outside a read's buffer
    }
  }
  return 0;
}
