#include "multipath/path_selector.h"

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <deque>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

using namespace nvmemp;
using namespace nvmemp::multipath;
using wire::AnaState;

namespace {

constexpr AnaState kOpt = AnaState::Optimized;
constexpr AnaState kNon = AnaState::NonOptimized;
constexpr AnaState kInacc = AnaState::Inaccessible;
constexpr AnaState kLoss = AnaState::PersistentLoss;
constexpr AnaState kChange = AnaState::Change;

constexpr Policy kAllPolicies[] = {Policy::Numa, Policy::RoundRobin, Policy::QueueDepth};

PathCandidate cand(std::uint16_t id, AnaState ana, bool usable = true, std::uint32_t inflight = 0) {
  return PathCandidate{id, usable, ana, inflight};
}

// Picks `n` times on a fixed set and counts the picks per index (-1 counted apart).
struct Counts {
  std::vector<int> per_path;
  int none = 0;
};
Counts pick_many(PathSelector& sel, std::span<const PathCandidate> paths, int n) {
  Counts c{std::vector<int>(paths.size(), 0), 0};
  for (int i = 0; i < n; ++i) {
    const int idx = sel.select(paths);
    if (idx < 0) {
      ++c.none;
    } else {
      if (static_cast<std::size_t>(idx) >= paths.size()) FAIL("index " << idx << " out of range");
      ++c.per_path[static_cast<std::size_t>(idx)];
    }
  }
  return c;
}

}  // namespace

TEST_CASE("Policy names round-trip, unknown names list the accepted ones", "[path_selector]") {
  for (Policy p : kAllPolicies) {
    auto parsed = parse_policy(policy_name(p));
    REQUIRE(parsed);
    CHECK(*parsed == p);
  }
  CHECK(kDefaultPolicy == Policy::QueueDepth);
  CHECK(PathSelector().policy() == Policy::QueueDepth);
  for (std::string_view bad :
       {"", "NUMA", "round_robin", "roundrobin", "queue-depth ", "service-time"}) {
    INFO("input: \"" << bad << "\"");
    auto r = parse_policy(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::InvalidArgument);
    CHECK(r.error().message.find("numa") != std::string::npos);
    CHECK(r.error().message.find("round-robin") != std::string::npos);
    CHECK(r.error().message.find("queue-depth") != std::string::npos);
  }
}

TEST_CASE("Every policy: best ANA class, never an unusable path", "[path_selector]") {
  // For each row, the index the first pick of a fresh selector returns (-1: none). Numa and
  // queue-depth (all inflight 0) take the first of the best class; round-robin starts its scan at
  // index 0, so all three agree on the first pick.
  struct Row {
    const char* name;
    std::vector<PathCandidate> paths;
    int want;
  };
  const std::vector<Row> rows = {
      {"all optimized", {cand(1, kOpt), cand(2, kOpt), cand(3, kOpt)}, 0},
      {"mixed: optimized behind non-optimized", {cand(1, kNon), cand(2, kOpt), cand(3, kNon)}, 1},
      {"only non-optimized", {cand(1, kNon), cand(2, kNon)}, 0},
      {"optimized but controller not live", {cand(1, kOpt, false), cand(2, kNon)}, 1},
      {"inaccessible, change, persistent loss skipped",
       {cand(1, kInacc), cand(2, kChange), cand(3, kLoss), cand(4, kNon)},
       3},
      {"none usable", {cand(1, kOpt, false), cand(2, kNon, false), cand(3, kInacc)}, -1},
      {"only bad ANA states",
       {cand(1, kInacc), cand(2, kChange), cand(3, kLoss), cand(4, static_cast<AnaState>(0x5))},
       -1},
      {"empty", {}, -1},
  };
  for (Policy p : kAllPolicies) {
    for (const Row& row : rows) {
      INFO(policy_name(p) << ": " << row.name);
      PathSelector sel(p);
      CHECK(sel.select(row.paths) == row.want);
      // Over many picks, no policy ever leaves the best class or picks a bad path.
      Counts c = pick_many(sel, row.paths, 300);
      for (std::size_t i = 0; i < row.paths.size(); ++i) {
        const PathCandidate& pc = row.paths[i];
        if (!path_selectable(pc)) CHECK(c.per_path[i] == 0);
        if (row.want >= 0 && pc.ana() != row.paths[static_cast<std::size_t>(row.want)].ana()) {
          CHECK(c.per_path[i] == 0);
        }
      }
      CHECK(c.none == (row.want < 0 ? 300 : 0));
    }
  }
}

TEST_CASE("Numa sticks to its path and fails back to optimized", "[path_selector]") {
  PathSelector sel(Policy::Numa);
  std::array<PathCandidate, 3> p = {cand(1, kOpt), cand(2, kOpt), cand(3, kNon)};
  CHECK(sel.select(p) == 0);
  CHECK(pick_many(sel, p, 100).per_path[0] == 100);

  // Path 1 goes inaccessible: the next optimized one, and it stays there when path 1 returns
  // (the kernel fails back only from non-optimized: a cached optimized path is kept).
  p[0].set_ana(kInacc);
  CHECK(sel.select(p) == 1);
  p[0].set_ana(kOpt);
  CHECK(pick_many(sel, p, 100).per_path[1] == 100);

  // Both optimized paths lost: the non-optimized one. Failback as soon as one returns.
  p[0].set_usable(false);
  p[1].set_ana(kChange);
  CHECK(pick_many(sel, p, 10).per_path[2] == 10);
  p[1].set_ana(kOpt);
  CHECK(sel.select(p) == 1);
  CHECK(sel.select(p) == 1);

  // invalidate() (e.g. after an error on path 2): the first optimized again.
  p[0].set_usable(true);
  sel.invalidate();
  CHECK(sel.select(p) == 0);

  // The cached path is found by id when the set shifts under it.
  std::array<PathCandidate, 2> shifted = {cand(2, kOpt), cand(3, kNon)};
  CHECK(sel.select(shifted) == 0);  // path 1 removed: first optimized
  std::array<PathCandidate, 3> grown = {cand(0, kOpt), cand(2, kOpt), cand(3, kNon)};
  CHECK(sel.select(grown) == 1);  // still path 2, now at index 1
}

TEST_CASE("Numa on non-optimized stays put while no optimized path exists", "[path_selector]") {
  PathSelector sel(Policy::Numa);
  std::array<PathCandidate, 3> p = {cand(1, kNon), cand(2, kNon), cand(3, kInacc)};
  CHECK(sel.select(p) == 0);
  p[0].set_usable(false);
  CHECK(sel.select(p) == 1);
  p[0].set_usable(true);  // back, but only non-optimized: no reason to move
  CHECK(pick_many(sel, p, 50).per_path[1] == 50);
  p[2].set_ana(kOpt);  // an optimized path appears: failback
  CHECK(sel.select(p) == 2);
}

TEST_CASE("Round-robin spreads evenly over optimized paths only", "[path_selector]") {
  PathSelector sel(Policy::RoundRobin);
  const std::array<PathCandidate, 5> p = {cand(1, kOpt), cand(2, kNon), cand(3, kOpt),
                                          cand(4, kInacc), cand(5, kOpt)};
  Counts c = pick_many(sel, p, 999);
  CHECK(c.per_path == std::vector<int>{333, 0, 333, 0, 333});
  // Strict rotation, not just equal totals.
  CHECK(sel.select(p) == 0);
  CHECK(sel.select(p) == 2);
  CHECK(sel.select(p) == 4);
  CHECK(sel.select(p) == 0);

  // 1000 picks over 2 optimized of 4: 500 each.
  PathSelector sel2(Policy::RoundRobin);
  const std::array<PathCandidate, 4> q = {cand(1, kNon), cand(2, kOpt), cand(3, kNon),
                                          cand(4, kOpt)};
  CHECK(pick_many(sel2, q, 1000).per_path == std::vector<int>{0, 500, 0, 500});

  // No optimized path: rotate among the non-optimized ones.
  PathSelector sel3(Policy::RoundRobin);
  const std::array<PathCandidate, 3> r = {cand(1, kNon), cand(2, kInacc), cand(3, kNon)};
  CHECK(pick_many(sel3, r, 1000).per_path == std::vector<int>{500, 0, 500});
}

TEST_CASE("Round-robin keeps rotating when paths come and go", "[path_selector]") {
  PathSelector sel(Policy::RoundRobin);
  std::array<PathCandidate, 3> p = {cand(1, kOpt), cand(2, kOpt), cand(3, kOpt)};
  CHECK(sel.select(p) == 0);
  CHECK(sel.select(p) == 1);
  // Path 2 (the last one picked) removed: the rotation goes on with path 3, then wraps.
  std::array<PathCandidate, 2> without2 = {cand(1, kOpt), cand(3, kOpt)};
  CHECK(sel.select(without2) == 1);
  CHECK(sel.select(without2) == 0);
  // Single usable path is picked again and again.
  p[1].set_usable(false);
  p[2].set_ana(kInacc);
  CHECK(pick_many(sel, p, 10).per_path == std::vector<int>{10, 0, 0});
  // Optimized path comes back among non-optimized ones: it takes all I/O at once.
  p[0].set_ana(kNon);
  p[1].set_usable(true);
  CHECK(pick_many(sel, p, 10).per_path == std::vector<int>{0, 10, 0});
}

TEST_CASE("Round-robin moves on once per turn, a turn leaves its path when it stops serving", "[path_selector]") {
  PathSelector sel(Policy::RoundRobin);
  std::array<PathCandidate, 3> p = {cand(1, kOpt), cand(2, kOpt), cand(3, kNon)};
  // Turn 1: every pick on one path; turn 2: the next optimized one; turn 3: back.
  for (int i = 0; i < 5; ++i) CHECK(sel.select(p, 1) == 0);
  for (int i = 0; i < 5; ++i) CHECK(sel.select(p, 2) == 1);
  CHECK(sel.select(p, 3) == 0);
  // Over many turns of 8 picks each, the optimized paths share the load evenly.
  std::vector<int> per_path(p.size(), 0);
  for (std::uint64_t turn = 4; turn < 104; ++turn) {
    for (int i = 0; i < 8; ++i) ++per_path[static_cast<std::size_t>(sel.select(p, turn))];
  }
  CHECK(per_path == std::vector<int>{400, 400, 0});
  // Within a turn, the path failing (or losing its optimized state) moves the rest of the
  // turn's I/O at once, and the path that takes over keeps it for the turn.
  const auto first = static_cast<std::size_t>(sel.select(p, 200));
  REQUIRE(first < 2);
  const std::size_t other = 1 - first;
  p[first].set_usable(false);
  CHECK(sel.select(p, 200) == static_cast<int>(other));
  CHECK(sel.select(p, 200) == static_cast<int>(other));
  p[first].set_usable(true);
  p[other].set_ana(kNon);
  CHECK(sel.select(p, 200) == static_cast<int>(first));
  p[other].set_ana(kOpt);
  // No optimized path: non-optimized ones are used, never an unusable one.
  p[0].set_ana(kInacc);
  p[1].set_ana(kNon);
  const int idx = sel.select(p, 200);
  CHECK((idx == 1 || idx == 2));
  // kEveryCall (and select() without a turn) rotates per call.
  p = {cand(1, kOpt), cand(2, kOpt), cand(3, kNon)};
  const int a = sel.select(p, PathSelector::kEveryCall);
  const int b = sel.select(p, PathSelector::kEveryCall);
  CHECK(a != b);
}

TEST_CASE("Queue-depth picks the least loaded path within the best class", "[path_selector]") {
  struct Row {
    const char* name;
    std::vector<PathCandidate> paths;
    int want;
  };
  const std::vector<Row> rows = {
      {"least loaded optimized",
       {cand(1, kOpt, true, 5), cand(2, kOpt, true, 2), cand(3, kOpt, true, 9)},
       1},
      {"idle non-optimized loses to busy optimized",
       {cand(1, kNon, true, 0), cand(2, kOpt, true, 30)},
       1},
      {"least loaded non-optimized when no optimized",
       {cand(1, kNon, true, 4), cand(2, kInacc, true, 0), cand(3, kNon, true, 1)},
       2},
      {"idle but not live is skipped", {cand(1, kOpt, false, 0), cand(2, kOpt, true, 7)}, 1},
      {"idle but in change is skipped", {cand(1, kChange, true, 0), cand(2, kNon, true, 7)}, 1},
      {"saturated counters still compare",
       {cand(1, kOpt, true, UINT32_MAX), cand(2, kOpt, true, UINT32_MAX - 1)},
       1},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    PathSelector sel(Policy::QueueDepth);
    CHECK(sel.select(row.paths) == row.want);
    CHECK(sel.select(row.paths) == row.want);  // a strict minimum wins every time
  }
}

TEST_CASE("Queue-depth shares ties evenly instead of always taking index 0", "[path_selector]") {
  PathSelector sel(Policy::QueueDepth);
  const std::array<PathCandidate, 4> idle = {cand(1, kOpt), cand(2, kOpt), cand(3, kNon),
                                             cand(4, kOpt)};
  CHECK(pick_many(sel, idle, 999).per_path == std::vector<int>{333, 333, 0, 333});

  PathSelector busy_sel(Policy::QueueDepth);
  const std::array<PathCandidate, 3> busy = {cand(1, kOpt, true, 3), cand(2, kOpt, true, 8),
                                             cand(3, kOpt, true, 3)};
  CHECK(pick_many(busy_sel, busy, 1000).per_path == std::vector<int>{500, 0, 500});
}

namespace {

// Closed-loop simulation at a fixed queue depth: each tick completes what is due, then tops the
// outstanding count up to `qd` with select(). A command on path i takes latency_ticks[i] ticks.
// Returns the picks per path.
std::vector<int> simulate(Policy policy, const std::vector<int>& latency_ticks, int qd, int ticks) {
  const std::size_t n = latency_ticks.size();
  std::vector<PathCandidate> paths;
  for (std::size_t i = 0; i < n; ++i)
    paths.push_back(cand(static_cast<std::uint16_t>(i + 1), kOpt));
  std::vector<std::deque<int>> due(n);  // completion tick of each outstanding command, per path
  std::vector<int> picks(n, 0);
  PathSelector sel(policy);
  int outstanding = 0;
  for (int t = 0; t < ticks; ++t) {
    for (std::size_t i = 0; i < n; ++i) {
      while (!due[i].empty() && due[i].front() <= t) {
        due[i].pop_front();
        paths[i].set_inflight(paths[i].inflight() - 1);
        --outstanding;
      }
    }
    while (outstanding < qd) {
      const int idx = sel.select(paths);
      if (idx < 0) FAIL("no path picked");
      const auto i = static_cast<std::size_t>(idx);
      ++picks[i];
      paths[i].set_inflight(paths[i].inflight() + 1);
      due[i].push_back(t + latency_ticks[i]);
      ++outstanding;
    }
  }
  return picks;
}

double share(const std::vector<int>& picks, std::size_t i) {
  int total = 0;
  for (int v : picks) total += v;
  return static_cast<double>(picks[i]) / total;
}

}  // namespace

TEST_CASE("Queue-depth moves load away from a slow path", "[path_selector]") {
  // Path 2 (index 1) completes 10x slower than paths 1 and 3.
  const std::vector<int> latency = {1, 10, 1};
  const auto qd = simulate(Policy::QueueDepth, latency, 16, 2000);
  INFO("queue-depth picks: " << qd[0] << " " << qd[1] << " " << qd[2]);
  CHECK(share(qd, 1) < 0.20);
  CHECK(share(qd, 1) > 0.0);  // slow is not failed: it still serves some I/O
  CHECK(std::abs(share(qd, 0) - share(qd, 2)) < 0.02);

  // The same load under round-robin: a third each, whatever the latency.
  const auto rr = simulate(Policy::RoundRobin, latency, 16, 2000);
  CHECK(std::abs(share(rr, 1) - 1.0 / 3) < 0.01);

  // And two slow-vs-fast paths only.
  const auto two = simulate(Policy::QueueDepth, {10, 1}, 32, 2000);
  CHECK(share(two, 0) < 0.20);
}

TEST_CASE("set_policy and invalidate reset the cached path", "[path_selector]") {
  const std::array<PathCandidate, 3> p = {cand(1, kOpt), cand(2, kOpt), cand(3, kOpt)};
  PathSelector sel(Policy::RoundRobin);
  CHECK(sel.select(p) == 0);
  CHECK(sel.select(p) == 1);
  sel.invalidate();
  CHECK(sel.select(p) == 0);
  CHECK(sel.select(p) == 1);
  sel.set_policy(Policy::Numa);
  CHECK(sel.policy() == Policy::Numa);
  CHECK(sel.select(p) == 0);  // not path 2, the old round-robin cursor
  sel.set_policy(Policy::QueueDepth);
  CHECK(sel.select(p) == 0);
}

namespace {

// The queue-depth rule written plainly: among selectable paths, the best ANA class, then the
// fewest in flight, then a preferred one; of several equal, the first whose id follows the last
// path picked (cyclically by id: `paths` is sorted by id). -1 when none is selectable.
int queue_depth_model(const std::vector<PathCandidate>& paths, int last_id) {
  auto key = [](const PathCandidate& c) {
    return std::tuple{c.ana() == kOpt ? 0 : 1, c.inflight(), c.preferred() ? 0 : 1};
  };
  int best = -1;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const PathCandidate& c = paths[i];
    if (!c.usable() || (c.ana() != kOpt && c.ana() != kNon)) continue;
    if (best < 0 || key(c) < key(paths[static_cast<std::size_t>(best)])) {
      best = static_cast<int>(i);
      continue;
    }
    if (key(c) != key(paths[static_cast<std::size_t>(best)])) continue;
    // Equal: the one first after last_id in cyclic id order wins.
    auto after = [&](int id) { return id > last_id ? id - last_id : id - last_id + 1'000'000; };
    if (after(c.path_id) < after(paths[static_cast<std::size_t>(best)].path_id)) best = static_cast<int>(i);
  }
  return best;
}

}  // namespace

TEST_CASE("Queue-depth agrees with the plain rule on random heads of 1 to 24 paths", "[path_selector]") {
  // Up to 16 paths take the keyed one-minimum pick, more the scan: both are checked against the
  // model, with paths joining and leaving between picks and every field changing.
  std::mt19937 rng(20261207);
  const AnaState states[] = {kOpt, kOpt, kOpt, kNon, kNon, kInacc, kLoss, kChange};
  int mismatches = 0;
  for (int head = 0; head < 400; ++head) {
    const int max_paths = 1 + static_cast<int>(rng() % 24);
    const std::uint32_t max_depth = 1 + rng() % 4;  // small depths: many ties
    PathSelector sel(Policy::QueueDepth);
    int last_id = 0;  // no path picked yet: ids start at 1, so the first tie goes to the lowest id
    for (int pick = 0; pick < 50; ++pick) {
      std::vector<PathCandidate> paths;
      for (int id = 1; id <= 40 && static_cast<int>(paths.size()) < max_paths; ++id) {
        if (rng() % 3 == 0) continue;  // this id is not in the head this time
        paths.emplace_back(static_cast<std::uint16_t>(id), rng() % 8 != 0, states[rng() % 8],
                           static_cast<std::uint32_t>(rng() % max_depth), rng() % 4 == 0);
      }
      const int want = queue_depth_model(paths, last_id);
      const int got = sel.select(paths);
      if (got != want && ++mismatches <= 5) {
        std::string shape;
        for (const auto& c : paths) {
          shape += fmt::format(" {}:{}{}/{}{}", c.path_id, c.usable() ? "" : "dead,", static_cast<int>(c.ana()),
                               c.inflight(), c.preferred() ? "p" : "");
        }
        FAIL_CHECK("last " << last_id << ", paths" << shape << ": picked " << got << ", the rule says " << want);
      }
      if (got >= 0) last_id = paths[static_cast<std::size_t>(got)].path_id;
    }
  }
  CHECK(mismatches == 0);
}
