// nvme-mpath library API: multipath NVMe/TCP block I/O from user space.
//
// Two objects:
//
//   Fabric     the control plane. start() launches its control thread, which owns every
//              controller (admin queue, keep-alive, asynchronous events, reconnect) and the
//              topology: subsystems, namespace heads and paths. Its methods may be called from
//              any thread; they hand the work to the control thread and wait for the answer.
//
//   IoContext  the data plane of ONE thread. Create one per I/O thread with
//              Fabric::create_io_context() on that thread; it owns an io_uring ring and one I/O
//              queue per path. Submit with read()/write()/flush(); completions run inside poll()
//              on the same thread. Nothing in an IoContext takes a lock or writes a cache line
//              another thread writes: topology changes arrive as immutable snapshots.
//
// Typical use:
//
//   auto fabric = nvmemp::Fabric::start({});                     // host NQN from /etc/nvme
//   fabric.value()->connect_all({"127.0.0.1", 8009}, "nqn.2026-01.io.example:mpath-test");
//   auto head = fabric.value()->find_head("nqn.2026-01.io.example:mpath-test", 1);
//   auto io = fabric.value()->create_io_context();              // on the I/O thread
//   io.value()->read(head->id, 0, 8, buf, on_done, &my_state);  // 8 blocks at LBA 0
//   while (busy) io.value()->poll(std::chrono::milliseconds(1));
//
// What the library does for the application:
//   - identity: paths to the same namespace (subsystem NQN + nsid, same NGUID/EUI-64/UUID,
//     same size and LBA format) form one head; a path that disagrees is refused, never merged;
//   - priority: the controller's ANA states pick the paths (optimized first, then
//     non-optimized; inaccessible / persistent-loss / change are never used);
//   - failover: a command that fails on one path for a path reason is sent down another one; a
//     write lost with its connection waits until the old controller can no longer execute it
//     (keep-alive timeout after it went silent) so it never lands late over newer data;
//   - a path that stops answering (a "blackhole") is suspected within `stall_timeout`, reads are
//     re-issued elsewhere and new I/O avoids it; a merely slow path keeps working;
//   - no usable path: I/O is held or failed according to `no_path_retry`.
// An I/O completes with an error only when the namespace itself says so (e.g. LBA out of range,
// DNR set) or when no path is left under the no_path_retry rule; the error text says why.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nvmemp/result.h"
#include "nvmemp/status.h"
#include "nvmemp/stream.h"

namespace nvmemp {

// ---- options ---------------------------------------------------------------------------------

// Path selection among the usable paths of a head (the kernel's iopolicy names).
enum class IoPolicy : std::uint8_t {
  Numa,        // first optimized path, kept while usable (the kernel's default)
  RoundRobin,  // rotate among optimized paths, else among non-optimized ones
  QueueDepth,  // the path with the fewest outstanding commands (our default)
};
const char* io_policy_name(IoPolicy p) noexcept;                   // "numa", ...
[[nodiscard]] Result<IoPolicy> parse_io_policy(std::string_view name);

// How an I/O context waits for completions while it has commands outstanding (one ring serves
// every path of the context, so the mode is the context's). With nothing outstanding every
// mode sleeps until work comes.
enum class PollMode : std::uint8_t {
  Interrupt,  // sleep in io_uring_enter until a completion arrives (least CPU; the default)
  Hybrid,     // sleep about half the gap learned between arrivals on each queue, then poll
  Busy,       // never sleep: poll the ring (one syscall a turn), yielding every 50 us
};
const char* poll_mode_name(PollMode m) noexcept;  // "interrupt", "hybrid", "busy"
[[nodiscard]] Result<PollMode> parse_poll_mode(std::string_view name);

// What happens to I/O while a head has no usable path (multipath.conf's no_path_retry).
struct NoPathRetry {
  enum class Mode : std::uint8_t {
    Queue,    // hold I/O while any controller of the subsystem may come back (default)
    Fail,     // fail I/O at once
    Seconds,  // hold I/O up to `seconds`, then fail it
  };
  Mode mode = Mode::Queue;
  std::chrono::seconds seconds{0};
};
// "queue", "fail" or a number of seconds (> 0).
[[nodiscard]] Result<NoPathRetry> parse_no_path_retry(std::string_view text);
std::string no_path_retry_name(const NoPathRetry& n);

// ---- in-band authentication (DH-HMAC-CHAP) --------------------------------------------------

// A DH-HMAC-CHAP secret in the form nvme-cli, libnvme and the kernel use, "DHHC-1:XX:<base64>:"
// (`nvme gen-dhchap-key` makes one). Parsed once (CRC-32 checked) and kept in locked memory that
// core dumps leave out and that is wiped when the last copy goes; copies share it. Nothing
// prints it: errors about a key name where it came from, never its bytes.
class DhchapKey {
 public:
  struct Impl;
  DhchapKey() = default;  // empty: no key
  explicit DhchapKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  bool empty() const noexcept { return impl_ == nullptr; }
  const Impl* impl() const noexcept { return impl_.get(); }
  // The key's hash in words ("DHHC-1:01", i.e. transformed with SHA-256): what may be shown.
  std::string describe() const;
 private:
  std::shared_ptr<const Impl> impl_;
};

// Parses `text` (surrounding whitespace ignored); `what` names its source for errors ("the
// host key in [host] dhchap_secret"). A key whose length is not its hash's digest length (which
// 6.1 targets reject) is accepted with a warning logged.
[[nodiscard]] Result<DhchapKey> parse_dhchap_key(std::string_view text, std::string_view what);
// Reads the key from a file (one line), as from parse_dhchap_key(). Warns (logs) when users
// other than the owner may read the file. The file's bytes are wiped after parsing.
[[nodiscard]] Result<DhchapKey> read_dhchap_key_file(const std::string& path, std::string_view what);

// ---- NVMe/TCP over TLS 1.3 with a pre-shared key -----------------------------------------------

// A configured TLS PSK in the NVMe interchange form "NVMeTLSkey-1:HH:<base64>:" (`nvme gen-tls-key`
// makes one; HH 01: SHA-256, 02: SHA-384, 00: used as it is). Kept like a DhchapKey: parsed once
// (CRC-32 checked), in locked memory, wiped when the last copy goes, never printed.
class TlsKey {
 public:
  struct Impl;
  TlsKey() = default;  // empty: no key
  explicit TlsKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  bool empty() const noexcept { return impl_ == nullptr; }
  const Impl* impl() const noexcept { return impl_.get(); }
  // "NVMeTLSkey-1:01 (32 bytes)": what may be shown.
  std::string describe() const;
 private:
  std::shared_ptr<const Impl> impl_;
};

// Parses `text`; `what` names its source for errors ("the TLS key in [host] tls_key").
[[nodiscard]] Result<TlsKey> parse_tls_key(std::string_view text, std::string_view what);
// Reads the key from a file (one line); as read_dhchap_key_file().
[[nodiscard]] Result<TlsKey> read_tls_key_file(const std::string& path, std::string_view what);

// Which PSK identity the host offers: v1 "NVMe1Rhh <hostnqn> <subnqn> <digest>" (NVMe/TCP 1.1,
// what Linux and nvme-cli use), or v0 "NVMe0Rhh <hostnqn> <subnqn>" (SPDK, older peers).
enum class TlsIdentity : std::uint8_t { V1, V0 };
const char* tls_identity_name(TlsIdentity v) noexcept;  // "v1", "v0"
[[nodiscard]] Result<TlsIdentity> parse_tls_identity(std::string_view text);

// ---- block-device (SCSI) paths ----------------------------------------------------------------

// One path of a SCSI logical unit, as scsi_compat/ reads it from sysfs: a block device that
// every I/O context opens with O_DIRECT and drives on its own io_uring ring. Paths with the
// same wwid form one head (nsid 1 of a "subsystem" named by the wwid); ALUA target port groups
// play the part of ANA groups. A path error (an errno other than dm-multipath's six target
// errnos) fails the I/O over to another path and has the path probed (block_probe).
struct BlockPathSpec {
  std::string dev_node;          // "/dev/sdb": identifies the path
  std::string name;              // "sdb"
  std::string wwid;              // device/wwid: "naa.…", "eui.…", "t10.…", name string
  std::string hctl;              // "2:0:0:0"
  std::uint32_t tpg = 0;         // ALUA target port group id (0: none)
  std::string access_state;      // device/access_state as read: "active/optimized", ...
  std::string ana_state = "optimized";  // mapped: optimized, non-optimized, inaccessible, change
  bool preferred = false;        // device/preferred_path: wins ties between equal states
  bool running = true;           // device/state is "running" (else the path is not used)
  std::uint64_t blocks = 0;      // size in logical blocks
  std::uint32_t block_size = 512;
  std::uint32_t max_transfer = 0;  // bytes per command (queue/max_sectors_kb); 0: FabricOptions'
  bool volatile_write_cache = false;  // queue/write_cache is "write back"
  std::string vendor, model, rev;     // INQUIRY, as sysfs shows them (trimmed)
  std::string serial;                 // VPD page 0x80 ("" when absent)
};

// Tells whether a block path works (e.g. TEST UNIT READY through SG_IO, or a direct read of
// its first block): {} when it does, else why not. Runs on a worker thread, bounded by
// `timeout`; must not call the Fabric.
using BlockProbeFn = std::function<Result<void>(const std::string& dev_node, std::chrono::milliseconds timeout)>;

struct FabricOptions {
  std::string hostnqn;  // empty: /etc/nvme/hostnqn, else one derived from the machine's UUID
  std::string hostid;   // empty: /etc/nvme/hostid, else derived as nvme-cli does
  // Connection knobs, with the kernel's (nvme-cli's) defaults. Seconds, as in nvme-cli.
  std::chrono::seconds keep_alive_tmo{5};
  std::chrono::seconds reconnect_delay{10};
  std::chrono::seconds ctrl_loss_tmo{600};            // negative: reconnect forever
  std::optional<std::chrono::seconds> fast_io_fail_tmo;  // unset: off
  NoPathRetry no_path_retry;                          // default: queue
  IoPolicy policy = IoPolicy::QueueDepth;             // for every subsystem; set_policy() changes one
  std::chrono::milliseconds io_timeout{30000};        // per command, then the queue is reset (kernel: 30 s)
  // Per admin command (bring-up steps, Keep Alive, log reads; not the AER, which waits for an
  // event): one that does not complete in time fails its connection, naming the command.
  std::chrono::milliseconds admin_timeout{60000};     // kernel: 60 s (nvme_admin_timeout)
  // A queue with commands outstanding and nothing received for this long is suspected (reads
  // move elsewhere, new I/O avoids it) and its controller is probed with a Keep Alive; a path
  // whose probe is not answered within probe_timeout is reset. The effective threshold per
  // queue is max(stall_timeout, 8 x its average latency), so a slow path is not suspected.
  std::chrono::milliseconds stall_timeout{300};
  std::chrono::milliseconds probe_timeout{1000};
  // How long a write lost with its connection waits before it is sent down another path.
  // Unset (default, safe): keep-alive timeout (+ CQT) after the old path was declared lost.
  // 0: at once, as the kernel and SPDK do, which can let a late write overwrite newer data.
  std::optional<std::chrono::milliseconds> write_failover_delay;
  std::uint16_t queue_size = 128;     // entries per I/O queue
  std::uint16_t max_io_contexts = 4;  // I/O queues asked of each controller (one per IoContext)
  PollMode poll_mode = PollMode::Interrupt;  // of each new IoContext (IoContext::set_poll_mode)
  bool hdr_digest = false;
  bool data_digest = false;
  // In-band authentication when a controller asks for it (nvme-cli --dhchap-secret and
  // --dhchap-ctrl-secret): the host key, and the controller key that makes it bidirectional
  // (the controller must then prove it holds that key). Empty: none; a controller that
  // requires authentication is then refused with a message saying so.
  DhchapKey dhchap_secret;
  DhchapKey dhchap_ctrl_secret;
  // NVMe/TCP over TLS 1.3 with a pre-shared key (nvme-cli --tls --tls-key): every queue of the
  // path does the TLS handshake before its ICReq, offering tls_identity with the TLS PSK
  // derived from tls_key for this host and subsystem. A path set up with tls never falls back
  // to plain TCP; a failed handshake is a connect error that names the TLS alert.
  bool tls = false;
  TlsKey tls_key;
  TlsIdentity tls_identity = TlsIdentity::V1;
  // Derive as libnvme did before its fix (a non-standard HKDF label): for targets whose keys
  // were derived by such an nvme-cli. Off: RFC 8446, as the kernel, SPDK and current libnvme.
  bool tls_compat = false;
  std::uint32_t max_transfer = 1u << 20;  // bytes; the controller's MDTS may lower it
  unsigned max_retries = 5;               // same-path retries of one command (nvme_max_retries)
  // Block paths: the probe run after a path error, and again every reconnect_delay while the
  // path is out of service. Unset: a failed block path comes back only when set_block_path()
  // reports it again (a udev event).
  BlockProbeFn block_probe;
};

// ---- what the topology looks like -------------------------------------------------------------

struct Endpoint {
  std::string traddr;           // IPv4 or IPv6 literal
  std::uint16_t trsvcid = 4420;
  std::string host_traddr;      // optional local address
  std::string host_iface;       // optional local interface
};

// A path's totals: the commands of every namespace on this controller connection (ios and bytes
// when they succeed, errors, failovers away from it, same-path retries), its stalls and the
// commands outstanding on it now.
struct PathCounters {
  std::uint64_t ios = 0, bytes = 0, errors = 0, failovers = 0, retries = 0, stalls = 0;
  std::uint64_t outstanding = 0;
};

struct PathInfo {
  std::uint16_t id = 0;
  std::string transport = "tcp";  // "tcp", or "scsi" for a block-device path
  std::string name;             // "nqn @ 127.0.0.1:4420 cntlid 1", "sdb 2:0:0:0"
  std::string subnqn;
  std::string traddr;
  std::uint16_t trsvcid = 0;
  std::uint16_t cntlid = 0;
  std::string state;            // "live", "resetting", "connecting", "deleting", "dead"
  std::uint64_t reconnects = 0;
  std::string last_error;
  PathCounters counters;        // controller totals, summed over I/O contexts
  // NVMe/TCP: entries per I/O queue (min of queue_size, CAP.MQES + 1, MAXCMD), the I/O queues
  // the controller granted, and how many of this association's queue Connects it refused
  // (those I/O contexts send nothing on this path; queue_error says why).
  std::uint16_t queue_size = 0;
  std::uint16_t io_queues = 0;
  std::uint16_t queues_refused = 0;
  std::string queue_error;
  // NVMe/TCP: what the admin queue's in-band authentication negotiated, "dhchap sha384
  // ffdhe3072", or "none" (the controller did not ask for it).
  std::string auth = "none";
  // NVMe/TCP: "TLS 1.3 TLS_AES_128_GCM_SHA256" on a TLS path (its identity in tls_identity),
  // else "none".
  std::string tls = "none";
  std::string tls_identity;
  // scsi only: the block device, H:C:T:L, target port group and sysfs access_state.
  std::string dev;
  std::string hctl;
  std::uint32_t tpg = 0;
  std::string access_state;
  bool preferred = false;
  std::string vendor, model, rev, serial;
};

// The same as PathCounters for the commands of one namespace on one path.
struct HeadPathCounters {
  std::uint64_t ios = 0, bytes = 0, errors = 0, failovers = 0, retries = 0;
};

struct HeadPathInfo {
  std::uint16_t path_id = 0;
  std::string ana_state;        // "optimized", "non-optimized", "inaccessible", ...
  std::uint32_t ana_grpid = 0;  // 0 when the controller does not report ANA
  bool usable = false;          // live and optimized / non-optimized
  bool current = false;         // usable and in the best ANA class: where the policy sends I/O
  HeadPathCounters counters;    // this namespace's I/O on this path, summed over I/O contexts
};

// A head's requests: ios, bytes and errors count each request once, when it finishes (whatever
// paths it took); failovers and retries count each move; held counts the requests that waited
// for a usable path.
struct HeadCounters {
  std::uint64_t ios = 0, bytes = 0, errors = 0, failovers = 0, retries = 0, held = 0;
};

struct HeadInfo {
  std::uint32_t id = 0;
  std::string transport = "tcp";  // "tcp", or "scsi" (a SCSI logical unit: subnqn is its wwid)
  std::string subnqn;
  std::uint32_t nsid = 0;
  std::string wwid;             // the Linux kernel's format: uuid.… / eui.… / nvme.…
  std::uint64_t blocks = 0;     // namespace size in logical blocks
  std::uint32_t block_size = 0; // bytes per logical block
  std::uint32_t max_transfer = 0;  // bytes, the minimum over its paths
  bool volatile_write_cache = false;  // Identify Controller VWC: flush() makes writes durable
  bool can_deallocate = false;        // every path supports Dataset Management (ONCS bit 2)
  bool can_write_zeroes = false;      // every path supports Write Zeroes (ONCS bit 3)
  IoPolicy policy = IoPolicy::QueueDepth;
  std::vector<HeadPathInfo> paths;
  HeadCounters counters;        // summed over I/O contexts
  // Last ANA change seen on any path of this head: when (system clock) and how long the
  // path set took to settle (ANA event → new log applied).
  std::optional<std::chrono::system_clock::time_point> last_ana_change;
  std::chrono::microseconds last_ana_change_took{0};
};

struct TopologyInfo {
  std::vector<PathInfo> paths;
  std::vector<HeadInfo> heads;
};

// ---- discovery -----------------------------------------------------------------------------

struct DiscoveryEntry {
  std::string subtype;          // "nvme" (a subsystem port), "referral" (another discovery
                                // controller), "current" (this one), "other"
  std::string trtype;           // "tcp", or "trtype N"
  std::string subnqn;
  std::string traddr;
  std::uint16_t trsvcid = 0;    // 0: not a port number
  // TREQ (bits 1:0: 01b secure channel required, 10b not required, 00b not specified) and, for
  // TCP, TSAS SECTYPE (0 none, 1 TLS 1.2, 2 TLS 1.3): see discovery_entry_tls().
  std::uint8_t treq = 0;
  std::uint8_t sectype = 0;
};
// Whether the port of `e` is connected with TLS, given the connection knobs of its subsystem:
// yes when knobs.tls (never plain then), when the entry requires a secure channel (TREQ), or
// when it offers TLS 1.3 (SECTYPE 2) and knobs.tls_key is set; plain otherwise. A port that
// needs TLS while knobs has no tls_key is refused: InvalidArgument "SUBNQN @ ADDR:PORT requires
// TLS 1.3 ...: set tls_key or tls_key_file ...".
[[nodiscard]] Result<bool> discovery_entry_tls(const DiscoveryEntry& e, const FabricOptions& knobs);
struct DiscoveryLogInfo {
  std::uint32_t watch = 0;      // watch_discovery()'s id
  std::string source;           // "127.0.0.1:8009"
  std::uint64_t genctr = 0;
  std::vector<DiscoveryEntry> entries;
};
// Runs on the Fabric's control thread: hand the log to another thread, do not call the Fabric.
using DiscoveryFn = std::function<void(const DiscoveryLogInfo&)>;

// ---- I/O -----------------------------------------------------------------------------------

struct IoResult {
  Status status;               // success, the controller's status, or a host status
  const char* error = nullptr; // null on success; what failed and where (valid in the callback)
};
// Runs on the IoContext's thread, inside poll(). May submit new I/O.
using IoCallback = void (*)(void* arg, const IoResult& result);

class IoContext {
 public:
  virtual ~IoContext() = default;
  // Queue an I/O on namespace head `head`. `buf` must be nlb x block_size bytes and stay valid
  // (and untouched, for a write) until the callback. Errors here are the caller's mistakes
  // (unknown head, size, too many outstanding); path trouble comes through the callback.
  virtual Result<void> read(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb,
                            std::span<std::uint8_t> buf, IoCallback cb, void* arg) = 0;
  virtual Result<void> write(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb,
                             std::span<const std::uint8_t> buf, IoCallback cb, void* arg) = 0;
  // A write with Force Unit Access: on stable media when the callback reports success.
  virtual Result<void> write_fua(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb,
                                 std::span<const std::uint8_t> buf, IoCallback cb, void* arg) = 0;
  virtual Result<void> flush(std::uint32_t head, IoCallback cb, void* arg) = 0;
  // Write Zeroes (1..65536 blocks, no buffer; HeadInfo::can_write_zeroes): the blocks read
  // back as zeroes. Not bounded by max_transfer: no data crosses the fabric.
  virtual Result<void> write_zeroes(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, bool fua,
                                    IoCallback cb, void* arg) = 0;
  // Dataset Management, deallocate one range (HeadInfo::can_deallocate): the target may
  // discard the blocks; what they read back as afterwards is the namespace's (DLFEAT) business.
  virtual Result<void> deallocate(std::uint32_t head, std::uint64_t slba, std::uint32_t nlb, IoCallback cb,
                                  void* arg) = 0;
  // Turns this thread's ring: sends, receives, retries, failovers; runs callbacks. Waits up to
  // `timeout` when there is nothing to do: asleep, or, in the hybrid and busy poll modes with
  // commands outstanding, polling until a callback has run. Returns the number of callbacks run.
  virtual Result<unsigned> poll(std::chrono::nanoseconds timeout) = 0;
  // How poll() waits while commands are outstanding (FabricOptions::poll_mode at creation).
  virtual void set_poll_mode(PollMode mode) noexcept = 0;
  virtual PollMode poll_mode() const noexcept = 0;
  // I/Os submitted and not yet completed.
  virtual std::size_t outstanding() const noexcept = 0;
  // True when `head` has a path this context can send I/O on now.
  virtual bool ready(std::uint32_t head) const noexcept = 0;

  // Front ends: serve a client connection on this context's ring (nvmemp/stream.h). Takes
  // over the connected socket `fd` (made non-blocking); `stream` must outlive its on_closed().
  // Close every stream (and poll until on_closed) before destroying the context.
  virtual Result<void> attach_stream(int fd, Stream& stream) = 0;
  // Closes the stream's connection; on_closed() follows from a later poll().
  virtual void close_stream(Stream& stream, const std::string& why) = 0;
  // Thread-safe: runs `fn` on this context's thread in a later poll(), waking it if it waits.
  virtual void post(std::function<void()> fn) = 0;
};

class Fabric {
 public:
  static Result<std::unique_ptr<Fabric>> start(const FabricOptions& opts);
  virtual ~Fabric() = default;  // disconnects every controller (orderly shutdown)

  // Connects one path (controller) of `subnqn` and waits for its first bring-up. A second
  // connection with the same address, port, subsystem and host NQN is refused.
  virtual Result<PathInfo> connect(const Endpoint& ep, const std::string& subnqn) = 0;
  // The same with this path's own connection knobs (a subsystem's overrides): keep_alive_tmo,
  // reconnect_delay, ctrl_loss_tmo, fast_io_fail_tmo, queue_size, hdr/data_digest,
  // max_transfer, io_timeout, admin_timeout, stall_timeout and probe_timeout, the DH-HMAC-CHAP
  // keys and the TLS settings (tls, tls_key, tls_identity, tls_compat) are taken from `knobs`;
  // its other fields are ignored.
  virtual Result<PathInfo> connect(const Endpoint& ep, const std::string& subnqn, const FabricOptions& knobs) = 0;
  // A subsystem's own I/O rules (no_path_retry, write_failover_delay, max_retries from
  // `knobs`) for its heads, from now on; may be set before the subsystem has a path.
  virtual Result<void> set_subsystem_rules(const std::string& subnqn, const FabricOptions& knobs) = 0;
  // Reads the discovery log at `discovery` (referrals followed) and connects every TCP entry
  // of `subnqn`. Fails when none could be connected; the errors of the others are logged.
  // TLS per entry as discovery_entry_tls() says with the Fabric's options (an entry that
  // requires TLS while no tls_key is configured is one of those errors); with tls on, the
  // discovery controllers are connected over TLS as well (as nvme connect-all --tls).
  virtual Result<std::vector<PathInfo>> connect_all(const Endpoint& discovery, const std::string& subnqn) = 0;
  // The same with the subsystem's own connection knobs, keys and TLS settings (as connect()).
  virtual Result<std::vector<PathInfo>> connect_all(const Endpoint& discovery, const std::string& subnqn,
                                                    const FabricOptions& knobs) = 0;
  virtual Result<void> disconnect(std::uint16_t path_id) = 0;
  // Renews the in-band authentication (DH-HMAC-CHAP) of a connected NVMe/TCP path: its admin
  // queue, then its I/O queue in every I/O context (which must be polled meanwhile; one that
  // does not answer within 4 x io_timeout + 5 s is named in a Timeout error). Returns the path,
  // `auth` the new pair. A refusal (SPDK's target refuses every re-authentication) leaves the
  // path as it was, and the error names the queue and the reason; a path that never
  // authenticated (the controller did not ask) is InvalidArgument.
  virtual Result<PathInfo> reauthenticate(std::uint16_t path_id) = 0;
  // Resets the controller of a live NVMe/TCP path, as `nvme reset` does: its association ends
  // (every queue; I/O in flight on it is retried or fails over as after a transport error) and
  // it connects again at once, authenticating every queue anew when the controller asks.
  // Returns the path once its controller is live again (its I/O queues follow in each I/O
  // context); an error when it is not live (it is reconnecting already), when it gave up
  // (ctrl_loss_tmo, a key refused) or, as Timeout, when it is not back within
  // 4 x io_timeout + 5 s (it keeps trying every reconnect_delay).
  virtual Result<PathInfo> reset(std::uint16_t path_id) = 0;

  // Adds the block-device path `spec.dev_node`, or updates it (new ALUA state, size, running
  // state, wwid). A path that was taken out of service after a path error is tried again.
  // A path whose size or block size differs from its head's is refused with an error.
  virtual Result<PathInfo> set_block_path(const BlockPathSpec& spec) = 0;
  // Removes it (the device went away); I/O in flight on it completes first.
  virtual Result<void> remove_block_path(const std::string& dev_node) = 0;

  virtual Result<void> set_policy(const std::string& subnqn, IoPolicy policy) = 0;
  virtual Result<HeadInfo> find_head(const std::string& subnqn, std::uint32_t nsid) = 0;
  virtual Result<HeadInfo> find_wwid(const std::string& wwid) = 0;
  virtual TopologyInfo topology() = 0;

  // A persistent discovery controller: kept connected (keep-alive, reconnects forever every
  // reconnect_delay); its log is read at every bring-up and after every Discovery Log Page
  // Change event, and handed to `on_log`. Referrals are listed, not followed. What to connect
  // is the caller's decision (nvme-mpathd connects the NVMe entries and drops vanished ones).
  // It is connected over TLS when the Fabric's options say tls (the TLS PSK for the discovery
  // NQN, from tls_key, tls_identity and tls_compat).
  virtual Result<std::uint32_t> watch_discovery(const Endpoint& ep, DiscoveryFn on_log) = 0;
  // The same with the TLS settings of `knobs` (tls, tls_key, tls_identity, tls_compat; its
  // other fields are ignored). tls without a tls_key is InvalidArgument.
  virtual Result<std::uint32_t> watch_discovery(const Endpoint& ep, DiscoveryFn on_log, const FabricOptions& knobs) = 0;
  virtual Result<void> unwatch_discovery(std::uint32_t watch) = 0;
  // A data-plane context for the calling thread (at most max_io_contexts at a time).
  virtual Result<std::unique_ptr<IoContext>> create_io_context() = 0;
};

}  // namespace nvmemp
