// Real kernel uevents and real block devices for the SCSI adapter's event and probe code:
// - UeventMonitor on the kernel netlink source (no udevd here): a `change` written to a loop
//   device's uevent file arrives with its sysname and devnum; an event of another subsystem,
//   which a raw netlink socket does see, is filtered out; a synthetic uevent's variables arrive
//   as SYNTH_ARG_* properties (and the kernel refuses '_' in them, so SDEV_UA cannot be faked).
// - The SG_IO prober on loop devices (no SG_IO: the directio fallback): up on a working device,
//   down at once on EIO, and down within the bound on a device that does not answer.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "path_probe.h"
#include "support/dual_path_disk.h"
#include "uevent_monitor.h"

using namespace nvmemp::scsi;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  if (FILE* p = ::popen((cmd + " 2>&1").c_str(), "r")) {
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
    ::pclose(p);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// A loop device over an 8 MiB temp file, detached and removed whatever happens.
class LoopDevice {
 public:
  LoopDevice() {
    char name[] = "/tmp/nvmemp-uevent-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) return;
    file_ = name;
    const bool sized = ::ftruncate(fd, 8 << 20) == 0;
    ::close(fd);
    if (!sized) return;
    const std::string out = run("losetup --find --show " + file_);
    if (out.rfind("/dev/loop", 0) == 0) dev_ = out;
    else error_ = out;
  }
  ~LoopDevice() {
    if (!dev_.empty()) run("losetup -d " + dev_);
    if (!file_.empty()) ::unlink(file_.c_str());
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  bool ok() const { return !dev_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& dev() const { return dev_; }
  std::string sysname() const { return dev_.substr(5); }
  dev_t devnum() const {
    struct stat st {};
    return ::stat(dev_.c_str(), &st) == 0 ? st.st_rdev : 0;
  }

 private:
  std::string file_, dev_, error_;
};

// One write() of `text` to a sysfs file: 0 or the errno.
int write_sysfs(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = n < 0 ? errno : 0;
  ::close(fd);
  return err;
}

std::string new_uuid() {
  std::ifstream f("/proc/sys/kernel/random/uuid");
  std::string u;
  std::getline(f, u);
  return u;
}

// Receives until `want` matches (returned) or 5 s pass (nullopt); every event seen goes to `seen`.
std::optional<Uevent> wait_event(UeventMonitor& mon, const std::function<bool(const Uevent&)>& want,
                                 std::vector<Uevent>& seen) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    while (auto e = mon.receive()) {
      seen.push_back(*e);
      if (want(*e)) return e;
    }
    pollfd p{mon.fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
  }
  return std::nullopt;
}

// A raw NETLINK_KOBJECT_UEVENT socket on the kernel group: what the kernel really broadcast.
class RawUeventSocket {
 public:
  RawUeventSocket() {
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    sockaddr_nl a{};
    a.nl_family = AF_NETLINK;
    a.nl_groups = 1;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawUeventSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // True once a message whose header is `header` ("change@/devices/...") arrived, within 5 s.
  bool saw(const std::string& header) {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    std::vector<char> buf(16384);
    while (Clock::now() < deadline) {
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n > 0 && std::string(buf.data(), ::strnlen(buf.data(), static_cast<std::size_t>(n))) == header) return true;
      if (n < 0) {
        pollfd p{fd_, POLLIN, 0};
        ::poll(&p, 1, 100);
      }
    }
    return false;
  }

 private:
  int fd_ = -1;
};

}  // namespace

TEST_CASE("uevent monitor: a loop device's change arrives, other subsystems are filtered out", "[scsi][uevent]") {
  LoopDevice loop;
  INFO("losetup: " << loop.error());
  REQUIRE(loop.ok());
  auto mon = UeventMonitor::create();
  INFO((mon ? std::string() : mon.error().message));
  REQUIRE(mon);
  if (::access("/run/udev/control", F_OK) != 0) {
    CHECK((*mon)->source() == UeventMonitor::Source::Kernel);
    CHECK(std::string((*mon)->source_name()) == "kernel");
  }
  RawUeventSocket raw;
  REQUIRE(raw.ok());
  CHECK((::fcntl((*mon)->fd(), F_GETFL) & O_NONBLOCK) != 0);
  CHECK_FALSE((*mon)->receive());  // nothing yet for us; never blocks

  // A uevent of subsystem "mem": the kernel broadcasts it during the write, and the socket
  // filter libudev installed lets it into the monitor's socket (a kernel message has no libudev
  // header, and the filter passes those): read the socket raw to see it there.
  const std::string mem_uevent = "/sys/devices/virtual/mem/null/uevent";
  const std::string mem_header = "change@/devices/virtual/mem/null";
  const bool other = write_sysfs(mem_uevent, "change") == 0;
  if (other) {
    bool queued = false;
    std::vector<char> buf(16384);
    for (ssize_t n; !queued && (n = ::recv((*mon)->fd(), buf.data(), buf.size(), 0)) > 0;) {
      queued = std::string(buf.data(), ::strnlen(buf.data(), static_cast<std::size_t>(n))) == mem_header;
    }
    CHECK(queued);
  }
  // Then through receive(): the same kind of event is dropped in user space, the loop's arrives.
  if (other) REQUIRE(write_sysfs(mem_uevent, "change") == 0);
  REQUIRE(write_sysfs("/sys/block/" + loop.sysname() + "/uevent", "change") == 0);

  std::vector<Uevent> seen;
  auto e = wait_event(**mon, [&](const Uevent& u) { return u.sysname == loop.sysname() && u.action == "change"; }, seen);
  REQUIRE(e);
  CHECK(e->subsystem == "block");
  CHECK(e->devtype == "disk");
  CHECK(e->devnum == loop.devnum());
  CHECK(e->devnode == loop.dev());
  CHECK(e->syspath == "/sys/devices/virtual/block/" + loop.sysname());
  CHECK(e->seqnum > 0);
  CHECK(e->properties.at("SUBSYSTEM") == "block");
  for (const Uevent& u : seen) {
    INFO(u.action << " " << u.syspath);
    CHECK((u.subsystem == "block" || u.subsystem == "scsi"));
  }
  if (other) CHECK(raw.saw(mem_header));  // it was sent; the monitor dropped it
  CHECK_FALSE((*mon)->take_overflow());
}

TEST_CASE("uevent monitor: a synthetic uevent's variables arrive as SYNTH_ARG_* properties", "[scsi][uevent]") {
  LoopDevice loop;
  INFO("losetup: " << loop.error());
  REQUIRE(loop.ok());
  auto mon = UeventMonitor::create();
  REQUIRE(mon);
  const std::string uevent = "/sys/block/" + loop.sysname() + "/uevent";
  const std::string uuid = new_uuid();
  REQUIRE(uuid.size() == 36);

  // The kernel takes only [A-Za-z0-9] in keys and values (lib/kobject_uevent.c,
  // action_arg_word_end()): the real SDEV_UA=ASYMMETRIC_ACCESS_STATE_CHANGED is refused.
  CHECK(write_sysfs(uevent, "change " + uuid + " SDEV_UA=ASYMMETRIC_ACCESS_STATE_CHANGED") == EINVAL);

  REQUIRE(write_sysfs(uevent, "change " + uuid + " SDEVUA=ASYMMETRICACCESSSTATECHANGED HOST=7") == 0);
  std::vector<Uevent> seen;
  auto e = wait_event(**mon, [&](const Uevent& u) {
    auto it = u.properties.find("SYNTH_UUID");
    return it != u.properties.end() && it->second == uuid;
  }, seen);
  REQUIRE(e);
  CHECK(e->action == "change");
  CHECK(e->sysname == loop.sysname());
  CHECK(e->devnum == loop.devnum());
  CHECK(e->properties.at("SYNTH_ARG_SDEVUA") == "ASYMMETRICACCESSSTATECHANGED");
  CHECK(e->properties.at("SYNTH_ARG_HOST") == "7");
  CHECK(e->sdev_ua.empty());  // only the kernel's own scsi_device events carry SDEV_UA
}

TEST_CASE("SG_IO prober on a loop device: no SG_IO, the directio read says up", "[scsi][probe]") {
  LoopDevice loop;
  INFO("losetup: " << loop.error());
  REQUIRE(loop.ok());
  auto prober = make_sg_path_prober();
  const auto t0 = Clock::now();
  const ProbeResult r = prober->probe(loop.dev(), milliseconds(2000));
  INFO(r.detail);
  CHECK(r.state == ProbeState::Up);
  CHECK(r.method == ProbeMethod::Directio);
  CHECK(r.reached_target);
  CHECK(r.detail.find("read 4096 bytes") != std::string::npos);
  CHECK(Clock::now() - t0 < milliseconds(2000));

  const ProbeResult gone = prober->probe("/dev/nvmemp-no-such-device", milliseconds(500));
  CHECK(gone.state == ProbeState::Down);
  CHECK_FALSE(gone.reached_target);
  CHECK(gone.detail.find("No such file") != std::string::npos);
}

TEST_CASE("SG_IO prober: EIO on one path is down at once, a path that does not answer is down within the bound",
          "[scsi][probe][dualpath]") {
  auto disk = nvmemp::test::DualPathDisk::create(8 << 20);
  INFO((disk ? std::string() : disk.error()));
  REQUIRE(disk);
  auto& d = **disk;
  auto prober = make_sg_path_prober();

  d.set_failing(0, true);
  const ProbeResult eio = prober->probe(d.device(0), milliseconds(2000));
  INFO(eio.detail);
  CHECK(eio.state == ProbeState::Down);
  CHECK(eio.method == ProbeMethod::Directio);
  CHECK_FALSE(eio.reached_target);
  CHECK(eio.detail.find("path error") != std::string::npos);
  CHECK(prober->probe(d.device(1), milliseconds(2000)).state == ProbeState::Up);
  d.set_failing(0, false);
  CHECK(prober->probe(d.device(0), milliseconds(2000)).state == ProbeState::Up);

  // Each request on path 0 now waits 3 s: a 300 ms probe gives up in time.
  d.set_delay(0, 3000);
  const auto t0 = Clock::now();
  const ProbeResult slow = prober->probe(d.device(0), milliseconds(300));
  const auto took = Clock::now() - t0;
  INFO(slow.detail);
  CHECK(slow.state == ProbeState::Down);
  CHECK_FALSE(slow.reached_target);
  CHECK(took < milliseconds(1500));
  // Asked again while that read still hangs: down at once, no second thread piles up.
  const ProbeResult again = prober->probe(d.device(0), milliseconds(300));
  INFO(again.detail);
  CHECK(again.state == ProbeState::Down);
  CHECK(again.detail.find("previous probe") != std::string::npos);

  // The path recovers: once the stuck read has ended, probes say up again.
  d.set_delay(0, 0);
  ProbeResult back;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    back = prober->probe(d.device(0), milliseconds(1000));
    if (back.state == ProbeState::Up) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  INFO(back.detail);
  CHECK(back.state == ProbeState::Up);
}
