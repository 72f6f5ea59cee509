#include "transport/tls_pump.h"

#include <algorithm>

namespace nvmemp::transport {

TlsPump::TlsPump(std::unique_ptr<RecordLayer> layer, QueuePair& qp)
    : layer_(std::move(layer)), qp_(qp), in_(kRecvBuf) {
  plain_.reserve(kRecord);
}

Result<void> TlsPump::received(std::size_t n) { return received(Bytes(in_.data(), std::min(n, in_.size()))); }

Result<void> TlsPump::received(Bytes ciphertext) {
  layer_->feed(ciphertext);
  return layer_->drain_into(qp_);
}

Result<void> TlsPump::fill() {
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  while (qp_.has_tx() && out_.size() - out_off_ < kOutMax) {
    const std::size_t n = qp_.gather_tx(iov_);
    if (n == 0) break;
    plain_.clear();
    for (std::size_t i = 0; i < n && plain_.size() < kRecord; ++i) {
      const auto* p = static_cast<const std::uint8_t*>(iov_[i].iov_base);
      const std::size_t k = std::min(iov_[i].iov_len, kRecord - plain_.size());
      plain_.insert(plain_.end(), p, p + k);
    }
    if (auto r = layer_->write(plain_); !r) return r;
    qp_.sent(plain_.size());
    layer_->take_output(out_);
  }
  layer_->take_output(out_);  // also what the record layer answers on its own (a KeyUpdate)
  return {};
}

void TlsPump::sent(std::size_t n) noexcept { out_off_ = std::min(out_.size(), out_off_ + n); }

Bytes TlsPump::close_notify() {
  layer_->close_notify();
  layer_->take_output(out_);
  return pending();
}

}  // namespace nvmemp::transport
