#include "bench.h"

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "controller/io_queue.h"
#include "latency_histogram.h"

namespace nvmemp::tools {

using namespace std::chrono_literals;
using controller::Controller;
using controller::CtrlState;

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

struct Slot {
  std::vector<std::uint8_t> buf;
  std::vector<std::uint8_t> expect;
  std::uint64_t slba = 0;
  bool is_write = false;
  TimePoint started{};
};

struct Worker {
  // Set before the thread starts.
  const controller::ControllerOptions* copts = nullptr;
  const controller::ControllerInfo* info = nullptr;
  BenchOptions opts;
  std::uint16_t qid = 1;
  std::uint64_t region_start = 0;  // LBAs of this thread's region
  std::uint64_t region_blocks = 0; // in units of bs
  std::uint32_t lba_size = 512;
  std::uint64_t seed = 1;
  // Results, read after join.
  LatencyHistogram hist;
  std::uint64_t errors = 0;
  std::uint64_t verify_failures = 0;
  std::string first_error;
  std::string ring_flags;
  // Progress, read by the main thread while running.
  std::atomic<std::uint64_t> ios{0};
  std::atomic<bool> ready{false};

  SteadyClock clock;
  std::unique_ptr<controller::IoQueue> q;
  std::vector<Slot> slots;
  std::mt19937_64 rng;
  std::uint64_t seq_next = 0;
  bool stopping = false;
  std::uint32_t inflight = 0;

  void error(std::string e) {
    ++errors;
    if (first_error.empty()) first_error = std::move(e);
  }

  std::uint64_t next_block(bool sequential) {
    if (sequential) return seq_next++ % region_blocks;
    return rng() % region_blocks;
  }

  void issue(std::size_t i, bool retry_read_of_verify = false) {
    Slot& s = slots[i];
    const std::uint32_t nlb = opts.bs / lba_size;
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
          fill_pattern(s.expect, s.slba * lba_size, seed);
          std::memcpy(s.buf.data(), s.expect.data(), s.buf.size());
        }
        break;
    }
    s.is_write = write;
    auto sqe = write ? wire::make_write(opts.nsid, s.slba, nlb, opts.bs, info->max_icd)
                     : wire::make_read(opts.nsid, s.slba, nlb, opts.bs);
    if (!sqe) {
      error(sqe.error().message);
      return;
    }
    transport::Command cmd{*sqe, write ? MutBytes() : MutBytes(s.buf), write ? Bytes(s.buf) : Bytes(),
                           reinterpret_cast<void*>(i)};
    s.started = clock.now();
    auto cid = q->qp().submit(cmd);
    if (!cid) {
      error(cid.error().message);
      return;
    }
    ++inflight;
  }

  static void on_complete(void* ctx, const transport::Completion& c) {
    auto* w = static_cast<Worker*>(ctx);
    const auto i = reinterpret_cast<std::uintptr_t>(c.user);
    Slot& s = w->slots[i];
    --w->inflight;
    if (!w->stopping) {  // what completes while draining is not counted in the numbers
      w->hist.record(static_cast<std::uint64_t>((w->clock.now() - s.started).count()));
      w->ios.fetch_add(1, std::memory_order_relaxed);
    }
    if (!c.status.ok()) {
      w->error(fmt::format("{} LBA {}: {}", s.is_write ? "write" : "read", s.slba, c.status.to_string()));
    } else if (w->opts.workload == Workload::Verify && !s.is_write && s.buf != s.expect) {
      ++w->verify_failures;
    }
    if (w->stopping) return;
    // Verify: a completed write is read back from the same blocks; a read starts a new write.
    const bool read_back = w->opts.workload == Workload::Verify && s.is_write && c.status.ok();
    if (read_back) std::fill(s.buf.begin(), s.buf.end(), 0);
    w->issue(i, read_back);
  }

  void run(std::chrono::steady_clock::time_point start_at, std::chrono::nanoseconds duration) {
    auto r = transport::Reactor::create(clock, 2 * opts.iodepth + 16);
    if (!r) {
      error(r.error().message);
      ready = true;
      return;
    }
    ring_flags = (*r)->ring_flags();
    auto qr = controller::IoQueue::open(**r, clock, *copts, *info, qid, &Worker::on_complete, this);
    ready = true;
    if (!qr) {
      error(qr.error().message);
      return;
    }
    q = std::move(*qr);
    rng.seed(seed ^ qid);
    slots.resize(opts.iodepth);
    for (auto& s : slots) {
      s.buf.resize(opts.bs);
      s.expect.resize(opts.workload == Workload::Verify ? opts.bs : 0);
    }
    std::this_thread::sleep_until(start_at);
    const auto end = std::chrono::steady_clock::now() + duration;
    for (std::size_t i = 0; i < slots.size(); ++i) issue(i);
    while (std::chrono::steady_clock::now() < end && !q->closed() && inflight > 0) {
      if (auto p = (*r)->poll(1ms); !p) {
        error(p.error().message);
        break;
      }
    }
    stopping = true;
    const auto drain_end = std::chrono::steady_clock::now() + 10s;  // bounded drain
    while (inflight > 0 && !q->closed() && std::chrono::steady_clock::now() < drain_end) {
      (void)(*r)->poll(1ms);
    }
    if (q->closed()) error(q->close_reason());
    q.reset();
  }
};

}  // namespace

Result<BenchResult> run_bench(const controller::ControllerOptions& copts_in, const BenchOptions& opts,
                              const std::function<void(std::uint64_t, double)>& progress) {
  if (opts.threads == 0 || opts.threads > 64 || opts.iodepth == 0 || opts.iodepth > 1024 || opts.bs == 0 ||
      !(opts.seconds > 0)) {
    return make_error(Errc::InvalidArgument, "bench: threads 1..64, iodepth 1..1024, bs > 0, time > 0");
  }
  controller::ControllerOptions copts = copts_in;
  copts.nr_io_queues = static_cast<std::uint16_t>(opts.threads);
  copts.queue_size = static_cast<std::uint16_t>(std::max<std::uint32_t>(opts.iodepth + 1, 16));
  copts.max_data_len = std::max<std::uint32_t>(copts.max_data_len, opts.bs);
  SteadyClock clock;
  auto reactor = transport::Reactor::create(clock);
  if (!reactor) return tl::unexpected(reactor.error());
  Controller ctrl(**reactor, clock, copts);
  std::optional<Result<void>> up;
  ctrl.connect([&](const Result<void>& r) { up = r; });
  const auto connect_deadline = std::chrono::steady_clock::now() + copts.connect_timeout + 30s;
  while (!up && std::chrono::steady_clock::now() < connect_deadline) {
    (void)(*reactor)->poll(10ms);
    ctrl.tick();
  }
  if (!up) return make_error(Errc::Timeout, fmt::format("{}: bring-up did not finish", ctrl.name()));
  if (!*up) return tl::unexpected(up->error());
  const auto& info = ctrl.info();
  const controller::NamespaceInfo* ns = nullptr;
  for (const auto& n : info.namespaces) {
    if (n.nsid == opts.nsid) ns = &n;
  }
  if (ns == nullptr) {
    return make_error(Errc::NotFound, fmt::format("{}: namespace {} is not active there", ctrl.name(), opts.nsid));
  }
  const auto lba = static_cast<std::uint32_t>(ns->id.lba_size());
  if (lba == 0 || opts.bs % lba != 0 || opts.bs / lba > wire::kMaxNlb) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("--bs {} must be a multiple of the namespace's {}-byte blocks", opts.bs, lba));
  }
  if (opts.bs > info.max_data_len) {
    return make_error(Errc::InvalidArgument, fmt::format("--bs {} exceeds {}'s largest transfer of {} bytes",
                                                         opts.bs, ctrl.name(), info.max_data_len));
  }
  if (info.io_queues < opts.threads) {
    return make_error(Errc::InvalidArgument, fmt::format("{} granted {} I/O queues, fewer than --threads {}",
                                                         ctrl.name(), info.io_queues, opts.threads));
  }
  const std::uint64_t blocks_total = ns->id.nsze * lba / opts.bs;
  const std::uint64_t per_thread = blocks_total / opts.threads;
  if (per_thread < opts.iodepth) {
    return make_error(Errc::InvalidArgument, "bench: namespace too small for this bs, iodepth and threads");
  }
  const std::uint64_t seed =
      opts.seed != 0 ? opts.seed : static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());

  std::vector<std::unique_ptr<Worker>> workers;
  for (std::uint32_t t = 0; t < opts.threads; ++t) {
    auto w = std::make_unique<Worker>();
    w->copts = &copts;
    w->info = &info;
    w->opts = opts;
    w->qid = static_cast<std::uint16_t>(t + 1);
    w->region_start = t * per_thread * (opts.bs / lba);
    w->region_blocks = per_thread;
    w->lba_size = lba;
    w->seed = seed;
    workers.push_back(std::move(w));
  }
  // Queues are set up first; the clock starts when all are ready.
  const auto start_at = std::chrono::steady_clock::now() + 500ms + std::chrono::milliseconds(200 * opts.threads);
  const auto duration = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(opts.seconds));
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    threads.emplace_back([&w, start_at, duration] { w->run(start_at, duration); });
  }
  // The main thread keeps the admin queue alive (keep-alive) and reports progress.
  auto next_report = start_at + 1s;
  auto all_done = [&] {
    for (auto& w : workers) {
      if (!w->ready) return false;
    }
    return std::chrono::steady_clock::now() >= start_at + duration;
  };
  const auto hard_end = start_at + duration + 30s;
  while (!all_done() && std::chrono::steady_clock::now() < hard_end) {
    (void)(*reactor)->poll(10ms);
    ctrl.tick();
    if (progress && std::chrono::steady_clock::now() >= next_report) {
      std::uint64_t ios = 0;
      for (auto& w : workers) ios += w->ios.load(std::memory_order_relaxed);
      progress(ios, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_at).count());
      next_report += 1s;
    }
  }
  for (auto& t : threads) t.join();

  BenchResult res;
  LatencyHistogram hist;
  for (auto& w : workers) {
    hist.merge(w->hist);
    res.errors += w->errors;
    res.verify_failures += w->verify_failures;
    if (res.first_error.empty()) res.first_error = w->first_error;
    res.ring_flags = w->ring_flags;
  }
  res.ios = hist.count();
  res.seconds = opts.seconds;
  res.iops = static_cast<double>(res.ios) / res.seconds;
  res.mib_s = res.iops * opts.bs / (1024.0 * 1024.0);
  res.lat_avg_us = hist.mean_ns() / 1000.0;
  res.lat_p50_us = static_cast<double>(hist.quantile_ns(0.50)) / 1000.0;
  res.lat_p99_us = static_cast<double>(hist.quantile_ns(0.99)) / 1000.0;
  res.lat_p999_us = static_cast<double>(hist.quantile_ns(0.999)) / 1000.0;
  res.lat_max_us = static_cast<double>(hist.max_ns()) / 1000.0;
  std::optional<Result<void>> down;
  ctrl.shutdown([&](const Result<void>& r) { down = r; });
  const auto down_deadline = std::chrono::steady_clock::now() + 10s;
  while (!down && std::chrono::steady_clock::now() < down_deadline) {
    (void)(*reactor)->poll(10ms);
    ctrl.tick();
  }
  return res;
}

}  // namespace nvmemp::tools
