#include "bench.h"

#include <sys/resource.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "common/clock.h"
#include "wire/sqe.h"
#include "latency_histogram.h"

namespace nvmemp::tools {

using namespace std::chrono_literals;

Result<Workload> parse_workload(const std::string& n) {
  if (n == "randread") return Workload::RandRead;
  if (n == "randwrite") return Workload::RandWrite;
  if (n == "read") return Workload::Read;
  if (n == "write") return Workload::Write;
  if (n == "randrw") return Workload::RandRw;
  if (n == "verify") return Workload::Verify;
  return make_error(Errc::InvalidArgument,
                    fmt::format("unknown workload '{}' (randread, randwrite, read, write, randrw, verify)", n));
}

const char* workload_name(Workload w) {
  switch (w) {
    case Workload::RandRead: return "randread";
    case Workload::RandWrite: return "randwrite";
    case Workload::Read: return "read";
    case Workload::Write: return "write";
    case Workload::RandRw: return "randrw";
    case Workload::Verify: return "verify";
  }
  return "?";
}

namespace {

// The verify pattern: every 8 bytes hold a value made of the run's seed and their byte address
// on the namespace, so a block written elsewhere, stale or torn does not match.
void fill_pattern(std::vector<std::uint8_t>& buf, std::uint64_t byte_addr, std::uint64_t seed) {
  for (std::size_t o = 0; o + 8 <= buf.size(); o += 8) {
    const std::uint64_t v = (seed * 0x9E3779B97F4A7C15ull) ^ ((byte_addr + o) * 0xC2B2AE3D27D4EB4Full);
    std::memcpy(buf.data() + o, &v, 8);
  }
}

// User + system CPU seconds of the whole process so far.
double process_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

struct Worker;

struct Slot {
  Worker* w = nullptr;
  std::size_t index = 0;
  std::vector<std::uint8_t> buf;
  std::vector<std::uint8_t> expect;
  std::uint64_t slba = 0;
  bool is_write = false;
  TimePoint started{};
};

struct Worker {
  // Set before the thread starts.
  Fabric* fabric = nullptr;
  HeadInfo head;
  BenchOptions opts;
  std::uint32_t index = 0;
  std::uint64_t region_start = 0;  // LBAs of this thread's region
  std::uint64_t region_blocks = 0; // in units of bs
  std::uint64_t seed = 1;
  std::chrono::steady_clock::time_point start_at{};
  // Results, read after join.
  LatencyHistogram hist;
  std::uint64_t errors = 0;
  std::uint64_t verify_failures = 0;
  std::string first_error;
  std::vector<Stall> stalls;
  double max_stall_ms = 0;
  double cpu_start_s = 0, cpu_end_s = 0;  // process CPU seconds when the timed I/O began and ended
  // Progress, read by the main thread while running.
  std::atomic<std::uint64_t> ios{0};
  std::atomic<bool> ready{false};

  SteadyClock clock;
  std::unique_ptr<IoContext> io;
  std::vector<Slot> slots;
  std::mt19937_64 rng;
  std::uint64_t seq_next = 0;
  bool stopping = false;
  std::uint32_t inflight = 0;
  TimePoint last_event{};  // last completion, or when I/O became outstanding

  void error(std::string e) {
    ++errors;
    if (first_error.empty()) first_error = std::move(e);
  }

  std::uint64_t next_block(bool sequential) {
    if (sequential) return seq_next++ % region_blocks;
    return rng() % region_blocks;
  }

  void note_gap(TimePoint now) {
    const double ms = std::chrono::duration<double, std::milli>(now - last_event).count();
    if (ms > max_stall_ms) max_stall_ms = ms;
    if (ms >= 100) {
      stalls.push_back(Stall{std::chrono::duration<double>(last_event.time_since_epoch() -
                                                           start_at.time_since_epoch()).count(), ms});
    }
  }

  void issue(std::size_t i, bool retry_read_of_verify = false) {
    Slot& s = slots[i];
    const std::uint32_t nlb = opts.bs / head.block_size;
    bool write = false;
    switch (opts.workload) {
      case Workload::RandRead: s.slba = region_start + next_block(false) * nlb; break;
      case Workload::Read: s.slba = region_start + next_block(true) * nlb; break;
      case Workload::RandWrite: s.slba = region_start + next_block(false) * nlb; write = true; break;
      case Workload::Write: s.slba = region_start + next_block(true) * nlb; write = true; break;
      case Workload::RandRw: s.slba = region_start + next_block(false) * nlb; write = (rng() & 1) != 0; break;
      case Workload::Verify:
        if (!retry_read_of_verify) {
          // Each slot owns the blocks i, i + iodepth, ... so no two slots touch one block.
          const std::uint64_t per_slot = std::max<std::uint64_t>(region_blocks / opts.iodepth, 1);
          s.slba = region_start + ((i + (rng() % per_slot) * opts.iodepth) % region_blocks) * nlb;
          write = true;
          fill_pattern(s.expect, s.slba * head.block_size, seed);
          std::memcpy(s.buf.data(), s.expect.data(), s.buf.size());
        }
        break;
    }
    s.is_write = write;
    s.started = clock.now();
    if (inflight == 0) last_event = s.started;
    auto r = write ? io->write(head.id, s.slba, nlb, s.buf, &Worker::on_complete, &s)
                   : io->read(head.id, s.slba, nlb, s.buf, &Worker::on_complete, &s);
    if (!r) {
      error(r.error().message);
      return;
    }
    ++inflight;
  }

  static void on_complete(void* arg, const IoResult& c) {
    auto* s = static_cast<Slot*>(arg);
    Worker* w = s->w;
    const TimePoint now = w->clock.now();
    w->note_gap(now);
    w->last_event = now;
    --w->inflight;
    if (!w->stopping) {  // what completes while draining is not counted in the numbers
      w->hist.record(static_cast<std::uint64_t>((now - s->started).count()));
      w->ios.fetch_add(1, std::memory_order_relaxed);
    }
    if (!c.status.ok()) {
      w->error(c.error != nullptr ? std::string(c.error)
                                  : fmt::format("{} LBA {}: {}", s->is_write ? "write" : "read", s->slba,
                                                c.status.to_string()));
    } else if (w->opts.workload == Workload::Verify && !s->is_write && s->buf != s->expect) {
      ++w->verify_failures;
      if (w->first_error.empty()) w->first_error = fmt::format("verify failed at LBA {}", s->slba);
    }
    if (w->stopping) return;
    // Verify: a completed write is read back from the same blocks; a read starts a new write.
    const bool read_back = w->opts.workload == Workload::Verify && s->is_write && c.status.ok();
    if (read_back) std::fill(s->buf.begin(), s->buf.end(), 0);
    w->issue(s->index, read_back);
  }

  void run(std::chrono::nanoseconds duration) {
    auto c = fabric->create_io_context();
    if (!c) {
      error(c.error().message);
      ready = true;
      return;
    }
    io = std::move(*c);
    // Wait (bounded) until this thread's I/O queues are up on some path.
    const auto ready_by = std::chrono::steady_clock::now() + 15s;
    while (!io->ready(head.id) && std::chrono::steady_clock::now() < ready_by) (void)io->poll(5ms);
    ready = true;
    rng.seed(seed ^ index);
    slots.resize(opts.iodepth);
    for (std::size_t i = 0; i < slots.size(); ++i) {
      slots[i].w = this;
      slots[i].index = i;
      slots[i].buf.resize(opts.bs);
      slots[i].expect.resize(opts.workload == Workload::Verify ? opts.bs : 0);
    }
    while (std::chrono::steady_clock::now() < start_at) (void)io->poll(5ms);
    const auto end = std::chrono::steady_clock::now() + duration;
    cpu_start_s = process_cpu_s();
    for (std::size_t i = 0; i < slots.size(); ++i) issue(i);
    while (std::chrono::steady_clock::now() < end && inflight > 0) {
      if (auto p = io->poll(1ms); !p) {
        error(p.error().message);
        break;
      }
    }
    cpu_end_s = process_cpu_s();
    if (inflight > 0) note_gap(clock.now());  // a gap still open at the end counts too
    stopping = true;
    // Bounded drain: held writes may wait a keep-alive timeout before they move.
    const auto drain_end = std::chrono::steady_clock::now() + 60s;
    while (inflight > 0 && std::chrono::steady_clock::now() < drain_end) (void)io->poll(1ms);
    if (inflight > 0) error(fmt::format("{} I/Os still outstanding 60 s after the end", inflight));
    io.reset();
  }
};

Result<void> connect_paths(Fabric& f, const BenchTarget& t) {
  if (t.connect_all) {
    auto r = f.connect_all(t.discovery, t.subnqn);
    if (!r) return tl::unexpected(r.error());
    return {};
  }
  if (t.paths.empty()) return make_error(Errc::InvalidArgument, "bench: no path given (-a/-s, --path or --connect-all)");
  std::size_t ok = 0;
  std::string errors;
  for (const auto& ep : t.paths) {
    auto r = f.connect(ep, t.subnqn);
    if (r) {
      ++ok;
    } else {
      errors += (errors.empty() ? "" : "; ") + r.error().message;
    }
  }
  if (ok == 0) return make_error(Errc::NotFound, errors);
  if (!errors.empty()) std::fprintf(stderr, "mpath-connect: %s\n", errors.c_str());
  return {};
}

}  // namespace

Result<BenchResult> run_bench(const FabricOptions& fopts_in, const BenchTarget& target, const BenchOptions& opts,
                              const std::function<void(std::uint64_t, double)>& progress) {
  if (opts.threads == 0 || opts.threads > 64 || opts.iodepth == 0 || opts.iodepth > 1024 || opts.bs == 0 ||
      !(opts.seconds > 0)) {
    return make_error(Errc::InvalidArgument, "bench: threads 1..64, iodepth 1..1024, bs > 0, time > 0");
  }
  FabricOptions fopts = fopts_in;
  fopts.max_io_contexts = static_cast<std::uint16_t>(opts.threads);
  // Deeper than the queues hold (1024, or less when CAP.MQES says so) waits in the context's
  // software queue.
  fopts.queue_size = static_cast<std::uint16_t>(std::clamp<std::uint32_t>(opts.iodepth + 1, 16, 1024));
  fopts.max_transfer = std::max<std::uint32_t>(fopts.max_transfer, opts.bs);
  auto fr = Fabric::start(fopts);
  if (!fr) return tl::unexpected(fr.error());
  Fabric& fabric = **fr;
  if (auto c = connect_paths(fabric, target); !c) return tl::unexpected(c.error());
  auto head = fabric.find_head(target.subnqn, opts.nsid);
  if (!head) return tl::unexpected(head.error());
  const std::uint32_t lba = head->block_size;
  if (lba == 0 || opts.bs % lba != 0 || opts.bs / lba > wire::kMaxNlb) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("--bs {} must be a multiple of the namespace's {}-byte blocks", opts.bs, lba));
  }
  if (head->max_transfer != 0 && opts.bs > head->max_transfer) {
    return make_error(Errc::InvalidArgument, fmt::format("--bs {} exceeds the largest transfer of {} nsid {}, {} "
                                                         "bytes", opts.bs, target.subnqn, opts.nsid,
                                                         head->max_transfer));
  }
  const std::uint64_t blocks_total = head->blocks * lba / opts.bs;
  const std::uint64_t per_thread = blocks_total / opts.threads;
  if (per_thread < opts.iodepth) {
    return make_error(Errc::InvalidArgument, "bench: namespace too small for this bs, iodepth and threads");
  }
  const std::uint64_t seed =
      opts.seed != 0 ? opts.seed : static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());

  // Queues are set up first; the clock starts when all are ready.
  const auto start_at = std::chrono::steady_clock::now() + 500ms + std::chrono::milliseconds(200 * opts.threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (std::uint32_t t = 0; t < opts.threads; ++t) {
    auto w = std::make_unique<Worker>();
    w->fabric = &fabric;
    w->head = *head;
    w->opts = opts;
    w->index = t;
    w->region_start = t * per_thread * (opts.bs / lba);
    w->region_blocks = per_thread;
    w->seed = seed;
    w->start_at = start_at;
    workers.push_back(std::move(w));
  }
  const auto duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(opts.seconds));
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&w, duration] { w->run(duration); });
  }
  auto next_report = start_at + 1s;
  auto all_done = [&] {
    for (auto& w : workers) {
      if (!w->ready) return false;
    }
    return std::chrono::steady_clock::now() >= start_at + duration;
  };
  const auto hard_end = start_at + duration + 30s;
  while (!all_done() && std::chrono::steady_clock::now() < hard_end) {
    std::this_thread::sleep_for(10ms);
    if (progress && std::chrono::steady_clock::now() >= next_report) {
      std::uint64_t ios = 0;
      for (auto& w : workers) ios += w->ios.load(std::memory_order_relaxed);
      progress(ios, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_at).count());
      next_report += 1s;
    }
  }
  for (auto& t : threads) t.join();

  BenchResult res;
  double cpu_start = 0, cpu_end = 0;  // the process's CPU seconds when the first worker started, the last ended
  for (std::size_t i = 0; i < workers.size(); ++i) {
    cpu_start = i == 0 ? workers[i]->cpu_start_s : std::min(cpu_start, workers[i]->cpu_start_s);
    cpu_end = std::max(cpu_end, workers[i]->cpu_end_s);
  }
  res.cpu_s = cpu_end - cpu_start;
  res.start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          (std::chrono::system_clock::now() + (start_at - std::chrono::steady_clock::now()))
                              .time_since_epoch())
                          .count();
  LatencyHistogram hist;
  for (auto& w : workers) {
    hist.merge(w->hist);
    res.errors += w->errors;
    res.verify_failures += w->verify_failures;
    if (res.first_error.empty()) res.first_error = w->first_error;
    res.max_stall_ms = std::max(res.max_stall_ms, w->max_stall_ms);
    res.stalls.insert(res.stalls.end(), w->stalls.begin(), w->stalls.end());
  }
  std::sort(res.stalls.begin(), res.stalls.end(), [](const Stall& a, const Stall& b) { return a.at_s < b.at_s; });
  res.ios = hist.count();
  res.seconds = opts.seconds;
  res.iops = static_cast<double>(res.ios) / res.seconds;
  res.mib_s = res.iops * opts.bs / (1024.0 * 1024.0);
  res.lat_avg_us = hist.mean_ns() / 1000.0;
  res.lat_p50_us = static_cast<double>(hist.quantile_ns(0.50)) / 1000.0;
  res.lat_p99_us = static_cast<double>(hist.quantile_ns(0.99)) / 1000.0;
  res.lat_p999_us = static_cast<double>(hist.quantile_ns(0.999)) / 1000.0;
  res.lat_max_us = static_cast<double>(hist.max_ns()) / 1000.0;
  for (const double pct : kLatencyPercentiles) {
    res.lat_percentiles_us.emplace_back(pct, static_cast<double>(hist.quantile_ns(pct / 100.0)) / 1000.0);
  }
  const TopologyInfo topo = fabric.topology();
  for (const auto& h : topo.heads) {
    if (h.id != head->id) continue;
    res.wwid = h.wwid;
    res.policy = io_policy_name(h.policy);
    res.failovers = h.counters.failovers;
    res.retries = h.counters.retries;
    for (const auto& hp : h.paths) {
      for (const auto& p : topo.paths) {
        if (p.id != hp.path_id) continue;
        res.paths.push_back(BenchPath{p.traddr, p.trsvcid, p.cntlid, hp.ana_state, p.state, p.counters.ios,
                                      p.counters.errors, p.counters.failovers, p.counters.stalls, p.reconnects,
                                      p.auth, p.tls});
      }
    }
  }
  if (res.wwid.empty()) res.wwid = head->wwid;
  return res;
}

}  // namespace nvmemp::tools
