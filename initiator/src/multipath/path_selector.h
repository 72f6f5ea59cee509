// Path selection policies: which path of a namespace head the next I/O goes to.
//
// Pure and per thread: a PathSelector belongs to one (I/O thread, namespace head) pair, is read
// and written only by that I/O thread, and select() takes no lock, touches no atomic, allocates
// nothing and does no I/O. This is the lock-free replacement for dm-multipath's selector, which
// runs under the multipath device's spinlock shared by every CPU (dm-mpath.c choose_pgpath()),
// and for the kernel's per-node `current_path[]` cache, which is shared by all CPUs of a node.
//
// The rules follow drivers/nvme/host/multipath.c [KH] and nvme-facts.md section 7:
//   - a path is usable when its controller is live and its ANA state is optimized or
//     non-optimized (nvme_path_is_disabled() and the switch in __nvme_find_path());
//   - optimized paths first; non-optimized only when no optimized path is usable;
//   - inaccessible, persistent loss and change are never picked.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "nvmemp/mpath.h"
#include "nvmemp/result.h"
#include "topology/io_rules.h"
#include "wire/log_pages.h"

namespace nvmemp::multipath {

// The policy and its default (queue-depth) are carried by the topology snapshot, so defined
// with it (topology/io_rules.h).
using topology::kDefaultPolicy;
using topology::Policy;

// "numa", "round-robin", "queue-depth": the kernel's iopolicy spellings.
const char* policy_name(Policy policy) noexcept;

// Parses one of the names policy_name() returns; anything else is InvalidArgument with a message
// that lists the accepted names.
[[nodiscard]] Result<Policy> parse_policy(std::string_view name);

// What the selector needs to know about one path of a head, as the I/O thread sees it now.
//
// Kept in the form the picks compare: besides the fields, one 64-bit rank, smallest best:
// ANA class in the top two bits (0 optimized, 1 non-optimized, 3 not selectable: controller not
// live, marked failed by this thread, or ANA inaccessible / persistent loss / change), then the
// depth, then "not preferred" in bit 0. The setters keep it current, so a pick reads one word per
// path instead of decoding four fields (issue 13: queue-depth's pick <= 1.3x round-robin's).
class alignas(16) PathCandidate {
 public:
  PathCandidate() noexcept { update_rank(); }
  // `inflight`: commands outstanding on THIS thread's queue pair to this path. A plain counter
  // owned by the I/O thread: unlike the kernel's per-controller atomic nr_active, it costs no
  // shared cache line. `preferred`: SCSI preferred_path (ALUA "pref" bit): between paths of the
  // same ANA state, numa takes a preferred one first and queue-depth prefers it on equal depth.
  // Always false on NVMe.
  PathCandidate(std::uint16_t id, bool usable, wire::AnaState ana, std::uint32_t inflight,
                bool preferred = false) noexcept
      : path_id(id), usable_(usable), ana_(ana) {
    rank_ = (std::uint64_t{inflight} << 1) | std::uint64_t{!preferred};
    update_rank();
  }

  // Controller live (and the path not marked failed by this thread).
  bool usable() const noexcept { return usable_; }
  wire::AnaState ana() const noexcept { return ana_; }  // the namespace's ANA state here
  std::uint32_t inflight() const noexcept { return static_cast<std::uint32_t>(rank_ >> 1); }
  bool preferred() const noexcept { return (rank_ & 1u) == 0; }
  std::uint64_t rank() const noexcept { return rank_; }

  void set_usable(bool usable) noexcept { usable_ = usable; update_rank(); }
  void set_ana(wire::AnaState ana) noexcept { ana_ = ana; update_rank(); }
  void set_inflight(std::uint32_t inflight) noexcept {
    rank_ = (rank_ & ~kInflightMask) | (std::uint64_t{inflight} << 1);
  }
  // What the I/O engine refreshes before each pick, in one update.
  void set_usable_inflight(bool usable, std::uint32_t inflight) noexcept {
    usable_ = usable;
    rank_ = (rank_ & 1u) | (std::uint64_t{inflight} << 1);
    update_rank();
  }

  static constexpr std::uint64_t kNonOptimizedRank = std::uint64_t{1} << 62;
  static constexpr std::uint64_t kUnselectableRank = std::uint64_t{3} << 62;

 private:
  static constexpr std::uint64_t kInflightMask = std::uint64_t{0xFFFFFFFF} << 1;
  // Sets the class bits from usable_ and ana_; the depth and preference bits stay.
  void update_rank() noexcept {
    std::uint64_t cls = 3;
    if (usable_ && ana_ == wire::AnaState::Optimized) cls = 0;
    if (usable_ && ana_ == wire::AnaState::NonOptimized) cls = 1;
    rank_ = (cls << 62) | (rank_ & (kInflightMask | 1u));
  }

  std::uint64_t rank_ = 1;  // depth 0, not preferred, class set by update_rank()

 public:
  std::uint16_t path_id = 0;  // stable id of the path in the topology (the caller sorts by it)

 private:
  bool usable_ = false;
  wire::AnaState ana_ = wire::AnaState::Inaccessible;
};
static_assert(sizeof(PathCandidate) == 16, "a candidate is one rank word and its id: 16 bytes");

// True when `c` may carry I/O at all (usable and ANA optimized or non-optimized).
inline bool path_selectable(const PathCandidate& c) noexcept {
  return c.rank() < PathCandidate::kUnselectableRank;
}

// Routing state of one namespace head on one I/O thread. Not thread-safe by design: each I/O
// thread owns its own (a few bytes), kept with that thread's other per-head state.
class PathSelector {
 public:
  explicit PathSelector(Policy policy = kDefaultPolicy) noexcept : policy_(policy) {}

  // Changes the policy at run time (per subsystem, from the control thread's snapshot); the
  // cached path of the old policy means nothing to the new one, so it is dropped.
  void set_policy(Policy policy) noexcept {
    policy_ = policy;
    invalidate();
  }
  Policy policy() const noexcept { return policy_; }

  // Index into `paths` of the path for the next I/O, or -1 when none is selectable. `paths` is in
  // a stable order (by path_id) from one call to the next; paths may come and go between calls.
  // O(paths.size()), no allocation; numa on its cached optimized path is O(1).
  //
  // `turn` is the caller's submission batch (the I/O context's poll turn: what one send per
  // queue pair carries). Round-robin moves on once per turn, not once per I/O: the I/Os of one
  // batch stay on one path and go out in one send, and consecutive batches take turns. At queue
  // depth 1 every turn holds one I/O, so that is the kernel's per-I/O rotation; at depth 32,
  // rotating per I/O would split every batch over the paths (one send and one receive more per
  // path per turn: 12 % fewer IOPS with two paths in bench/perf_suite). kEveryCall, or select()
  // without a turn, rotates on every call. The other policies ignore it: queue-depth decides
  // per I/O, since keeping a batch on a path that became deeper is what it exists to avoid
  // (with a slow path it made that path take whole batches).
  static constexpr std::uint64_t kEveryCall = ~std::uint64_t{0};
  int select(std::span<const PathCandidate> paths, std::uint64_t turn = kEveryCall) noexcept;

  // Forgets the cached path: on a topology change, or after an I/O failed on the cached path
  // (the kernel's nvme_mpath_clear_current_path() after a path error).
  void invalidate() noexcept {
    has_cached_ = false;
    cached_index_ = 0;
    cached_id_ = 0;
  }

 private:
  int select_numa(std::span<const PathCandidate> paths) noexcept;
  int select_round_robin(std::span<const PathCandidate> paths, std::uint64_t turn) noexcept;
  int select_queue_depth(std::span<const PathCandidate> paths) noexcept;
  int select_queue_depth_scan(std::span<const PathCandidate> paths) noexcept;
  // Heads with up to this many paths take queue-depth's bit-mask tie-break; more, a plain scan.
  static constexpr std::size_t kMaskPaths = 16;
  // Where a cyclic scan after the cached path starts.
  std::size_t start_after_cached(std::span<const PathCandidate> paths) const noexcept;
  int remember(std::span<const PathCandidate> paths, std::size_t index) noexcept;

  // The cached path is kept by id, with its last index as a hint: the index alone would point at
  // another path after one is removed in front of it.
  std::uint64_t turn_ = kEveryCall;  // the turn round-robin last moved in
  std::uint32_t cached_index_ = 0;
  std::uint16_t cached_id_ = 0;
  bool has_cached_ = false;
  Policy policy_;
};

}  // namespace nvmemp::multipath
