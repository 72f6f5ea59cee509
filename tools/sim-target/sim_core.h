// The simulated target's state and event loop (internal). Everything here is owned by the
// loop thread; other threads reach it only through Core::post_control().
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "control_parse.h"
#include "nvmemp/result.h"
#include "nvmemp/status.h"
#include "sim_target.h"
#include "wire/sqe.h"

namespace nvmemp::sim {

using SimClock = std::chrono::steady_clock;

class Connection;
class CtlConnection;
class SimAuth;
struct CtrlAuth;

// Anything registered with epoll: epoll_event.data.ptr points to one.
class Pollable {
 public:
  virtual ~Pollable() = default;
  virtual void on_events(std::uint32_t events) = 0;
};

// Namespace data in 64 KiB chunks allocated on first write (unwritten reads as zeros), so a
// 64 MiB namespace costs nothing until it is used.
class NamespaceStore {
 public:
  explicit NamespaceStore(std::uint64_t size_bytes);
  std::uint64_t size() const { return size_; }
  void read(std::uint64_t off, MutBytes out) const;  // off + out.size() <= size()
  void write(std::uint64_t off, Bytes in);
  void zero(std::uint64_t off, std::uint64_t len);

 private:
  static constexpr std::size_t kChunk = 64 * 1024;
  std::uint64_t size_;
  std::vector<std::unique_ptr<std::uint8_t[]>> chunks_;
};

struct SimNamespace {
  std::uint32_t nsid = 0;
  std::uint32_t anagrpid = 0;
  bool enabled = true;
  std::array<std::uint8_t, 16> nguid{};
  std::array<std::uint8_t, 16> uuid{};
  std::unique_ptr<NamespaceStore> store;  // survives controller resets
};

// Fault injection on one port (the FaultPlan): every field defaults to "no fault".
struct PortFaults {
  bool blackhole = false;            // read and drop everything, answer nothing, keep TCP open
  std::uint32_t latency_ms = 0;      // every PDU sent waits this long
  bool corrupt_next_digest = false;  // the next PDU sent with a digest gets a wrong one
  bool corrupt_next_tls = false;     // the next TLS record sent gets a flipped bit in its tag
  bool tls_keyupdate = false;        // a KeyUpdate (update_requested) before the next records
  std::uint32_t drop_after = 0;      // 0: off; else PDUs to send before closing that connection
  // Admin opcodes accepted and never completed on this port's controllers (ka-ignore is bit
  // 0x18; with it set the target's keep-alive timer is held, as for a blackhole, so only the
  // host's own timeouts end anything).
  std::bitset<256> never_complete;
  // The hostile-target suite (sim_hostile.cc).
  HostileMode hostile = HostileMode::Off;  // one-shot protocol violation, then honest again
  std::uint32_t hang_steps = 0;            // never-complete by step: bit = HangStep
  bool trickle = false;                    // every byte sent in its own send()
  bool genctr_churn = false;               // discovery log GENCTR + 1 on every read
  std::uint16_t crdt_100ms = 0;            // Identify CRDT1..3 reported
};

// An in-capsule write received while its port was a blackhole: applied or dropped on command.
struct HeldWrite {
  std::uint32_t nsid = 0;
  std::uint64_t offset = 0;  // bytes
  std::vector<std::uint8_t> data;
};

struct SimPort {
  std::uint16_t tcp_port = 0;  // bound number, kept across port-down/port-up
  int listen_fd = -1;
  bool up = true;
  // The subsystem is reachable here (its discovery log entry, Connect to it). `unlink` clears
  // it while the port keeps serving discovery: a discovery log change on a live controller.
  bool linked = true;
  std::map<std::uint32_t, SimAnaState> ana;  // group -> state; a missing group is inaccessible
  Pollable* listener = nullptr;  // owned by Core::live_ while listening
  PortFaults faults;
  std::vector<HeldWrite> held;
};

// Asynchronous event kinds, one bit each in Controller::pending_aen / masked_aen.
enum AenKind : std::uint32_t { kAenNsAttr = 1, kAenAna = 2, kAenDisc = 4 };

// One controller (admin queue + its I/O queues), NVMe over Fabrics 1.1 section 3.3.
struct Controller {
  std::uint16_t cntlid = 0;
  bool discovery = false;
  std::size_t port = 0;  // index into Core::ports_
  std::string hostnqn;
  wire::HostId hostid{};
  std::uint32_t kato_ms = 0;  // 0: no keep-alive timeout
  SimClock::time_point last_seen;
  std::uint32_t cc = 0;
  std::uint32_t csts = 0;
  std::uint32_t aec = wire::kAecNsAttr | wire::kAecAna | wire::kAecDiscoveryLogChange;
  std::uint16_t nr_io_queues = 0;  // granted by Set Features 0x07 (count, not 0's based)
  Connection* admin = nullptr;
  std::vector<Connection*> io;
  std::deque<std::uint16_t> aers;  // outstanding Asynchronous Event Requests (CIDs)
  std::uint32_t pending_aen = 0;   // events waiting for an AER
  std::uint32_t masked_aen = 0;    // reported, masked until their log page is read (RAE 0)
  std::vector<std::uint32_t> changed_ns;  // Changed Namespace List (log 0x04)
  bool changed_ns_overflow = false;
  std::uint32_t storm_left = 0;  // aen-storm: ANA notices still to send, one per AER
  // In-band authentication (sim_auth.h): the keys of its host when it connected; null: none
  // (every queue may run commands at once, as before any `auth-host`).
  std::shared_ptr<const CtrlAuth> auth;
};

// What executing a command gives back to its connection.
struct CmdResult {
  Status status;
  std::uint32_t dw0 = 0;
  std::uint32_t dw1 = 0;
  std::vector<std::uint8_t> data;  // controller-to-host data (C2HData), sent when status ok
  std::uint32_t zero_len = 0;      // or this many zero bytes from the shared zero buffer (null namespace)
  bool deferred = false;           // completes later (AER)
  // Once this completion is sent the controller fails (nvmet_ctrl_fatal_error after an
  // authentication failure): all its queues close.
  bool fatal_after = false;
};

inline CmdResult status_result(std::uint8_t sct, std::uint8_t sc, bool dnr = true) {
  CmdResult r;
  r.status = Status::from_parts(sct, sc, dnr);
  return r;
}

// Transfer limits. MDTS 8 = 1 MiB in CAP.MPSMIN (4 KiB) pages (Identify Controller MDTS).
inline constexpr std::uint8_t kMdts = 8;
inline constexpr std::uint32_t kMaxTransferBytes = 4096u << kMdts;
inline constexpr std::uint32_t kAdminMaxInCapsule = 8192;  // what the kernel host sends (NVME_TCP_ADMIN_CCSZ)

// Generic status codes (NVMe Base 2.0, figure "Generic Command Status Values"; libnvme names).
inline constexpr std::uint8_t kScInvalidOpcode = 0x01;
inline constexpr std::uint8_t kScInvalidField = 0x02;
inline constexpr std::uint8_t kScCidConflict = 0x03;
inline constexpr std::uint8_t kScInternalError = 0x06;
inline constexpr std::uint8_t kScInvalidNs = 0x0B;
inline constexpr std::uint8_t kScCmdSeqError = 0x0C;
inline constexpr std::uint8_t kScSglLengthInvalid = 0x0F;
inline constexpr std::uint8_t kScSglTypeInvalid = 0x11;
inline constexpr std::uint8_t kScSglOffsetInvalid = 0x16;
inline constexpr std::uint8_t kScLbaRange = 0x80;
// Command specific (SCT 1).
inline constexpr std::uint8_t kScInvalidQid = 0x01;
inline constexpr std::uint8_t kScAsyncLimit = 0x05;
inline constexpr std::uint8_t kScInvalidLogPage = 0x09;
inline constexpr std::uint8_t kScConnectInvalidParam = 0x82;
inline constexpr std::uint8_t kScConnectInvalidHost = 0x84;
inline constexpr std::uint8_t kScAuthRequired = 0x91;

class Core {
 public:
  explicit Core(const SimConfig& cfg);
  ~Core();

  // Binds the ports and the control port; then run() on the loop thread.
  Result<void> bind_all();
  void start_thread();
  void stop_thread();
  const std::vector<SimPort>& ports() const { return ports_; }
  std::uint16_t ctl_port() const { return ctl_port_; }

  // Any thread but the loop's: runs the line on the loop, waits (bounded) for the answer.
  Result<std::string> post_control(std::string_view line);
  // Loop thread.
  Result<std::string> run_control(std::string_view line);

  const SimConfig& config() const { return cfg_; }
  PortFaults& faults(std::size_t port) { return ports_[port].faults; }
  // A write that arrived on a blackholed port: kept when it is a valid in-capsule write.
  void hold_write(std::size_t port, const wire::Sqe& sqe, Bytes data);

  // ---- used by connections (loop thread) ----
  void add_connection(int fd, std::size_t port);
  void add_ctl_connection(int fd);
  void add_pollable(std::unique_ptr<Pollable> p, int fd, std::uint32_t events);
  void retire(Pollable* p, int fd);  // epoll DEL, close(fd), delete after this loop turn
  void set_events(Pollable* p, int fd, std::uint32_t events);
  bool retired(const Pollable* p) const { return live_.count(const_cast<Pollable*>(p)) == 0; }
  void log(std::string_view line) const;
  void connection_closed(Connection& c);

  CmdResult connect(Connection& c, const wire::Sqe& sqe, Bytes data);
  CmdResult execute_admin(Connection& c, Controller& ctrl, const wire::Sqe& sqe, Bytes data);
  CmdResult execute_io(Connection& c, Controller& ctrl, const wire::Sqe& sqe, Bytes data);
  Controller* controller(std::uint16_t cntlid);
  // In-band authentication (sim_auth_config.cc): Authentication Send / Receive on a queue; true
  // while the queue must authenticate before other commands; the controller's fatal end after a
  // failed exchange (the queue `carrier` sends what it queued first).
  CmdResult authentication(Connection& c, Controller& ctrl, const wire::Sqe& sqe, Bytes data);
  bool auth_required(const Connection& c, const Controller& ctrl) const;
  void controller_fatal(std::uint16_t cntlid, Connection& carrier, const std::string& why);
  bool host_allowed(std::string_view hostnqn) const;
  void touch(Controller& ctrl) { ctrl.last_seen = SimClock::now(); }

  // The port swallows this admin command (never-complete / ka-ignore).
  bool swallows(std::size_t port, std::uint8_t admin_opcode) const {
    return ports_[port].faults.never_complete.test(admin_opcode);
  }

  // never-complete by step (sim_hostile.cc): this step, or the step this command is.
  bool hangs(std::size_t port, HangStep step) const;
  bool hangs(std::size_t port, const wire::Sqe& sqe) const;
  void feed_storm(Controller& ctrl);
  void hostile_log(std::size_t port, std::uint8_t lid, std::uint64_t len, std::vector<std::uint8_t>& page);

  std::uint64_t ana_chgcnt() const { return ana_chgcnt_; }
  SimAnaState ana_state(std::size_t port, std::uint32_t grpid) const;
  const std::vector<SimNamespace>& namespaces() const { return namespaces_; }
  const SimNamespace* find_ns(std::uint32_t nsid) const;
  std::uint64_t disc_genctr() const { return disc_genctr_; }

 private:
  void run();
  void tick();
  void drain_posted();
  Result<void> listen_port(std::size_t idx);
  void close_port_connections(std::size_t idx);
  void reset_state();
  void raise_aen(std::uint32_t kind, std::size_t only_port, bool discovery_ctrls);
  void set_linked(std::size_t idx, bool linked);
  void deliver_aen(Controller& ctrl);
  void ns_changed(std::uint32_t nsid);
  Result<std::size_t> resolve_port(std::uint32_t port) const;
  Result<std::string> run_fault(const ControlCommand& cmd);    // sim_faults.cc
  Result<std::string> run_hostile(const ControlCommand& cmd);  // sim_hostile.cc
  std::vector<Connection*> port_connections(std::size_t idx);
  void restart();
  std::optional<Status> take_failure(std::uint8_t opcode);
  std::string status_text() const;

  // Admin helpers (sim_admin.cc).
  CmdResult property_get(Controller& ctrl, const wire::Sqe& sqe);
  CmdResult property_set(Controller& ctrl, const wire::Sqe& sqe);
  CmdResult identify(Controller& ctrl, const wire::Sqe& sqe);
  CmdResult get_log_page(Connection& c, Controller& ctrl, const wire::Sqe& sqe);
  CmdResult set_features(Controller& ctrl, const wire::Sqe& sqe);
  CmdResult get_features(Controller& ctrl, const wire::Sqe& sqe);

  SimConfig cfg_;
  std::vector<SimPort> ports_;
  std::vector<SimNamespace> namespaces_;
  std::map<std::uint16_t, std::unique_ptr<Controller>> controllers_;
  struct Live {
    std::unique_ptr<Pollable> obj;
    int fd = -1;
  };
  std::map<Pollable*, Live> live_;
  std::vector<std::unique_ptr<Pollable>> graveyard_;
  struct FailRule {
    std::uint32_t left = 0;
    Status status;
  };
  std::map<std::uint8_t, FailRule> fail_next_;  // by I/O opcode
  std::uint64_t ana_chgcnt_ = 1;
  std::uint64_t disc_genctr_ = 1;
  std::unique_ptr<SimAuth> auth_;  // sim_auth.h

  int epfd_ = -1;
  int evfd_ = -1;
  int ctl_fd_ = -1;
  std::uint16_t ctl_port_ = 0;
  std::thread thread_;
  bool stopping_ = false;  // loop thread

  struct Posted {
    std::string line;
    bool done = false;
    Result<std::string> answer = std::string();
  };
  std::mutex mu_;  // guards posted_, Posted::done/answer and quit_
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Posted>> posted_;
  bool quit_ = false;
  bool loop_running_ = false;
};

}  // namespace nvmemp::sim
