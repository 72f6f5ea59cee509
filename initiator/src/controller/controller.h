// One NVMe/TCP controller seen from the host: its admin queue, bring-up, keep-alive,
// asynchronous events, reset and reconnect. Runs on the control thread: every method and
// callback is called from the thread that polls `reactor` (tick() once per loop turn).
//
// Bring-up (NVMe over Fabrics 1.1 and the kernel's order, see nvme-facts.md section 2):
// TCP + ICReq/ICResp → Connect qid 0 (KATO) → CAP, VS → CC.EN=1 → CSTS.RDY within CAP.TO →
// Identify Controller → [not discovery:] Number of Queues → Async Event Config + one AER →
// ANA log when CMIC says ANA → active namespaces → Identify Namespace + descriptors → Live.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/dhchap_keys.h"
#include "auth/queue_auth.h"
#include "common/retry_log.h"
#include "controller/admin_queue.h"
#include "controller/ctrl_state.h"
#include "controller/host_identity.h"
#include "controller/keep_alive.h"
#include "tls/tls_psk.h"
#include "transport/tcp_connect.h"
#include "wire/identify.h"
#include "wire/log_pages.h"
#include "wire/sqe.h"

namespace nvmemp::controller {

inline constexpr const char* kDiscoveryNqn = "nqn.2014-08.org.nvmexpress.discovery";

struct ControllerOptions {
  transport::TcpEndpoint endpoint;
  std::string subnqn;
  HostIdentity host;
  std::chrono::milliseconds kato{5000};         // keep_alive_tmo; 0 = no keep-alive
  std::uint16_t queue_size = 128;               // I/O queue entries (nvme-cli queue_size)
  std::uint16_t nr_io_queues = 1;               // asked for with Set Features 0x07
  bool hdgst = false;                           // hdr_digest
  bool ddgst = false;                           // data_digest
  std::chrono::milliseconds connect_timeout{10000};  // TCP connect + ICResp
  std::chrono::milliseconds admin_timeout{60000};    // per admin command (kernel: 60 s)
  Nanos io_timeout = std::chrono::seconds(30);       // per I/O command (kernel nvme_io_timeout: 30 s)
  std::chrono::milliseconds reconnect_delay{10000};  // between attempts (kernel: 10 s)
  std::chrono::seconds ctrl_loss_tmo{600};      // give up after this long without a connection; <0: never
  std::uint32_t max_data_len = 1u << 20;        // upper bound of one transfer (MDTS may lower it)
  // nvme-cli fast_io_fail_tmo: once the controller has been without its connection this long
  // (counted from the loss, like the kernel's failfast work started when a reset begins),
  // io_fail_fast() turns true: the multipath head then fails I/O for this path instead of
  // queueing it for the reconnect. Unset (the kernel's default -1): never.
  std::optional<std::chrono::seconds> fast_io_fail_tmo;
  // In-band authentication (DH-HMAC-CHAP) when the controller asks for it (ATR in the Connect
  // response), on the admin queue and on every I/O queue, at every connect. Null: none
  // configured; a controller that requires it is then refused with a message saying so.
  std::shared_ptr<const auth::DhchapKeys> dhchap;
  // NVMe/TCP over TLS 1.3 (nvme-cli --tls): every queue's socket does the TLS handshake with
  // this identity and PSK before its ICReq (controller/queue_connect.h). Null: plain TCP.
  std::shared_ptr<const tls::TlsPsk> tls;
};

struct NamespaceInfo {
  std::uint32_t nsid = 0;
  wire::IdentifyNamespace id;
  wire::NsIdDescriptors ids;
};

struct ControllerInfo {
  std::uint16_t cntlid = 0;
  std::uint64_t cap = 0;
  std::uint32_t vs = 0;
  wire::IdentifyController id;
  std::optional<wire::AnaLog> ana;          // when CMIC bit 3 (ANA reporting)
  std::vector<NamespaceInfo> namespaces;    // active namespaces
  std::uint16_t io_queues = 0;              // granted by Set Features 0x07
  // Entries of each I/O queue: min(ControllerOptions::queue_size, CAP.MQES + 1, MAXCMD when
  // set). The admin queue connects before CAP is read and keeps its 32 entries.
  std::uint16_t io_queue_size = 0;
  std::uint32_t max_icd = 0;                // I/O in-capsule data limit
  std::uint32_t max_data_len = 0;           // largest transfer (MDTS and our bound)
  // What the admin queue's authentication negotiated: "dhchap sha384 ffdhe3072", or "none".
  std::string auth = "none";
};

class Controller {
 public:
  using DoneFn = std::function<void(const Result<void>&)>;
  // An asynchronous event, after the controller re-read the log it names (ANA log,
  // changed namespace list) and updated info().
  using EventFn = std::function<void(Controller&, const wire::AsyncEvent&)>;
  using StateFn = std::function<void(Controller&, CtrlState, const std::string& why)>;
  // The ANA log was read again on a live controller and info().ana updated: after an ANA
  // change event (on_event follows for that), after refresh_ana(). Not during bring-up: Live
  // (on_state) announces the first log.
  using AnaFn = std::function<void(Controller&)>;
  using ProbeFn = std::function<void(bool alive)>;

  Controller(transport::Reactor& reactor, const Clock& clock, ControllerOptions opts);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Connects and brings the controller up; `done` runs once, with the error when it failed.
  // From New, or from Connecting between reconnect attempts.
  void connect(DoneFn done);
  // Keep-alive, timers, reconnect. Call every loop turn.
  void tick();
  // Live → Resetting: the admin queue goes down; reconnect follows after reconnect_delay.
  void reset(const std::string& why);
  // Orderly end: CC.SHN = normal, wait for SHST complete (bounded by CAP.TO), disconnect,
  // Deleting → Dead. `done` runs once.
  void shutdown(DoneFn done);

  // Any admin command; fails when the admin queue is not live.
  Result<void> admin(const wire::Sqe& sqe, std::uint32_t read_len, std::vector<std::uint8_t> write,
                     AdminQueue::Callback cb);

  // Sends a Keep Alive now, due or not (when one is outstanding already, waits for that one),
  // and calls cb(true) when it is answered with success within `timeout`, cb(false)
  // otherwise: no answer in time, an error status, the connection lost. Not live: cb(false)
  // at once, from inside this call. The controller is not reset here (a late answer still
  // counts for keep-alive); the caller decides. cb runs on the control thread, once.
  void probe(Nanos timeout, ProbeFn cb);
  // Reads the ANA log again (as the ANA change event does) and then calls on_ana: for an
  // I/O that returned an ANA status (SCT 3, SC 1..3). A call while a read is in flight is
  // folded into one more read after it, so the log seen is never older than the call. No
  // effect unless live with ANA reporting. A failed read resets the controller.
  void refresh_ana();
  // Runs DH-HMAC-CHAP again on the live admin queue (as IoQueue::reauthenticate on an I/O
  // queue; the same outcomes). `done` runs once on the control thread, from a later tick or
  // poll. On success info().auth is the new pair. A refusal leaves the controller as it was;
  // a lost command fails the admin queue, and the usual reset and reconnect follow.
  using ReauthFn = std::function<void(const Result<std::string>& negotiated)>;
  void reauthenticate(ReauthFn done);

  void on_event(EventFn fn) { on_event_ = std::move(fn); }
  void on_state(StateFn fn) { on_state_ = std::move(fn); }
  void on_ana(AnaFn fn) { on_ana_ = std::move(fn); }

  CtrlState state() const noexcept { return sm_.state(); }
  const ControllerInfo& info() const noexcept { return info_; }
  const ControllerOptions& options() const noexcept { return opts_; }
  // "nqn @ 127.0.0.1:4420 cntlid 3" for messages.
  std::string name() const;
  bool is_discovery() const { return opts_.subnqn == kDiscoveryNqn; }
  const std::string& last_error() const noexcept { return last_error_; }

  // The controller's last sign of life: when its admin queue last received anything (a
  // completion, a keep-alive answer, an event). TimePoint{} before the first.
  TimePoint last_alive() const noexcept;
  // Counts associations: incremented each time bring-up reaches Live (0 before the first).
  // Paths and I/O queues made for an older generation belong to a gone association.
  std::uint64_t generation() const noexcept { return generation_; }
  // Identify Controller CQT (0 when the controller does not report it).
  Nanos cqt() const noexcept { return std::chrono::milliseconds(info_.id.cqt_ms); }
  // True once the controller has been out of Live for fast_io_fail_tmo since it lost its
  // connection (the kernel's NVME_CTRL_FAILFAST_EXPIRED); false again when Live. Never true
  // when fast_io_fail_tmo is unset, nor before the first loss (the first connect).
  bool io_fail_fast() const noexcept;
  // When the ANA transition timer fires (a group stayed in the change state), if armed.
  std::optional<TimePoint> anatt_deadline() const noexcept { return anatt_deadline_; }
  // How long the last ANA log read took, from its Get Log Page to the log applied (after an
  // ANA change event that is the event-to-new-state time).
  Nanos last_ana_read_took() const noexcept { return last_ana_read_took_; }

 private:
  enum class Step : std::uint8_t { Idle, Handshake, Connect, WaitReady, Identify, Done, Shutdown };

  void set_state(CtrlState s, const std::string& why);
  // `permanent`: not retried (a lost controller goes Dead); `code`: what the caller of connect()
  // gets (Protocol by default; Refused after a DNR, AuthFailed after an authentication refusal).
  void fail_bring_up(std::string why, bool permanent = false, Errc code = Errc::Protocol);
  void retire_admin(const std::string& why);
  // Wraps a step callback so that it runs only while its bring-up attempt is current.
  AdminQueue::Callback step_cb(std::function<void(const AdminResult&)> fn);
  void finish_bring_up();
  void on_admin_closed(const std::string& reason);
  // bring_up.cc
  void step_connect();
  void step_authenticate();
  auth::QueueAuthParams admin_auth_params() const;
  auth::AuthSubmit admin_auth_submit(TimePoint deadline);
  void step_cap();
  void step_enable();
  void step_poll_ready();
  void step_identify();
  void step_queues();
  void step_aen_config();
  void step_ana_log(std::function<void()> next);
  void step_ns_list(std::function<void()> next);
  void step_ns(std::size_t index, std::shared_ptr<const std::vector<std::uint32_t>> nsids,
               std::shared_ptr<std::vector<NamespaceInfo>> found, std::function<void()> next);
  void fail_step(std::string why);
  void submit_aer();
  void handle_aer(const AdminResult& r);
  void send_keep_alive();
  void finish_probes(bool alive);
  void on_ana_log(const wire::AnaLog& log);
  Nanos anatt_timeout() const;
  std::string status_text(const Status& st, bool fabrics) const;

  transport::Reactor& reactor_;
  const Clock& clock_;
  ControllerOptions opts_;
  CtrlStateMachine sm_;
  std::unique_ptr<AdminQueue> admin_;
  std::shared_ptr<auth::QueueAuth> auth_;              // the admin queue's exchange under way
  std::shared_ptr<auth::QueueAuth> reauth_;            // a re-authentication of the live admin queue
  ReauthFn reauth_done_;
  std::vector<std::unique_ptr<AdminQueue>> retired_;  // closing; destroyed in tick()
  std::uint64_t attempt_ = 0;                          // bring-up attempt the callbacks belong to
  bool aer_outstanding_ = false;
  ControllerInfo info_;
  KeepAlive ka_;
  Step step_ = Step::Idle;
  DoneFn done_;
  EventFn on_event_;
  StateFn on_state_;
  AnaFn on_ana_;
  struct Probe {
    TimePoint deadline;
    ProbeFn cb;
  };
  std::vector<Probe> probes_;          // waiting for the Keep Alive in flight
  TimePoint last_alive_{};             // of admin queues already retired
  std::uint64_t generation_ = 0;
  unsigned ana_reads_ = 0;             // ANA log reads out
  bool ana_again_ = false;             // refresh_ana() while one was: read once more after
  std::optional<TimePoint> anatt_deadline_;
  TimePoint ana_read_started_{};
  Nanos last_ana_read_took_{0};
  TimePoint step_deadline_{};
  TimePoint next_poll_{};
  TimePoint next_reconnect_{};
  TimePoint lost_since_{};
  bool reconnect_pending_ = false;
  std::string last_error_;
  RetryLog reconnect_log_;  // reconnect attempts after a loss: few lines, not one per attempt
};

}  // namespace nvmemp::controller
