// Latency histogram with bounded relative error (~1.5 %): 64 power-of-two ranges of
// nanoseconds, each split into 64 linear sub-buckets. Fixed size, no allocation per sample.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace nvmemp::tools {

class LatencyHistogram {
 public:
  void record(std::uint64_t ns) noexcept {
    ++counts_[index(ns)];
    ++count_;
    sum_ += ns;
    if (ns > max_) max_ = ns;
  }
  void merge(const LatencyHistogram& o) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    if (o.max_ > max_) max_ = o.max_;
  }
  std::uint64_t count() const noexcept { return count_; }
  double mean_ns() const noexcept { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }
  std::uint64_t max_ns() const noexcept { return max_; }
  // The value at quantile q in [0, 1] (upper edge of its bucket, capped at the max seen).
  std::uint64_t quantile_ns(double q) const noexcept {
    if (count_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const std::uint64_t v = upper(i);
        return v < max_ ? v : max_;
      }
    }
    return max_;
  }

 private:
  static constexpr unsigned kSub = 64;  // sub-buckets per power of two
  static std::size_t index(std::uint64_t ns) noexcept {
    if (ns < kSub) return static_cast<std::size_t>(ns);
    const unsigned exp = 63u - static_cast<unsigned>(std::countl_zero(ns));  // ns in [2^exp, 2^(exp+1))
    const unsigned shift = exp - 6;                                            // 64 sub-buckets
    return static_cast<std::size_t>((exp - 5) * kSub + ((ns >> shift) - kSub));
  }
  static std::uint64_t upper(std::size_t i) noexcept {
    if (i < kSub) return i;
    const unsigned exp = static_cast<unsigned>(i / kSub) + 5;
    const std::uint64_t sub = i % kSub;
    const unsigned shift = exp - 6;
    return ((kSub + sub + 1) << shift) - 1;
  }
  std::array<std::uint64_t, 64 * 64> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace nvmemp::tools
