#include "support/dual_path_disk.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "support/shell.h"

#ifndef DUALPATH_FUSE_BIN
#error "DUALPATH_FUSE_BIN (the dualpath-fuse executable) must be defined"
#endif

namespace nvmemp::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::string_view kMarker = "nvmemp-dualpath-";  // temp dir names: kMarker + pid + "-XXXXXX"
constexpr auto kMountWait = 10s;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Polls `done` every 10 ms until it is true or `limit` has passed.
template <typename F>
bool wait_for(std::chrono::milliseconds limit, F done) {
  const auto end = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() >= end) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// The pid in "...nvmemp-dualpath-<pid>-..." or -1.
pid_t marker_pid(std::string_view s) {
  const auto at = s.find(kMarker);
  if (at == std::string_view::npos) return -1;
  pid_t pid = 0;
  std::size_t i = at + kMarker.size();
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9' && pid < 100000000; ++i) pid = pid * 10 + (s[i] - '0');
  return i < s.size() && s[i] == '-' && pid > 0 ? pid : -1;
}

bool pid_gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }
bool stale(std::string_view s) { return pid_gone(marker_pid(s)); }

// Mount points and file system types from /proc/self/mountinfo (no access to the file systems,
// so a dead or hung FUSE daemon cannot block it).
std::vector<std::pair<std::string, std::string>> mounts() {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, point, word;
    ls >> id >> parent >> devno >> root >> point;
    while (ls >> word && word != "-") {
    }
    std::string type;
    ls >> type;
    out.emplace_back(point, type);
  }
  return out;
}

bool mounted(const std::string& point) {
  for (const auto& m : mounts())
    if (m.first == point) return true;
  return false;
}

// umount; lazily when busy. Returns "" or what failed.
std::string unmount(const std::string& point) {
  if (::umount2(point.c_str(), UMOUNT_NOFOLLOW) == 0) return {};
  const int err = errno;
  if (err == EBUSY && ::umount2(point.c_str(), UMOUNT_NOFOLLOW | MNT_DETACH) == 0) return {};
  return fmt::format("umount {}: {}", point, std::strerror(errno != 0 ? errno : err));
}

// The name the loop device was set up with (LOOP_GET_STATUS64 lo_file_name, at most 63
// characters). Empty when not bound or unreadable.
std::string loop_file_name(const std::string& dev) {
  const int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  loop_info64 info{};
  const int rc = ::ioctl(fd, LOOP_GET_STATUS64, &info);
  ::close(fd);
  if (rc != 0) return {};
  info.lo_file_name[LO_NAME_SIZE - 1] = 0;
  return reinterpret_cast<const char*>(info.lo_file_name);
}

// Detaches a loop device (LOOP_CLR_FD; the kernel finishes it when the last opener closes) and
// waits up to 3 s for it to be unbound. Returns "" or what failed.
std::string detach_loop(const std::string& sys) {
  const std::string dev = "/dev/" + sys;
  const int fd = ::open(dev.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fmt::format("open {}: {}", dev, std::strerror(errno));
  const int rc = ::ioctl(fd, LOOP_CLR_FD, 0);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != ENXIO) return fmt::format("LOOP_CLR_FD {}: {}", dev, std::strerror(err));
  const std::string bound = "/sys/block/" + sys + "/loop/backing_file";
  if (!wait_for(3s, [&] { return ::access(bound.c_str(), F_OK) != 0; }))
    return fmt::format("{} still bound 3 s after LOOP_CLR_FD (another opener?)", dev);
  return {};
}

// Waits for a child up to `limit`; true when it was reaped.
bool reap(pid_t pid, std::chrono::milliseconds limit, int* status) {
  return wait_for(limit, [&] {
    const pid_t rc = ::waitpid(pid, status, WNOHANG);
    return rc == pid || (rc < 0 && errno == ECHILD);
  });
}

fs::path temp_root() {
  std::error_code ec;
  fs::path root = fs::canonical(fs::temp_directory_path(ec), ec);
  // lo_file_name keeps 63 characters: the marker must fit in it with room to spare.
  if (ec || root.string().size() > 24) root = "/tmp";
  return root;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("killed by signal {}", WTERMSIG(status));
  return "stopped";
}

}  // namespace

std::string DualPathDisk::cleanup_stale() {
  std::string report;
  try {
    // 1. Loop devices over a dead run's mount. While the mount is attached sysfs shows the full
    // path; after a lazy unmount it shows "/a" or "/b", and lo_file_name still has the full path.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/sys/block", ec)) {
      const std::string sys = entry.path().filename().string();
      if (sys.rfind("loop", 0) != 0) continue;
      std::string name = trim(read_text(entry.path().string() + "/loop/backing_file"));
      if (name.empty()) continue;  // not bound
      if (name == "/a" || name == "/b") name = loop_file_name("/dev/" + sys);
      if (!stale(name)) continue;
      const std::string err = detach_loop(sys);
      report += fmt::format("stale /dev/{} over {}: {}\n", sys, name, err.empty() ? "detached" : err);
    }
    // 2. Their mounts.
    for (const auto& [point, type] : mounts()) {
      if (type != "fuse.dualpath" || !stale(point)) continue;
      const std::string err = unmount(point);
      report += fmt::format("stale mount {}: {}\n", point, err.empty() ? "unmounted" : err);
    }
    // 3. Their dualpath-fuse children, if still alive, and their directories.
    for (const auto& entry : fs::directory_iterator(temp_root(), ec)) {
      const std::string dir = entry.path().string();
      const std::string base = entry.path().filename().string();
      if (base.rfind(kMarker, 0) != 0 || !stale(base)) continue;
      const pid_t fuse = static_cast<pid_t>(std::atoi(read_text(dir + "/fuse.pid").c_str()));
      if (fuse > 0) {
        std::string cmdline = read_text(fmt::format("/proc/{}/cmdline", fuse));
        if (cmdline.find("dualpath-fuse") != std::string::npos && cmdline.find(dir) != std::string::npos) {
          ::kill(fuse, SIGKILL);
          report += fmt::format("stale dualpath-fuse pid {} killed\n", fuse);
        }
      }
      if (mounted(dir + "/mnt")) {
        report += fmt::format("stale {}: still mounted, left\n", dir);
        continue;
      }
      std::error_code rm;
      fs::remove_all(dir, rm);
      report += fmt::format("stale {}: {}\n", dir, rm ? "cannot remove: " + rm.message() : "removed");
    }
  } catch (const std::exception& e) {  // a directory that vanished while it was listed
    report += fmt::format("cleanup stopped: {}\n", e.what());
  }
  return report;
}

tl::expected<std::unique_ptr<DualPathDisk>, std::string> DualPathDisk::create(std::uint64_t bytes) {
  using Err = tl::unexpected<std::string>;
  if (bytes == 0 || bytes % 512 != 0)
    return Err(fmt::format("DualPathDisk: size {} is not a positive multiple of 512", bytes));
  if (::access(DUALPATH_FUSE_BIN, X_OK) != 0)
    return Err(fmt::format("DualPathDisk: {} is not executable: {}", DUALPATH_FUSE_BIN, std::strerror(errno)));
  if (const std::string stale = cleanup_stale(); !stale.empty())
    std::fprintf(stderr, "DualPathDisk: cleaned up after a run that died:\n%s", stale.c_str());

  std::unique_ptr<DualPathDisk> d(new DualPathDisk());  // its destructor undoes a partial create
  std::string tmpl = (temp_root() / fmt::format("{}{}-XXXXXX", kMarker, ::getpid())).string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return Err(fmt::format("DualPathDisk: mkdtemp {}: {}", tmpl, std::strerror(errno)));
  d->dir_ = tmpl;
  d->mnt_ = d->dir_ + "/mnt";
  d->backing_ = d->dir_ + "/disk.img";
  d->log_ = d->dir_ + "/fuse.log";

  // Backing file: sparse, so it reads as zeros.
  {
    const int fd = ::open(d->backing_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Err(fmt::format("DualPathDisk: create {}: {}", d->backing_, std::strerror(errno)));
    const int rc = ::ftruncate(fd, static_cast<off_t>(bytes));
    const int err = errno;
    ::close(fd);
    if (rc != 0)
      return Err(fmt::format("DualPathDisk: size {} to {} bytes: {}", d->backing_, bytes, std::strerror(err)));
  }
  if (::mkdir(d->mnt_.c_str(), 0700) != 0)
    return Err(fmt::format("DualPathDisk: mkdir {}: {}", d->mnt_, std::strerror(errno)));

  // dualpath-fuse as a child; SIGTERM to it when this thread dies (it then unmounts).
  {
    const int log_fd = ::open(d->log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) {
      if (log_fd >= 0) ::close(log_fd);
      if (null_fd >= 0) ::close(null_fd);
      return Err(fmt::format("DualPathDisk: open {} or /dev/null: {}", d->log_, std::strerror(errno)));
    }
    std::string bin = DUALPATH_FUSE_BIN;
    std::string backing = d->backing_;
    std::string mnt = d->mnt_;
    char* argv[] = {bin.data(), backing.data(), mnt.data(), nullptr};
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {  // only async-signal-safe calls from here to exec
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(126);
      ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::close_range(3, ~0U, 0);
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    const int err = errno;
    ::close(log_fd);
    ::close(null_fd);
    if (pid < 0) return Err(fmt::format("DualPathDisk: fork: {}", std::strerror(err)));
    d->child_ = pid;
    std::ofstream(d->dir_ + "/fuse.pid") << pid << "\n";
  }

  // Mounted within kMountWait, or the child's exit status and output.
  int status = 0;
  bool exited = false;
  const bool up = wait_for(kMountWait, [&] {
    if (::waitpid(d->child_, &status, WNOHANG) == d->child_) exited = true;
    return exited || mounted(d->mnt_);
  });
  if (exited) {
    d->child_ = -1;
    return Err(fmt::format("DualPathDisk: {} {} before mounting {}; its output:\n{}", DUALPATH_FUSE_BIN,
                           describe_status(status), d->mnt_, read_text(d->log_)));
  }
  if (!up)
    return Err(fmt::format("DualPathDisk: {} did not mount {} within 10 s; its output:\n{}", DUALPATH_FUSE_BIN,
                           d->mnt_, read_text(d->log_)));
  d->ctl_fd_ = ::open((d->mnt_ + "/ctl").c_str(), O_WRONLY | O_CLOEXEC);
  if (d->ctl_fd_ < 0)
    return Err(fmt::format("DualPathDisk: open {}/ctl: {}; dualpath-fuse output:\n{}", d->mnt_, std::strerror(errno),
                           read_text(d->log_)));

  // One loop device per name, with direct I/O.
  for (int path = 0; path < 2; ++path) {
    const std::string file = d->mnt_ + (path == 0 ? "/a" : "/b");
    const std::string cmd = "losetup --find --show --direct-io=on --sector-size 512 " + quoted(file);
    const ShellResult r = shell(cmd, 30);
    std::string dev;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("/dev/loop", 0) == 0) dev = trim(line);
    if (r.status != 0 || dev.empty())
      return Err(fmt::format("DualPathDisk: `{}` failed (status {}):\n{}", cmd, r.status, r.out));
    d->devices_[path] = dev;
    const std::string sys = d->sysname(path);
    const std::string dio = trim(read_text("/sys/block/" + sys + "/loop/dio"));
    if (dio != "1")
      return Err(fmt::format("DualPathDisk: `{}` gave {} but direct I/O is off (/sys/block/{}/loop/dio = '{}')", cmd,
                             dev, sys, dio));
    struct stat st {};
    if (!wait_for(3s, [&] { return ::stat(dev.c_str(), &st) == 0 && S_ISBLK(st.st_mode); }))
      return Err(fmt::format("DualPathDisk: {} did not appear as a block device within 3 s", dev));
    d->devnums_[path] = st.st_rdev;
  }
  return d;
}

DualPathDisk::~DualPathDisk() { teardown(); }

void DualPathDisk::teardown() noexcept {
  try {
    if (ctl_fd_ >= 0) {  // nothing may hang or fail while the loop devices go
      const std::string reset = "ok a\nok b\ndelay a 0\ndelay b 0\n";
      [[maybe_unused]] const ssize_t n = ::pwrite(ctl_fd_, reset.data(), reset.size(), 0);
      ::close(ctl_fd_);
      ctl_fd_ = -1;
    }
    for (int path = 0; path < 2; ++path) {
      if (devices_[path].empty()) continue;
      // Only if it is still ours (lo_file_name keeps 63 characters).
      const std::string file = (mnt_ + (path == 0 ? "/a" : "/b")).substr(0, LO_NAME_SIZE - 1);
      if (loop_file_name(devices_[path]) == file) {
        if (const std::string err = detach_loop(sysname(path)); !err.empty())
          std::fprintf(stderr, "DualPathDisk: %s\n", err.c_str());
      }
      devices_[path].clear();
    }
    if (!mnt_.empty() && mounted(mnt_)) {
      if (const std::string err = unmount(mnt_); !err.empty()) std::fprintf(stderr, "DualPathDisk: %s\n", err.c_str());
    }
    if (child_ > 0) {  // it exits by itself once unmounted
      int status = 0;
      if (!reap(child_, 2s, &status)) {
        ::kill(child_, SIGTERM);
        if (!reap(child_, 2s, &status)) {
          ::kill(child_, SIGKILL);
          if (!reap(child_, 2s, &status)) std::fprintf(stderr, "DualPathDisk: pid %d did not exit\n", child_);
        }
      }
      child_ = -1;
    }
    if (!dir_.empty() && !mounted(mnt_)) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      if (ec) std::fprintf(stderr, "DualPathDisk: remove %s: %s\n", dir_.c_str(), ec.message().c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "DualPathDisk: cleanup: %s\n", e.what());
  }
}

const std::string& DualPathDisk::device(int path) const { return devices_[path == 0 ? 0 : 1]; }

std::string DualPathDisk::sysname(int path) const {
  const std::string& dev = device(path);
  const auto slash = dev.rfind('/');
  return slash == std::string::npos ? dev : dev.substr(slash + 1);
}

dev_t DualPathDisk::devnum(int path) const { return devnums_[path == 0 ? 0 : 1]; }

void DualPathDisk::control(const std::string& command) {
  const ssize_t n = ctl_fd_ < 0 ? -1 : ::pwrite(ctl_fd_, command.data(), command.size(), 0);
  if (n != static_cast<ssize_t>(command.size()))
    throw std::runtime_error(fmt::format("DualPathDisk: writing '{}' to {}/ctl: {}", trim(command), mnt_,
                                         n < 0 ? std::strerror(errno) : "short write"));
}

void DualPathDisk::set_failing(int path, bool failing) {
  control(fmt::format("{} {}\n", failing ? "fail" : "ok", path == 0 ? 'a' : 'b'));
}

void DualPathDisk::set_delay(int path, int ms) { control(fmt::format("delay {} {}\n", path == 0 ? 'a' : 'b', ms)); }

}  // namespace nvmemp::test
