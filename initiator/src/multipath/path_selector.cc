#include "multipath/path_selector.h"

#include <algorithm>
#include <array>
#include <bit>
#include <string>

namespace nvmemp::multipath {

namespace {

bool is_optimized(const PathCandidate& c) noexcept { return c.ana() == wire::AnaState::Optimized; }

// The smallest rank of `paths` (not empty). Two, three and four paths, the usual heads, take a
// straight comparison tree with no loop; more, two minimums side by side (even and odd indexes),
// so the comparisons do not form one chain.
inline std::uint64_t min_rank(std::span<const PathCandidate> p) noexcept {
  switch (p.size()) {
    case 1:
      return p[0].rank();
    case 2:
      return std::min(p[0].rank(), p[1].rank());
    case 3:
      return std::min(std::min(p[0].rank(), p[1].rank()), p[2].rank());
    case 4:
      return std::min(std::min(p[0].rank(), p[1].rank()), std::min(p[2].rank(), p[3].rank()));
    default:
      break;
  }
  std::uint64_t even = ~std::uint64_t{0};
  std::uint64_t odd = ~std::uint64_t{0};
  std::size_t i = 0;
  for (; i + 1 < p.size(); i += 2) {
    even = std::min(even, p[i].rank());
    odd = std::min(odd, p[i + 1].rank());
  }
  if (i < p.size()) even = std::min(even, p[i].rank());
  return std::min(even, odd);
}

// Bit i set when paths[i] has rank `best` (at most 64 paths); straight code for up to four.
inline std::uint64_t tied_mask(std::span<const PathCandidate> p, std::uint64_t best) noexcept {
  auto bit = [&](std::size_t i) { return std::uint64_t{p[i].rank() == best} << i; };
  switch (p.size()) {
    case 2:
      return bit(0) | bit(1);
    case 3:
      return bit(0) | bit(1) | bit(2);
    case 4:
      return (bit(0) | bit(1)) | (bit(2) | bit(3));
    default:
      break;
  }
  std::uint64_t tied = 0;
  for (std::size_t k = 0; k < p.size(); ++k) tied |= bit(k);
  return tied;
}

}  // namespace

const char* policy_name(Policy policy) noexcept {
  switch (policy) {
    case Policy::Numa:
      return "numa";
    case Policy::RoundRobin:
      return "round-robin";
    case Policy::QueueDepth:
      return "queue-depth";
  }
  return "invalid";
}

Result<Policy> parse_policy(std::string_view name) {
  for (Policy p : {Policy::Numa, Policy::RoundRobin, Policy::QueueDepth}) {
    if (name == policy_name(p)) return p;
  }
  return make_error(Errc::InvalidArgument, "unknown path selection policy \"" + std::string(name) +
                                               "\": use numa, round-robin or queue-depth");
}

}  // namespace nvmemp::multipath

namespace nvmemp {
const char* io_policy_name(IoPolicy p) noexcept { return multipath::policy_name(p); }
Result<IoPolicy> parse_io_policy(std::string_view name) { return multipath::parse_policy(name); }
}  // namespace nvmemp

namespace nvmemp::multipath {

int PathSelector::select(std::span<const PathCandidate> paths, std::uint64_t turn) noexcept {
  switch (policy_) {
    case Policy::Numa:
      return select_numa(paths);
    case Policy::RoundRobin:
      return select_round_robin(paths, turn);
    case Policy::QueueDepth:
      return select_queue_depth(paths);
  }
  return -1;
}

int PathSelector::remember(std::span<const PathCandidate> paths, std::size_t index) noexcept {
  has_cached_ = true;
  cached_index_ = static_cast<std::uint32_t>(index);
  cached_id_ = paths[index].path_id;
  return static_cast<int>(index);
}

inline std::size_t PathSelector::start_after_cached(std::span<const PathCandidate> paths) const noexcept {
  const std::size_t n = paths.size();
  if (!has_cached_ || n == 0) return 0;
  if (cached_index_ < n && paths[cached_index_].path_id == cached_id_) {
    return cached_index_ + 1 == n ? 0 : cached_index_ + 1;
  }
  // The set changed since the last pick: find the cached path by id, or, when it is gone, the
  // path that followed it in path_id order, so the rotation carries on where it was.
  for (std::size_t i = 0; i < n; ++i) {
    if (paths[i].path_id == cached_id_) return i + 1 == n ? 0 : i + 1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (paths[i].path_id > cached_id_) return i;
  }
  return 0;
}

// numa [KH nvme_find_path()/__nvme_find_path()]: the cached path is used as long as it is
// optimized; otherwise the head is searched again for the nearest optimized path, else the nearest
// non-optimized one. Fabrics controllers have no NUMA node, so every path is at LOCAL_DISTANCE and
// "nearest" is "first in the list". Searching again whenever the cached path is not optimized is
// what gives failback: the first select() after an optimized path returns moves to it.
// One difference: on a non-optimized path with no optimized one usable we stay on the cached path
// (the kernel would move to the first non-optimized one), so I/O does not move for nothing.
int PathSelector::select_numa(std::span<const PathCandidate> paths) noexcept {
  const std::size_t n = paths.size();
  // Fast path: the cached path, at its old index, still usable and optimized.
  if (has_cached_ && cached_index_ < n) {
    const PathCandidate& c = paths[cached_index_];
    if (c.path_id == cached_id_ && path_selectable(c) && is_optimized(c)) {
      return static_cast<int>(cached_index_);
    }
  }
  int first_opt = -1;
  int first_nonopt = -1;
  int cached = -1;
  for (std::size_t i = 0; i < n; ++i) {
    const PathCandidate& c = paths[i];
    if (!path_selectable(c)) continue;
    if (has_cached_ && c.path_id == cached_id_) cached = static_cast<int>(i);
    // The first of its class, or the first preferred one when the first was not preferred.
    int& first = is_optimized(c) ? first_opt : first_nonopt;
    if (first < 0 || (c.preferred() && !paths[static_cast<std::size_t>(first)].preferred())) first = static_cast<int>(i);
  }
  if (cached >= 0 && is_optimized(paths[static_cast<std::size_t>(cached)])) {
    return remember(paths, static_cast<std::size_t>(cached));  // moved index, same path
  }
  if (first_opt >= 0) return remember(paths, static_cast<std::size_t>(first_opt));
  if (cached >= 0) return remember(paths, static_cast<std::size_t>(cached));
  if (first_nonopt >= 0) return remember(paths, static_cast<std::size_t>(first_nonopt));
  return -1;  // the cache is kept: it is not usable, so the next call searches again
}

// round-robin [KH nvme_round_robin_path()]: scan from the path after the last one picked; the
// first optimized path wins; with none, a non-optimized one. The last path picked comes last in
// the scan, so it is picked again only when it is the only one of the best class (the kernel's
// "fall back to the current path"). Unlike the kernel, which takes the last non-optimized path it
// meets, we take the first one after the cursor, so non-optimized paths rotate too.
int PathSelector::select_round_robin(std::span<const PathCandidate> paths, std::uint64_t turn) noexcept {
  const std::size_t n = paths.size();
  // Same turn: stay on the path this turn's batch already uses while it is optimized and
  // selectable (otherwise scan as a new turn would, so failover is not delayed).
  if (turn != kEveryCall && turn == turn_ && has_cached_ && cached_index_ < n) {
    const PathCandidate& c = paths[cached_index_];
    if (c.path_id == cached_id_ && path_selectable(c) && is_optimized(c)) {
      return static_cast<int>(cached_index_);
    }
  }
  turn_ = turn;
  const std::size_t start = start_after_cached(paths);
  int first_nonopt = -1;
  for (std::size_t k = 0, i = start; k < n; ++k, i = (i + 1 == n ? 0 : i + 1)) {
    const PathCandidate& c = paths[i];
    if (!c.usable()) continue;
    if (is_optimized(c)) return remember(paths, i);
    if (first_nonopt < 0 && c.ana() == wire::AnaState::NonOptimized) first_nonopt = static_cast<int>(i);
  }
  if (first_nonopt >= 0) return remember(paths, static_cast<std::size_t>(first_nonopt));
  return -1;
}

// queue-depth [KH nvme_queue_depth_path(), SPDK bdev_nvme queue_depth]: fewest outstanding
// commands among optimized paths, else among non-optimized ones (the kernel stops at depth 0; we
// scan the few paths a head has to the end, so a preferred SCSI path still wins a tie). The
// kernel breaks ties by list order, so at low load every I/O goes to the first path; we take the
// first tied path after the last one picked, so equally loaded paths take turns.
//
// Shaped for speed (issue 13: <= 1.3x the round-robin pick): the candidates carry their rank
// (PathCandidate), the minimum does not depend on the previous pick, and the common case, where
// the path after the cursor is among the best (every path idle, or equally deep), is a single
// comparison; otherwise the paths of the best rank are gathered in a bit mask: a single one is
// taken as it is (a strict minimum does not depend on the cursor either), and of several the
// first at or after the cursor is found with a count of trailing zeros.
int PathSelector::select_queue_depth(std::span<const PathCandidate> paths) noexcept {
  const std::size_t n = paths.size();
  if (n > kMaskPaths) return select_queue_depth_scan(paths);
  const std::uint64_t best_rank = min_rank(paths);
  if (best_rank >= PathCandidate::kUnselectableRank) return -1;
  const std::size_t start = start_after_cached(paths);
  if (paths[start].rank() == best_rank) return remember(paths, start);
  const std::uint64_t tied = tied_mask(paths, best_rank);
  // One best path (a strict minimum): where the cursor is does not matter.
  if ((tied & (tied - 1)) == 0) return remember(paths, static_cast<std::size_t>(std::countr_zero(tied)));
  const std::uint64_t after = tied & (~std::uint64_t{0} << start);
  return remember(paths, static_cast<std::size_t>(std::countr_zero(after != 0 ? after : tied)));
}

// The same choice for a head with more paths than the mask holds: two straight passes, from the
// cursor to the end and from the start to the cursor, so ties go to the first after it.
int PathSelector::select_queue_depth_scan(std::span<const PathCandidate> paths) noexcept {
  const std::size_t n = paths.size();
  const std::size_t start = start_after_cached(paths);
  std::uint64_t best_rank = ~std::uint64_t{0};
  std::size_t best = 0;
  auto scan = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) {
      const std::uint64_t r = paths[i].rank();
      best = r < best_rank ? i : best;
      best_rank = r < best_rank ? r : best_rank;
    }
  };
  scan(start, n);
  scan(0, start);
  if (best_rank >= PathCandidate::kUnselectableRank) return -1;
  return remember(paths, best);
}

}  // namespace nvmemp::multipath
