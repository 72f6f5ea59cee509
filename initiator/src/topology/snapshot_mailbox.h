// Publishing topology to I/O threads without a lock on the I/O path (RCU-like; style guide
// section 3). The control thread builds an immutable snapshot with an epoch number and posts
// it to every I/O thread's mailbox (a mutex, off the I/O path, and a wake-up). Between
// completion batches an I/O thread calls refresh(): when something new is there it swaps its
// pointer and acknowledges the epoch. Per-I/O code reads current(): a plain reference, no
// lock, no shared write.
//
// Teardown without blocking anyone: the control thread keeps every retired snapshot until all
// I/O threads acknowledged a newer epoch (collect()), so the last reference of a snapshot is
// never dropped on an I/O thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace nvmemp::topology {

template <class Snapshot>
class SnapshotMailbox {
 public:
  // `wake` makes the owning I/O thread call refresh() soon (e.g. Reactor::post); may be empty.
  explicit SnapshotMailbox(std::function<void()> wake = {}) : wake_(std::move(wake)) {}

  // Control thread.
  void post(std::shared_ptr<const Snapshot> snap, std::uint64_t epoch) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = std::move(snap);
      pending_epoch_ = epoch;
    }
    posted_.store(epoch, std::memory_order_release);
    if (wake_) wake_();
  }
  std::uint64_t acked_epoch() const noexcept { return acked_.load(std::memory_order_acquire); }

  // I/O thread: takes what was posted, if anything. Returns true when the snapshot changed.
  bool refresh() {
    // The common case, nothing new: one read of a line that changes only on publication.
    if (posted_.load(std::memory_order_acquire) == pending_epoch_seen_) {
      return false;
    }
    std::shared_ptr<const Snapshot> next;
    std::uint64_t epoch = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      next = std::move(pending_);
      epoch = pending_epoch_;
    }
    if (!next) {
      return false;  // taken already (posted_ raced ahead of a second post)
    }
    pending_epoch_seen_ = epoch;
    current_ = std::move(next);
    acked_.store(epoch, std::memory_order_release);
    return true;
  }
  // I/O thread: the snapshot in force (null before the first post).
  const Snapshot* current() const noexcept { return current_.get(); }

 private:
  std::function<void()> wake_;
  std::atomic<std::uint64_t> posted_{0};     // written by the control thread after pending_
  std::mutex mu_;
  std::shared_ptr<const Snapshot> pending_;  // guarded by mu_
  std::uint64_t pending_epoch_ = 0;          // guarded by mu_
  // I/O thread only:
  std::shared_ptr<const Snapshot> current_;
  std::uint64_t pending_epoch_seen_ = 0;
  std::atomic<std::uint64_t> acked_{0};  // written by the I/O thread, read by the control thread
};

// Control thread: numbers snapshots, posts them to every mailbox, frees retired ones once
// every I/O thread has moved past them.
template <class Snapshot>
class SnapshotPublisher {
 public:
  // A new mailbox gets the snapshot in force at once.
  void subscribe(SnapshotMailbox<Snapshot>* box) {
    boxes_.push_back(box);
    if (current_) box->post(current_, epoch_);
  }
  // The mailbox's owner is going away; it no longer holds back collect().
  void unsubscribe(SnapshotMailbox<Snapshot>* box) { std::erase(boxes_, box); }
  const std::shared_ptr<const Snapshot>& current() const noexcept { return current_; }

  std::uint64_t publish(std::shared_ptr<const Snapshot> snap) {
    ++epoch_;
    if (current_) {
      retired_.push_back(Retired{std::move(current_), epoch_});
    }
    current_ = snap;
    for (auto* b : boxes_) {
      b->post(snap, epoch_);
    }
    return epoch_;
  }

  // Drops the retired snapshots no I/O thread can still be using. Returns how many remain.
  std::size_t collect() {
    std::uint64_t min_acked = epoch_;
    for (auto* b : boxes_) {
      min_acked = std::min(min_acked, b->acked_epoch());
    }
    std::erase_if(retired_, [&](const Retired& r) { return r.replaced_at <= min_acked; });
    return retired_.size();
  }
  std::uint64_t epoch() const noexcept { return epoch_; }

 private:
  struct Retired {
    std::shared_ptr<const Snapshot> snap;
    std::uint64_t replaced_at;  // the epoch that replaced it
  };
  std::vector<SnapshotMailbox<Snapshot>*> boxes_;
  std::shared_ptr<const Snapshot> current_;
  std::vector<Retired> retired_;
  std::uint64_t epoch_ = 0;
};

}  // namespace nvmemp::topology
