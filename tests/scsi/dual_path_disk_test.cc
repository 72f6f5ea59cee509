// DualPathDisk / dualpath-fuse: two loop devices (direct I/O) over one backing file, one failure
// switch per path, and cleanup that leaves nothing behind, even after a crashed run.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "support/dual_path_disk.h"
#include "support/shell.h"

namespace {

using nvmemp::test::DualPathDisk;
using nvmemp::test::shell;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint64_t kDiskBytes = 16u << 20;

std::string slurp_trimmed(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::unique_ptr<DualPathDisk> make_disk(std::uint64_t bytes = kDiskBytes) {
  auto d = DualPathDisk::create(bytes);
  if (!d) FAIL(d.error());
  return std::move(*d);
}

struct Aligned {
  explicit Aligned(std::size_t n) : size(n), p(static_cast<unsigned char*>(std::aligned_alloc(4096, n)), &std::free) {}
  void fill(unsigned seed) {
    for (std::size_t i = 0; i < size; ++i)
      p.get()[i] = static_cast<unsigned char>((i * 131 + seed * 7919 + i / 512) & 0xff);
  }
  bool operator==(const Aligned& o) const { return size == o.size && std::memcmp(p.get(), o.p.get(), size) == 0; }
  std::size_t size;
  std::unique_ptr<unsigned char, decltype(&std::free)> p;
};

// One O_DIRECT pread/pwrite on a fresh descriptor: 0 or the errno, and how long it took.
struct IoResult {
  int err = 0;
  std::chrono::microseconds took{};
};

IoResult direct_io(const std::string& dev, bool write, Aligned& buf, std::uint64_t off) {
  IoResult r;
  const int fd = ::open(dev.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    r.err = errno;
    return r;
  }
  const auto t0 = Clock::now();
  const ssize_t n = write ? ::pwrite(fd, buf.p.get(), buf.size, static_cast<off_t>(off))
                          : ::pread(fd, buf.p.get(), buf.size, static_cast<off_t>(off));
  r.took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
  if (n < 0) r.err = errno;
  else if (static_cast<std::size_t>(n) != buf.size) r.err = EMSGSIZE;  // short: not expected here
  ::close(fd);
  return r;
}

bool listed_in_mountinfo(const std::string& point) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);)
    if (line.find(" " + point + " ") != std::string::npos) return true;
  return false;
}

// Loop devices whose backing file (sysfs) or set-up name (LOOP_GET_STATUS64 lo_file_name, kept
// after a lazy unmount, when sysfs shows just "/a") mentions `dir`: "loop3 loop4" or "".
std::string loops_over(const std::string& dir) {
  std::string found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/block", ec)) {
    const std::string sys = e.path().filename().string();
    if (sys.rfind("loop", 0) != 0) continue;
    std::string name = slurp_trimmed(e.path().string() + "/loop/backing_file");
    if (name.empty()) continue;  // not bound
    if (name.find(dir) == std::string::npos) {
      const int fd = ::open(("/dev/" + sys).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      loop_info64 info{};
      if (::ioctl(fd, LOOP_GET_STATUS64, &info) == 0) name = reinterpret_cast<const char*>(info.lo_file_name);
      ::close(fd);
    }
    if (name.find(dir) != std::string::npos) found += (found.empty() ? "" : " ") + sys;
  }
  return found;
}

}  // namespace

TEST_CASE("DualPathDisk: two loop devices with direct I/O over one file", "[scsi][dualpath]") {
  auto d = make_disk();
  REQUIRE(d->device(0) != d->device(1));
  for (int path = 0; path < 2; ++path) {
    INFO(d->device(path));
    CHECK(d->device(path) == "/dev/" + d->sysname(path));
    const std::string sys = "/sys/block/" + d->sysname(path);
    CHECK(slurp_trimmed(sys + "/loop/dio") == "1");
    CHECK(slurp_trimmed(sys + "/loop/backing_file") == d->mountpoint() + (path == 0 ? "/a" : "/b"));
    CHECK(slurp_trimmed(sys + "/size") == std::to_string(kDiskBytes / 512));
    CHECK(slurp_trimmed(sys + "/queue/logical_block_size") == "512");
    CHECK(major(d->devnum(path)) == 7);  // LOOP_MAJOR
    CHECK(slurp_trimmed(sys + "/dev") == std::to_string(major(d->devnum(path))) + ":" + std::to_string(minor(d->devnum(path))));
    const std::string listed = shell("losetup -j " + d->mountpoint() + (path == 0 ? "/a" : "/b"), 30).out;
    CHECK(listed.find(d->device(path)) != std::string::npos);
  }
  struct stat st {};
  REQUIRE(::stat(d->backing_file().c_str(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_size) == kDiskBytes);
  // dualpath-fuse reports the state of the switches in ctl.
  CHECK(slurp_trimmed(d->mountpoint() + "/ctl") == "a ok delay=0\nb ok delay=0");
}

TEST_CASE("DualPathDisk: an O_DIRECT write on one path is read back on the other", "[scsi][dualpath]") {
  auto d = make_disk();
  Aligned zero(4096), got(4096);
  std::memset(zero.p.get(), 0, zero.size);
  REQUIRE(direct_io(d->device(1), false, got, 0).err == 0);
  CHECK(got == zero);  // the disk starts zero-filled

  for (int from = 0; from < 2; ++from) {
    const int to = 1 - from;
    for (const std::size_t len : {std::size_t{4096}, std::size_t{1} << 20}) {
      INFO("path " << from << " -> path " << to << ", " << len << " bytes");
      Aligned out(len), in(len);
      out.fill(static_cast<unsigned>(from * 10 + len));
      const std::uint64_t off = (3u << 20) + 4096u * static_cast<unsigned>(from);
      REQUIRE(direct_io(d->device(from), true, out, off).err == 0);
      REQUIRE(direct_io(d->device(to), false, in, off).err == 0);
      CHECK(in == out);
      // ... and it is in the backing file.
      Aligned file(len);
      const int fd = ::open(d->backing_file().c_str(), O_RDONLY | O_CLOEXEC);
      REQUIRE(fd >= 0);
      CHECK(::pread(fd, file.p.get(), len, static_cast<off_t>(off)) == static_cast<ssize_t>(len));
      ::close(fd);
      CHECK(file == out);
    }
  }
}

TEST_CASE("DualPathDisk: a failed path gives EIO at once while the other works and it recovers", "[scsi][dualpath]") {
  auto d = make_disk();
  for (int bad = 0; bad < 2; ++bad) {
    const int good = 1 - bad;
    INFO("failing path " << bad << " (" << d->device(bad) << ")");
    Aligned before(65536), buf(65536);
    before.fill(static_cast<unsigned>(bad + 1));
    REQUIRE(direct_io(d->device(bad), true, before, 0).err == 0);

    d->set_failing(bad, true);
    const std::string state = slurp_trimmed(d->mountpoint() + "/ctl");
    CHECK(state.find(std::string(1, static_cast<char>('a' + bad)) + " fail") != std::string::npos);
    const IoResult rd = direct_io(d->device(bad), false, buf, 0);
    const IoResult wr = direct_io(d->device(bad), true, buf, 8192);
    CHECK(rd.err == EIO);
    CHECK(wr.err == EIO);
    CHECK(rd.took < 2s);  // no retries in the loop driver: the error comes back at once
    CHECK(wr.took < 2s);
    std::printf("dualpath: EIO on %s after %lld us (read), %lld us (write)\n", d->device(bad).c_str(),
                static_cast<long long>(rd.took.count()), static_cast<long long>(wr.took.count()));

    // The other path reads what was written and takes new writes.
    REQUIRE(direct_io(d->device(good), false, buf, 0).err == 0);
    CHECK(buf == before);
    Aligned during(65536);
    during.fill(static_cast<unsigned>(bad + 100));
    REQUIRE(direct_io(d->device(good), true, during, 65536).err == 0);

    d->set_failing(bad, false);
    CHECK(direct_io(d->device(bad), false, buf, 65536).err == 0);
    CHECK(buf == during);  // the recovered path sees what was written while it was down
    CHECK(direct_io(d->device(bad), true, buf, 131072).err == 0);
  }
}

TEST_CASE("DualPathDisk: a delayed path is slow and the other is not", "[scsi][dualpath]") {
  auto d = make_disk();
  Aligned buf(4096);
  d->set_delay(0, 500);
  const IoResult slow = direct_io(d->device(0), false, buf, 0);
  const IoResult fast = direct_io(d->device(1), false, buf, 0);
  CHECK(slow.err == 0);
  CHECK(fast.err == 0);
  CHECK(slow.took >= 490ms);
  CHECK(fast.took < 400ms);
  // Requests are served concurrently: 4 delayed reads at once take about one delay.
  {
    const auto t0 = Clock::now();
    int errs[4] = {};
    std::thread readers[4];
    for (int i = 0; i < 4; ++i)
      readers[i] = std::thread([&, i] {
        Aligned b(4096);
        errs[i] = direct_io(d->device(0), false, b, 4096u * static_cast<unsigned>(i)).err;
      });
    for (auto& t : readers) t.join();
    const auto took = Clock::now() - t0;
    for (const int e : errs) CHECK(e == 0);
    CHECK(took >= 490ms);
    CHECK(took < 1500ms);
  }
  // Delay and failure together: a slow EIO.
  d->set_failing(0, true);
  const IoResult slow_fail = direct_io(d->device(0), true, buf, 0);
  CHECK(slow_fail.err == EIO);
  CHECK(slow_fail.took >= 490ms);
  d->set_failing(0, false);
  // Lowering the delay releases a request that is already waiting.
  d->set_delay(0, 5000);
  const auto t0 = Clock::now();
  int waited_err = -1;
  std::thread waiting([&] { waited_err = direct_io(d->device(0), false, buf, 0).err; });
  std::this_thread::sleep_for(200ms);
  d->set_delay(0, 0);
  waiting.join();
  CHECK(waited_err == 0);
  CHECK(Clock::now() - t0 < 2s);
  const IoResult back = direct_io(d->device(0), false, buf, 0);
  CHECK(back.err == 0);
  CHECK(back.took < 400ms);
}

TEST_CASE("dualpath-fuse: bad arguments and bad ctl commands are refused clearly", "[scsi][dualpath]") {
  const std::string bin = DUALPATH_FUSE_BIN;
  auto none = shell(bin, 10);
  CHECK(none.status == 2);
  CHECK(none.out.find("expected 2 arguments") != std::string::npos);
  auto missing = shell(bin + " /nonexistent/disk.img /tmp", 10);
  CHECK(missing.status == 2);
  CHECK(missing.out.find("/nonexistent/disk.img: No such file or directory") != std::string::npos);
  auto dir = shell(bin + " /tmp /tmp", 10);
  CHECK(dir.status == 2);
  CHECK(dir.out.find("not a regular file") != std::string::npos);
  auto opt = shell(bin + " --frobnicate a b", 10);
  CHECK(opt.status == 2);
  CHECK(opt.out.find("unknown option --frobnicate") != std::string::npos);

  auto d = make_disk(1u << 20);
  const std::string ctl = d->mountpoint() + "/ctl";
  for (const char* bad : {"fail c\n", "frobnicate a\n", "delay a\n", "delay a -1\n", "ok a b\n", "ok a\nfail\n"}) {
    INFO(bad);
    const int fd = ::open(ctl.c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK(::write(fd, bad, std::strlen(bad)) == -1);
    CHECK(errno == EINVAL);
    ::close(fd);
  }
  CHECK(slurp_trimmed(ctl) == "a ok delay=0\nb ok delay=0");  // nothing applied, not even "ok a"
  CHECK_THROWS_WITH(d->set_delay(1, -5), Catch::Contains("Invalid argument"));
}

TEST_CASE("DualPathDisk: cleanup leaves no loop device or mount or process or directory", "[scsi][dualpath]") {
  auto d = make_disk();
  const std::string dir = d->dir(), mnt = d->mountpoint(), backing = d->backing_file();
  const std::string sys0 = d->sysname(0), sys1 = d->sysname(1);
  const pid_t fuse = d->fuse_pid();
  REQUIRE(!loops_over(dir).empty());
  REQUIRE(listed_in_mountinfo(mnt));
  d->set_failing(0, true);  // a failed path must not hold cleanup up
  d->set_delay(1, 200);
  const auto t0 = Clock::now();
  d.reset();
  const auto took = Clock::now() - t0;
  CHECK(took < 10s);
  CHECK(shell("losetup -j " + backing, 30).out.empty());
  CHECK(loops_over(dir).empty());
  CHECK(slurp_trimmed("/sys/block/" + sys0 + "/loop/backing_file").find(dir) == std::string::npos);
  CHECK(slurp_trimmed("/sys/block/" + sys1 + "/loop/backing_file").find(dir) == std::string::npos);
  CHECK_FALSE(listed_in_mountinfo(mnt));
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK((::kill(fuse, 0) != 0 && errno == ESRCH));
}

TEST_CASE("DualPathDisk: what a crashed run left behind is removed by the next create()", "[scsi][dualpath]") {
  // A forked child creates a disk and dies by SIGKILL without any cleanup.
  const bool kill_fuse_too = GENERATE(false, true);
  INFO((kill_fuse_too ? "the FUSE child is SIGKILLed too (its mount stays, dead)"
                      : "the FUSE child gets SIGTERM (PR_SET_PDEATHSIG) and unmounts lazily"));
  REQUIRE(::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  struct NoSubreaper {
    ~NoSubreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 0); }
  } no_subreaper;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto d = DualPathDisk::create(1u << 20);
    const std::string msg = d ? std::to_string((*d)->fuse_pid()) + " " + (*d)->dir() : std::string{};
    if (d && kill_fuse_too) ::kill((*d)->fuse_pid(), SIGKILL);
    [[maybe_unused]] const ssize_t n = ::write(fds[1], msg.data(), msg.size());
    ::raise(SIGKILL);
  }
  ::close(fds[1]);
  char buf[512] = {};
  const ssize_t n = ::read(fds[0], buf, sizeof(buf) - 1);
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(n > 0);
  const std::string msg(buf, static_cast<std::size_t>(n));
  const pid_t fuse = static_cast<pid_t>(std::atoi(msg.c_str()));
  const std::string dir = msg.substr(msg.find(' ') + 1);
  // The orphaned dualpath-fuse is ours to reap (we are its subreaper): no zombie is left.
  const auto reap_fuse = [fuse] {
    for (int i = 0; i < 500 && ::waitpid(fuse, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(10ms);
  };
  const std::string mnt = dir + "/mnt";
  // The crash left the loop devices attached (their backing files broken).
  CHECK_FALSE(loops_over(dir).empty());
  if (!kill_fuse_too) {  // wait (bounded) for the FUSE child's lazy unmount
    for (int i = 0; i < 500 && listed_in_mountinfo(mnt); ++i) std::this_thread::sleep_for(10ms);
    CHECK_FALSE(listed_in_mountinfo(mnt));
  }

  auto d = make_disk(1u << 20);  // create() cleans up first
  reap_fuse();
  CHECK((::kill(fuse, 0) != 0 && errno == ESRCH));
  CHECK(loops_over(dir).empty());
  CHECK_FALSE(listed_in_mountinfo(mnt));
  CHECK_FALSE(std::filesystem::exists(dir));
  // Nothing of the dead run is left for cleanup_stale() to find either.
  const std::string again = DualPathDisk::cleanup_stale();
  CHECK(again.find(dir) == std::string::npos);
  // And the new disk works.
  Aligned out(4096), in(4096);
  out.fill(7);
  REQUIRE(direct_io(d->device(0), true, out, 0).err == 0);
  REQUIRE(direct_io(d->device(1), false, in, 0).err == 0);
  CHECK(in == out);
}
