// Path probes: errno classification, sense/TUR/RTPG decoding (pure), and the SG_IO TUR prober
// with its O_DIRECT io_uring fallback on a thread of its own (see path_probe.h).
#include "path_probe.h"

#include "multipath/block_path.h"

#include <fcntl.h>
#include <liburing.h>
#include <linux/fs.h>
#include <scsi/sg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>

namespace nvmemp::scsi {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kEnoioctlcmd = 515;  // the kernel's internal "no such ioctl", should it leak
constexpr milliseconds kCallerGrace{500};
constexpr int kTurAttempts = 5;    // as multipath-tools' tur checker, for transient answers
constexpr std::size_t kDirectioBytes = 4096;

// SAM status codes.
constexpr std::uint8_t kGood = 0x00, kCheckCondition = 0x02, kConditionMet = 0x04, kBusy = 0x08,
                       kIntermediate = 0x10, kIntermediateCondMet = 0x14, kReservationConflict = 0x18,
                       kTaskSetFull = 0x28, kTaskAborted = 0x40;
// Host bytes (include/scsi/scsi_status.h).
constexpr const char* kHostNames[] = {
    "DID_OK", "DID_NO_CONNECT", "DID_BUS_BUSY", "DID_TIME_OUT", "DID_BAD_TARGET", "DID_ABORT", "DID_PARITY",
    "DID_ERROR", "DID_RESET", "DID_BAD_INTR", "DID_PASSTHROUGH", "DID_SOFT_ERROR", "DID_IMM_RETRY",
    "DID_REQUEUE", "DID_TRANSPORT_DISRUPTED", "DID_TRANSPORT_FAILFAST", "DID_TARGET_FAILURE",
    "DID_NEXUS_FAILURE", "DID_ALLOC_FAILURE", "DID_MEDIUM_ERROR", "DID_TRANSPORT_MARGINAL"};
constexpr std::uint16_t kDriverTimeout = 0x06, kDriverSense = 0x08;

std::string host_name(std::uint16_t h) {
  return h < std::size(kHostNames) ? kHostNames[h] : fmt::format("host byte {:#04x}", h);
}
bool transient_host(std::uint16_t h) {
  return h == 0x02 || h == 0x08 || h == 0x0b || h == 0x0c || h == 0x0d || h == 0x0e;
}

const char* key_name(std::uint8_t k) {
  static constexpr const char* names[] = {"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
                                          "HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
                                          "BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
                                          "sense key 0xc", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED"};
  return names[k & 0x0f];
}

ProbeResult make(ProbeState s, bool reached, std::string detail, bool retry = false) {
  ProbeResult r;
  r.state = s;
  r.reached_target = reached;
  r.detail = std::move(detail);
  r.retry = retry;
  return r;
}

ProbeResult from_sense(const SenseInfo& si) {
  const std::string what = fmt::format("CHECK CONDITION, {} {:02x}/{:02x}", key_name(si.key), si.asc, si.ascq);
  ProbeResult r;
  switch (si.key) {
    case 0x0:
    case 0x1:
      r = make(ProbeState::Up, true, what);
      break;
    case 0x2:
      if (si.asc == 0x04 && si.ascq == 0x0a) {
        r = make(ProbeState::Transitioning, true, what + " (asymmetric access state transition)");
      } else if (si.asc == 0x04 && si.ascq == 0x0b) {
        r = make(ProbeState::Standby, true, what + " (target port in standby state)");
      } else if (si.asc == 0x04 && si.ascq == 0x0c) {
        r = make(ProbeState::Unavailable, true, what + " (target port in unavailable state)");
      } else if (si.asc == 0x04 && si.ascq == 0x12) {
        r = make(ProbeState::Unavailable, true, what + " (logical unit offline)");
      } else {
        r = make(ProbeState::NotReady, true, what, si.asc == 0x04 && si.ascq == 0x01);  // becoming ready
      }
      break;
    case 0x6:  // reported once per I_T nexus: the path works; asking again shows the state behind it
      r = make(ProbeState::Up, true, what + (si.asc == 0x2a && si.ascq == 0x06 ? " (asymmetric access state changed)" : ""),
               true);
      break;
    case 0xb:
      r = make(ProbeState::Down, true, what, true);
      break;
    default:
      r = make(ProbeState::Down, true,
               what + (si.key == 0x5 && si.asc == 0x25 ? " (logical unit not supported through this port)" : ""));
  }
  r.sense = si;
  return r;
}

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

// ---- classification -----------------------------------------------------------------------

IoErrorClass classify_io_errno(int err) {
  if (err < 0) err = -err;
  if (err == 0) return IoErrorClass::None;
  // One table for the library's block paths and this adapter (multipath/block_path.h).
  return multipath::block_path_error(err) ? IoErrorClass::PathError : IoErrorClass::TargetError;
}

const char* io_error_class_name(IoErrorClass c) {
  switch (c) {
    case IoErrorClass::None: return "none";
    case IoErrorClass::PathError: return "path error";
    case IoErrorClass::TargetError: return "target error";
  }
  return "?";
}

const char* probe_state_name(ProbeState s) {
  switch (s) {
    case ProbeState::Up: return "up";
    case ProbeState::Down: return "down";
    case ProbeState::Transitioning: return "transitioning";
    case ProbeState::Standby: return "standby";
    case ProbeState::Unavailable: return "unavailable";
    case ProbeState::NotReady: return "not-ready";
  }
  return "?";
}

// ---- sense and TUR ------------------------------------------------------------------------

std::optional<SenseInfo> parse_sense(std::span<const std::uint8_t> s) {
  if (s.empty()) return std::nullopt;
  SenseInfo si;
  si.response_code = s[0] & 0x7f;
  if (si.response_code == 0x72 || si.response_code == 0x73) {
    if (s.size() < 4) return std::nullopt;
    si.key = s[1] & 0x0f;
    si.asc = s[2];
    si.ascq = s[3];
    return si;
  }
  if (si.response_code == 0x70 || si.response_code == 0x71) {
    if (s.size() < 3) return std::nullopt;
    si.key = s[2] & 0x0f;
    // ASC/ASCQ at 12/13 exist when the additional sense length (byte 7) reaches them.
    if (s.size() >= 14 && s[7] >= 6) {
      si.asc = s[12];
      si.ascq = s[13];
    }
    return si;
  }
  return std::nullopt;
}

ProbeResult decode_tur(std::uint8_t status, std::uint16_t host_status, std::uint16_t driver_status,
                       std::span<const std::uint8_t> sense) {
  if (host_status != 0) {
    return make(ProbeState::Down, false, fmt::format("transport: {}", host_name(host_status)),
                transient_host(host_status));
  }
  const std::uint16_t drv = driver_status & 0x0f;
  if (drv == kDriverTimeout) return make(ProbeState::Down, false, "the command timed out (DRIVER_TIMEOUT)");
  if (drv != 0 && drv != kDriverSense) {
    return make(ProbeState::Down, false, fmt::format("driver status {:#04x}", driver_status));
  }
  switch (status & 0xfe) {
    case kGood:
    case kConditionMet:
    case kIntermediate:
    case kIntermediateCondMet:
      return make(ProbeState::Up, true, "GOOD");
    case kReservationConflict:  // another initiator holds a reservation; the path works
      return make(ProbeState::Up, true, "RESERVATION CONFLICT (the path works)");
    case kBusy:
    case kTaskSetFull:
      return make(ProbeState::Up, true, fmt::format("{} (the target answered)", (status & 0xfe) == kBusy ? "BUSY" : "TASK SET FULL"),
                  true);
    case kCheckCondition: {
      auto si = parse_sense(sense);
      if (!si) return make(ProbeState::Down, true, "CHECK CONDITION without usable sense data");
      return from_sense(*si);
    }
    default:
      return make(ProbeState::Down, true, fmt::format("SCSI status {:#04x}", status), (status & 0xfe) == kTaskAborted);
  }
}

// ---- REPORT TARGET PORT GROUPS ------------------------------------------------------------

std::array<std::uint8_t, 12> rtpg_cdb(std::uint32_t len, bool extended) {
  return {0xa3, static_cast<std::uint8_t>(0x0a | (extended ? 0x20 : 0x00)), 0, 0, 0, 0,
          static_cast<std::uint8_t>(len >> 24), static_cast<std::uint8_t>(len >> 16),
          static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len), 0, 0};
}

Result<RtpgData> parse_rtpg(std::span<const std::uint8_t> d) {
  if (d.size() < 4) return make_error(Errc::Truncated, fmt::format("RTPG data: {} bytes, the header needs 4", d.size()));
  const std::size_t total = 4 + ((std::size_t{d[0]} << 24) | (std::size_t{d[1]} << 16) | (std::size_t{d[2]} << 8) | d[3]);
  if (d.size() < total) {
    return make_error(Errc::Truncated, fmt::format("RTPG data: {} bytes of the {} announced; re-issue with an "
                                                   "allocation length of at least {}", d.size(), total, total));
  }
  RtpgData r;
  std::size_t off = 4;
  if (total >= 8 && ((d[4] >> 4) & 0x7) == 1) {
    r.extended = true;
    r.implicit_transition_secs = d[5];
    off = 8;
  }
  while (off < total) {
    if (off + 8 > total) {
      return make_error(Errc::Malformed, fmt::format("RTPG data: a descriptor at offset {} runs past the end ({})", off, total));
    }
    TargetPortGroupDesc g;
    g.preferred = (d[off] & 0x80) != 0;
    g.state = d[off] & 0x0f;
    g.supported = d[off + 1];
    g.id = be16(&d[off + 2]);
    g.status_code = d[off + 5];
    const std::size_t ports = d[off + 7];
    off += 8;
    if (off + 4 * ports > total) {
      return make_error(Errc::Malformed, fmt::format("RTPG data: group {} lists {} ports past the end ({})", g.id, ports, total));
    }
    for (std::size_t i = 0; i < ports; ++i, off += 4) g.relative_ports.push_back(be16(&d[off + 2]));
    r.groups.push_back(std::move(g));
  }
  return r;
}

const char* alua_state_name(std::uint8_t state) {
  switch (state) {
    case 0x0: return "active/optimized";
    case 0x1: return "active/non-optimized";
    case 0x2: return "standby";
    case 0x3: return "unavailable";
    case 0x4: return "lba-dependent";
    case 0xe: return "offline";
    case 0xf: return "transitioning";
    default: return "unknown";
  }
}

// ---- the SG_IO prober ---------------------------------------------------------------------

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

milliseconds left(Clock::time_point deadline) {
  return std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// One O_DIRECT read of the first 4 KiB (or one logical block if larger) through io_uring, the
// read linked to a timeout. `publish` gets the verdict as soon as it is known; the function
// returns only once the kernel no longer uses the buffer.
template <class Publish>
void directio_check(int fd, Clock::time_point deadline, Publish&& publish_any) {
  auto publish = [&](ProbeResult r, bool io_ended = true) {
    r.method = ProbeMethod::Directio;
    publish_any(std::move(r), io_ended);
  };
  int lbs = 0;
  std::size_t len = kDirectioBytes;
  if (::ioctl(fd, BLKSSZGET, &lbs) == 0 && lbs > 0 && static_cast<std::size_t>(lbs) > len) len = static_cast<std::size_t>(lbs);
  // O_NONBLOCK off: with it io_uring would fail a read the block layer cannot take at once
  // (tags exhausted under load) with EAGAIN instead of retrying it, a false "down".
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, (flags | O_DIRECT) & ~O_NONBLOCK) < 0) {
    publish(make(ProbeState::Down, false, fmt::format("directio: cannot set O_DIRECT: {}", std::strerror(errno))));
    return;
  }
  void* buf = std::aligned_alloc(kDirectioBytes, len);
  io_uring ring{};
  if (buf == nullptr || io_uring_queue_init(4, &ring, 0) < 0) {
    std::free(buf);
    publish(make(ProbeState::Down, false, "directio: no io_uring or memory for the read"));
    return;
  }
  const auto ms = left(deadline);
  __kernel_timespec ts{};
  ts.tv_sec = ms.count() / 1000;
  ts.tv_nsec = (ms.count() % 1000) * 1000000;
  io_uring_sqe* rd = io_uring_get_sqe(&ring);
  io_uring_prep_read(rd, fd, buf, static_cast<unsigned>(len), 0);
  rd->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(rd, 1);
  io_uring_sqe* to = io_uring_get_sqe(&ring);
  io_uring_prep_link_timeout(to, &ts, 0);
  io_uring_sqe_set_data64(to, 2);
  const auto started = Clock::now();
  if (int r = io_uring_submit(&ring); r < 0) {
    publish(make(ProbeState::Down, false, fmt::format("directio: io_uring_submit: {}", std::strerror(-r))));
  } else {
    bool read_done = false;
    while (!read_done) {
      io_uring_cqe* cqe = nullptr;
      if (io_uring_wait_cqe(&ring, &cqe) < 0) continue;  // EINTR
      const auto which = io_uring_cqe_get_data64(cqe);
      const int res = cqe->res;
      io_uring_cqe_seen(&ring, cqe);
      if (which == 2) {
        // -ECANCELED: the read ended first. Anything else: the timeout fired and the read was
        // cancelled (-ETIME) or is already at the device (-EALREADY, or -ENOENT once the block
        // layer has it) and ends when the device answers. Either way the verdict is known now.
        if (res != -ECANCELED) {
          // The verdict is known, the read is not over: a probe meanwhile must not start another.
          publish(make(ProbeState::Down, false, fmt::format("directio: no answer to a {}-byte read within {} ms", len, ms.count())),
                  false);
        }
        continue;
      }
      read_done = true;
      const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
      if (res == static_cast<int>(len)) {
        publish(make(ProbeState::Up, true, fmt::format("directio: read {} bytes at 0 in {} ms", len, took)));
      } else if (res == -ECANCELED) {
        publish(make(ProbeState::Down, false, fmt::format("directio: no answer to a {}-byte read within {} ms", len, ms.count())));
      } else if (res < 0) {
        const bool target = classify_io_errno(res) == IoErrorClass::TargetError;
        publish(make(ProbeState::Down, target, fmt::format("directio: read failed: {} ({})", std::strerror(-res),
                                                           io_error_class_name(classify_io_errno(res)))));
      } else {
        publish(make(ProbeState::Down, true, fmt::format("directio: short read, {} of {} bytes", res, len)));
      }
    }
  }
  io_uring_queue_exit(&ring);
  std::free(buf);
}

template <class Publish>
void run_probe(const std::string& dev, milliseconds timeout, Publish&& publish) {
  const auto deadline = Clock::now() + timeout;
  // O_NONBLOCK: sd_open() then skips its own waits for a device in error handling.
  Fd f(::open(dev.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (f.fd < 0) {
    publish(make(ProbeState::Down, false, fmt::format("open {}: {}", dev, std::strerror(errno))));
    return;
  }
  ProbeResult last;
  for (int attempt = 0; attempt < kTurAttempts; ++attempt) {
    std::uint8_t cdb[6] = {0, 0, 0, 0, 0, 0};  // TEST UNIT READY
    std::uint8_t sense[64] = {};
    sg_io_hdr_t h{};
    h.interface_id = 'S';
    h.dxfer_direction = SG_DXFER_NONE;
    h.cmd_len = sizeof(cdb);
    h.cmdp = cdb;
    h.mx_sb_len = sizeof(sense);
    h.sbp = sense;
    h.timeout = static_cast<unsigned>(left(deadline).count());
    if (::ioctl(f.fd, SG_IO, &h) < 0) {
      const int err = errno;
      if (err == ENOTTY || err == EINVAL || err == kEnoioctlcmd) {
        directio_check(f.fd, deadline, publish);
        return;
      }
      ProbeResult r = make(ProbeState::Down, false, fmt::format("tur: SG_IO: {}", std::strerror(err)));
      r.method = ProbeMethod::Tur;
      publish(std::move(r));
      return;
    }
    last = decode_tur(h.status, h.host_status, h.driver_status, std::span<const std::uint8_t>(sense, h.sb_len_wr));
    last.method = ProbeMethod::Tur;
    last.detail = "tur: " + last.detail;
    if (!last.retry || Clock::now() >= deadline) break;
  }
  publish(std::move(last));
}

struct Job {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<ProbeResult> result;  // the verdict, as soon as it is known
  bool finished = false;              // the job's I/O has ended (no read of it is at the device)
};

class SgPathProber final : public PathProber {
 public:
  ProbeResult probe(const std::string& dev, milliseconds timeout) override {
    std::shared_ptr<Job> job;
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto it = inflight_.find(dev);
      if (it != inflight_.end()) {
        std::lock_guard<std::mutex> jl(it->second->mu);
        if (!it->second->finished) {
          return make(ProbeState::Down, false,
                      fmt::format("{}: the previous probe's I/O has not come back from the device yet", dev));
        }
      }
      job = std::make_shared<Job>();
      inflight_[dev] = job;
    }
    auto work = [job, dev, timeout] {
      bool first = true;
      // `io_ended`: the verdict came with the I/O's end. The next probe of the device may then
      // start at once, though this thread still has its clean-up to do; only a verdict given
      // while the I/O hangs keeps it waiting (it came back as "the previous probe's I/O has not
      // come back" when asked right after an answered probe: a race with that clean-up).
      run_probe(dev, timeout, [&](ProbeResult r, bool io_ended = true) {
        if (!first) return;
        first = false;
        std::lock_guard<std::mutex> lk(job->mu);
        job->result = std::move(r);
        job->finished = io_ended;
        job->cv.notify_all();
      });
      std::lock_guard<std::mutex> lk(job->mu);
      if (first) job->result = make(ProbeState::Down, false, "probe ended without a verdict");  // never happens
      job->finished = true;
      job->cv.notify_all();
    };
    try {
      std::thread(std::move(work)).detach();
    } catch (const std::system_error& e) {  // no thread to be had: say so, as a value
      std::lock_guard<std::mutex> lk(mu_);
      inflight_.erase(dev);
      return make(ProbeState::Down, false, fmt::format("{}: cannot start the probe thread: {}", dev, e.what()));
    }
    std::unique_lock<std::mutex> lk(job->mu);
    if (!job->cv.wait_for(lk, timeout + kCallerGrace, [&] { return job->result.has_value(); })) {
      return make(ProbeState::Down, false,
                  fmt::format("{}: no verdict within {} ms (the device does not answer)", dev, (timeout + kCallerGrace).count()));
    }
    return *job->result;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Job>> inflight_;  // last job per device
};

}  // namespace

std::unique_ptr<PathProber> make_sg_path_prober() { return std::make_unique<SgPathProber>(); }

}  // namespace nvmemp::scsi
