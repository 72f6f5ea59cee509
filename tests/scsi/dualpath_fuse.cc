// dualpath-fuse: one backing file shown under two names, each with its own failure switch, so two
// loop devices reach ONE disk through two "paths" that can fail independently.
//
//   usage: dualpath-fuse [--debug] BACKING_FILE MOUNTPOINT
//
// Runs in the foreground with a multithreaded loop until SIGTERM/SIGINT/SIGHUP or an unmount,
// then unmounts and exits 0. Bad arguments or a failed mount: a message on stderr, exit 2 / 1.
//
// The mount holds three files:
//   a, b  the backing file (same size, read/write). Opened with FOPEN_DIRECT_IO, so the kernel
//         keeps no page cache for them: every read and write is one pread/pwrite on the backing
//         file's single descriptor, and what is written through `a` is read back through `b` at
//         once. fsync is fdatasync of the backing file. Writes beyond its end fail with ENOSPC;
//         truncation is refused (EPERM).
//   ctl   the switches. Write one or more lines (one write() call, at most 4 KiB):
//           fail a|b        every read, write and fsync on that name fails with EIO
//           ok a|b          the name works again
//           delay a|b MS    each read, write and fsync on that name waits MS ms (0..600000)
//                           before it runs (or fails); the other name is not held up; 0 ends it,
//                           and lowering it releases requests already waiting
//         A write returns only after the new state is in place, so the next request on the name
//         sees it (requests already past their check finish under the old state). An unknown
//         line fails the whole write with EINVAL and changes nothing. Reading `ctl` gives the
//         state, one line per name: "a ok delay=0".
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr fuse_ino_t kRoot = FUSE_ROOT_ID;  // 1
constexpr fuse_ino_t kPathA = 2;            // `a`; `b` is kPathA + 1
constexpr fuse_ino_t kCtl = 4;
constexpr double kAttrTimeout = 86400.0;    // the names and the size never change
constexpr int kMaxDelayMs = 600000;

struct PathSwitch {
  std::atomic<bool> failing{false};
  std::atomic<int> delay_ms{0};
};

struct State {
  int fd = -1;            // the backing file, O_RDWR
  std::uint64_t size = 0; // its size, fixed
  PathSwitch paths[2];
};

State g_state;

bool is_path(fuse_ino_t ino) { return ino == kPathA || ino == kPathA + 1; }
PathSwitch& path_of(fuse_ino_t ino) { return g_state.paths[ino - kPathA]; }

struct stat attr_of(fuse_ino_t ino) {
  struct stat st {};
  st.st_ino = ino;
  st.st_uid = ::getuid();
  st.st_gid = ::getgid();
  if (ino == kRoot) {
    st.st_mode = S_IFDIR | 0755;
    st.st_nlink = 2;
  } else {
    st.st_mode = S_IFREG | 0600;
    st.st_nlink = 1;
    st.st_size = is_path(ino) ? static_cast<off_t>(g_state.size) : 0;
    st.st_blksize = 4096;
    st.st_blocks = (st.st_size + 511) / 512;
  }
  return st;
}

bool known(fuse_ino_t ino) { return ino == kRoot || is_path(ino) || ino == kCtl; }

// Waits out the path's delay, then reports whether the request must fail. The delay is checked
// against its current value every 10 ms, so lowering it (or 0) releases waiting requests early.
bool path_fails(fuse_ino_t ino) {
  PathSwitch& p = path_of(ino);
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const auto left = std::chrono::milliseconds(p.delay_ms.load()) - (std::chrono::steady_clock::now() - start);
    if (left <= std::chrono::milliseconds::zero()) break;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(10)));
  }
  return p.failing.load();
}

std::string ctl_text() {
  std::string s;
  for (int i = 0; i < 2; ++i) {
    s += static_cast<char>('a' + i);
    s += g_state.paths[i].failing.load() ? " fail" : " ok";
    s += " delay=" + std::to_string(g_state.paths[i].delay_ms.load()) + "\n";
  }
  return s;
}

// Parses every line first, applies them only when all are valid. Returns 0 or an errno.
int ctl_apply(std::string_view text) {
  struct Op {
    int path;
    int fail;   // 1 fail, 0 ok, -1 unchanged
    int delay;  // -1 unchanged
  };
  std::vector<Op> ops;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::vector<std::string_view> words;
    for (std::size_t i = 0; i < line.size();) {
      if (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
        ++i;
        continue;
      }
      const std::size_t end = std::min(line.find_first_of(" \t\r", i), line.size());
      words.push_back(line.substr(i, end - i));
      i = end;
    }
    if (words.empty()) continue;  // blank line
    if (words.size() < 2 || (words[1] != "a" && words[1] != "b")) return EINVAL;
    const int path = words[1][0] - 'a';
    if (words[0] == "fail" && words.size() == 2) {
      ops.push_back({path, 1, -1});
    } else if (words[0] == "ok" && words.size() == 2) {
      ops.push_back({path, 0, -1});
    } else if (words[0] == "delay" && words.size() == 3) {
      int ms = 0;
      const auto [end, ec] = std::from_chars(words[2].data(), words[2].data() + words[2].size(), ms);
      if (ec != std::errc{} || end != words[2].data() + words[2].size() || ms < 0 || ms > kMaxDelayMs) return EINVAL;
      ops.push_back({path, -1, ms});
    } else {
      return EINVAL;
    }
  }
  for (const Op& op : ops) {
    if (op.delay >= 0) g_state.paths[op.path].delay_ms.store(op.delay);
    if (op.fail >= 0) g_state.paths[op.path].failing.store(op.fail == 1);
  }
  return 0;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  fuse_ino_t ino = 0;
  if (parent == kRoot) {
    const std::string_view n = name;
    if (n == "a") ino = kPathA;
    if (n == "b") ino = kPathA + 1;
    if (n == "ctl") ino = kCtl;
  }
  if (ino == 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param e{};
  e.ino = ino;
  e.attr = attr_of(ino);
  e.attr_timeout = kAttrTimeout;
  e.entry_timeout = kAttrTimeout;
  fuse_reply_entry(req, &e);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (!known(ino)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  const struct stat st = attr_of(ino);
  fuse_reply_attr(req, &st, kAttrTimeout);
}

// Mode, owner and time changes are accepted and ignored; a size change is refused.
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  if (!known(ino)) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  const struct stat st = attr_of(ino);
  if ((to_set & FUSE_SET_ATTR_SIZE) != 0 && attr->st_size != st.st_size) {
    fuse_reply_err(req, EPERM);
    return;
  }
  fuse_reply_attr(req, &st, kAttrTimeout);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != kRoot) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  static const struct {
    const char* name;
    fuse_ino_t ino;
  } entries[] = {{".", kRoot}, {"..", kRoot}, {"a", kPathA}, {"b", kPathA + 1}, {"ctl", kCtl}};
  std::vector<char> buf(size);
  size_t used = 0;
  for (off_t i = off; i < static_cast<off_t>(std::size(entries)); ++i) {
    const struct stat st = attr_of(entries[i].ino);
    const size_t len = fuse_add_direntry(req, buf.data() + used, size - used, entries[i].name, &st, i + 1);
    if (len > size - used) break;
    used += len;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (!is_path(ino) && ino != kCtl) {
    fuse_reply_err(req, ino == kRoot ? EISDIR : ENOENT);
    return;
  }
  fi->direct_io = 1;  // no page cache: every read/write reaches us
  fi->keep_cache = 0;
  fuse_reply_open(req, fi);
}

// A read or write of `a` or `b`: false (and the error sent) for another inode or a failed path.
bool path_request_ok(fuse_req_t req, fuse_ino_t ino) {
  if (!is_path(ino)) {
    fuse_reply_err(req, EBADF);
    return false;
  }
  if (path_fails(ino)) {
    fuse_reply_err(req, EIO);
    return false;
  }
  return true;
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino == kCtl) {
    const std::string s = ctl_text();
    const size_t from = std::min(static_cast<size_t>(off), s.size());
    fuse_reply_buf(req, s.data() + from, std::min(size, s.size() - from));
    return;
  }
  if (!path_request_ok(req, ino)) return;
  thread_local std::vector<char> buf;
  if (buf.size() < size) buf.resize(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(g_state.fd, buf.data() + done, size - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      fuse_reply_err(req, errno);
      return;
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  fuse_reply_buf(req, buf.data(), done);
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* data, size_t size, off_t off, fuse_file_info*) {
  if (ino == kCtl) {
    if (size > 4096) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    if (const int err = ctl_apply(std::string_view(data, size)); err != 0) {
      fuse_reply_err(req, err);
      return;
    }
    fuse_reply_write(req, size);
    return;
  }
  if (!path_request_ok(req, ino)) return;
  if (off < 0 || static_cast<std::uint64_t>(off) + size > g_state.size) {
    fuse_reply_err(req, ENOSPC);
    return;
  }
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(g_state.fd, data + done, size - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fuse_reply_err(req, n < 0 ? errno : EIO);
      return;
    }
    done += static_cast<size_t>(n);
  }
  fuse_reply_write(req, done);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  if (is_path(ino) && path_fails(ino)) {
    fuse_reply_err(req, EIO);
    return;
  }
  fuse_reply_err(req, ::fdatasync(g_state.fd) == 0 ? 0 : errno);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

int usage(const char* prog, const std::string& why) {
  std::fprintf(stderr,
               "dualpath-fuse: %s\n"
               "usage: %s [--debug] BACKING_FILE MOUNTPOINT\n"
               "  serves BACKING_FILE (a regular file) as MOUNTPOINT/a and MOUNTPOINT/b;\n"
               "  write \"fail a\", \"ok a\", \"delay a MS\" (or b) to MOUNTPOINT/ctl\n",
               why.c_str(), prog);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool debug = false;
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--debug") {
      debug = true;
    } else if (a == "-h" || a == "--help") {
      usage(argv[0], "help");
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      return usage(argv[0], "unknown option " + std::string(a));
    } else {
      pos.emplace_back(a);
    }
  }
  if (pos.size() != 2) return usage(argv[0], "expected 2 arguments, got " + std::to_string(pos.size()));
  const std::string& backing = pos[0];
  const std::string& mountpoint = pos[1];

  struct stat st {};
  if (::stat(backing.c_str(), &st) != 0) return usage(argv[0], backing + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return usage(argv[0], backing + ": not a regular file");
  if (::stat(mountpoint.c_str(), &st) != 0) return usage(argv[0], mountpoint + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return usage(argv[0], mountpoint + ": not a directory");

  g_state.fd = ::open(backing.c_str(), O_RDWR | O_CLOEXEC);
  if (g_state.fd < 0) return usage(argv[0], "cannot open " + backing + " read/write: " + std::strerror(errno));
  if (::fstat(g_state.fd, &st) != 0) return usage(argv[0], backing + ": " + std::strerror(errno));
  g_state.size = static_cast<std::uint64_t>(st.st_size);

  fuse_lowlevel_ops ops{};
  ops.lookup = op_lookup;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readdir = op_readdir;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;

  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  const char* fuse_argv[] = {argv[0], "-o", "fsname=dualpath,subtype=dualpath", "-d"};
  for (int i = 0; i < (debug ? 4 : 3); ++i) fuse_opt_add_arg(&args, fuse_argv[i]);

  int rc = 1;
  fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), nullptr);
  if (se == nullptr) {
    std::fprintf(stderr, "dualpath-fuse: fuse_session_new failed\n");
  } else if (fuse_set_signal_handlers(se) != 0) {
    std::fprintf(stderr, "dualpath-fuse: cannot set signal handlers\n");
    fuse_session_destroy(se);
  } else if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "dualpath-fuse: cannot mount on %s (see above)\n", mountpoint.c_str());
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
  } else {
    std::fprintf(stderr, "dualpath-fuse: serving %s (%llu bytes) on %s/{a,b,ctl}\n", backing.c_str(),
                 static_cast<unsigned long long>(g_state.size), mountpoint.c_str());
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 64);
    fuse_loop_cfg_set_idle_threads(cfg, 8);
    const int loop_rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    fuse_session_unmount(se);
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    // 0: unmounted; a positive value: the signal that ended the loop. Both are a clean stop.
    rc = loop_rc < 0 ? 1 : 0;
    if (loop_rc < 0) std::fprintf(stderr, "dualpath-fuse: loop failed: %s\n", std::strerror(-loop_rc));
  }
  fuse_opt_free_args(&args);
  ::close(g_state.fd);
  return rc;
}
