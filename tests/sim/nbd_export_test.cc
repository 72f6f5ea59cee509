// nvme-mpathd's NBD export against the simulated target, with real NBD clients (Debian's
// libnbd-bin and qemu-utils: nbdinfo, nbdcopy, qemu-img, qemu-io) and with a hand-made client
// that does not negotiate block sizes (unaligned requests: read-modify-write).
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "daemon_support.h"
#include "nbd_proto.h"
#include "sim_support.h"
#include "support/shell.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

void require_tools() {
  for (const char* t : {"nbdinfo", "nbdcopy", "qemu-img", "qemu-io"}) {
    INFO(t << " is missing: install Debian's libnbd-bin and qemu-utils (./build.sh test does)");
    REQUIRE(shell(fmt::format("command -v {}", t)).status == 0);
  }
}

// A port of 127.0.0.1 free a moment ago (the kernel's pick for port 0).
std::uint16_t free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  ::close(fd);
  return ntohs(sa.sin_port);
}

// A daemon in this process in front of `sim`, exporting nsid 1 as "ns1" on `dir`/ns1.sock and
// on 127.0.0.1 (a free port).
struct NbdExportFixture {
  std::unique_ptr<sim::SimTarget> sim;
  std::string dir = test_dir("nbd-test");
  std::string sock = dir + "/ns1.sock";
  std::string uri = "nbd+unix:///ns1?socket=" + sock;
  std::uint16_t tcp_port = free_tcp_port();
  std::string tcp_uri = fmt::format("nbd://127.0.0.1:{}/ns1", tcp_port);
  std::unique_ptr<mpathd::Daemon> daemon;

  explicit NbdExportFixture(std::uint64_t ns_bytes = 64u << 20) {
    sim::SimConfig c = small_config();
    c.ns_size_bytes = ns_bytes;
    sim = start_sim(c);
    const std::string text = fmt::format(
        "[host]\nhostnqn = \"{}\"\n[defaults]\nkeep_alive_tmo = 2\nreconnect_delay = 1\nctrl_loss_tmo = -1\n"
        "io_threads = 2\n[daemon]\ncontrol_socket = \"{}/control.sock\"\n[[subsystem]]\nnqn = \"{}\"\n"
        "[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n[[subsystem.path]]\ntraddr = \"127.0.0.1\"\n"
        "trsvcid = {}\n[[export]]\nname = \"ns1\"\nnqn = \"{}\"\nnsid = 1\nunix_socket = \"{}\"\ntcp_port = {}\n",
        kTestHostNqn, dir, sim->nqn(), sim->ports()[0], sim->ports()[1], sim->nqn(), sock, tcp_port);
    daemon = start_daemon_with(dir, text);
  }
  ~NbdExportFixture() {
    daemon.reset();
    sim->stop();
  }
};

// ---- a minimal NBD client that does not negotiate block sizes (NBD_OPT_EXPORT_NAME) ----

struct RawClient {
  int fd = -1;
  std::uint64_t size = 0;
  ~RawClient() {
    if (fd >= 0) ::close(fd);
  }
  void send_all(const std::vector<std::uint8_t>& b) const {
    std::size_t off = 0;
    while (off < b.size()) {
      const ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      off += static_cast<std::size_t>(n);
    }
  }
  std::vector<std::uint8_t> recv_n(std::size_t len) const {
    std::vector<std::uint8_t> b(len);
    std::size_t off = 0;
    while (off < len) {
      const ssize_t n = ::recv(fd, b.data() + off, len - off, 0);
      REQUIRE(n > 0);
      off += static_cast<std::size_t>(n);
    }
    return b;
  }
};

void put_be(std::vector<std::uint8_t>& b, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get_be(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

std::unique_ptr<RawClient> raw_connect(const std::string& sock, const std::string& name) {
  auto c = std::make_unique<RawClient>();
  c->fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  ::setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, sock.c_str(), sizeof sa.sun_path - 1);
  REQUIRE(::connect(c->fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  const auto greet = c->recv_n(nbd::kGreetingLen);
  REQUIRE(get_be(greet.data(), 8) == nbd::kNbdMagic);
  std::vector<std::uint8_t> m;
  put_be(m, nbd::kClientFlagFixedNewstyle | nbd::kClientFlagNoZeroes, 4);
  put_be(m, nbd::kIHaveOpt, 8);
  put_be(m, nbd::kOptExportName, 4);
  put_be(m, name.size(), 4);
  m.insert(m.end(), name.begin(), name.end());
  c->send_all(m);
  const auto info = c->recv_n(10);  // size, transmission flags (NO_ZEROES: no padding)
  c->size = get_be(info.data(), 8);
  return c;
}

// One request, one simple reply; returns the NBD error and a READ's data.
std::pair<std::uint32_t, std::vector<std::uint8_t>> raw_request(const RawClient& c, std::uint16_t type,
                                                                std::uint64_t offset, std::uint32_t length,
                                                                const std::vector<std::uint8_t>& data = {}) {
  static std::uint64_t cookie = 1;
  std::vector<std::uint8_t> m;
  put_be(m, nbd::kRequestMagic, 4);
  put_be(m, 0, 2);
  put_be(m, type, 2);
  put_be(m, ++cookie, 8);
  put_be(m, offset, 8);
  put_be(m, length, 4);
  m.insert(m.end(), data.begin(), data.end());
  c.send_all(m);
  const auto hdr = c.recv_n(nbd::kSimpleReplyHeaderLen);
  REQUIRE(get_be(hdr.data(), 4) == nbd::kSimpleReplyMagic);
  REQUIRE(get_be(hdr.data() + 8, 8) == cookie);
  const auto err = static_cast<std::uint32_t>(get_be(hdr.data() + 4, 4));
  std::vector<std::uint8_t> back;
  if (err == 0 && type == nbd::kCmdRead) back = c.recv_n(length);
  return {err, back};
}

}  // namespace

TEST_CASE("NBD export: nbdinfo, nbdcopy 32 MiB round trip, qemu-img and qemu-io", "[nbd][daemon]") {
  require_tools();
  NbdExportFixture f;
  const auto info = shell(fmt::format("nbdinfo --json \"{}\"", f.uri));
  INFO(info.out);
  REQUIRE(info.status == 0);
  CHECK(info.out.find("\"export-size\": 67108864") != std::string::npos);
  CHECK(info.out.find("\"block_size_minimum\": 512") != std::string::npos);
  // The same export on 127.0.0.1:PORT.
  const auto tcp = shell(fmt::format("nbdinfo --size \"{}\"", f.tcp_uri));
  INFO(tcp.out);
  CHECK(tcp.status == 0);
  CHECK(tcp.out == "67108864\n");

  const std::string in = f.dir + "/in.bin", out = f.dir + "/out.bin";
  REQUIRE(shell(fmt::format("head -c 33554432 /dev/urandom > {}", in)).status == 0);
  auto put = shell(fmt::format("nbdcopy {} \"{}\"", in, f.uri));
  INFO(put.out);
  REQUIRE(put.status == 0);
  auto get = shell(fmt::format("nbdcopy \"{}\" - | head -c 33554432 > {} && cmp {} {}", f.uri, out, in, out));
  INFO(get.out);
  CHECK(get.status == 0);

  // qemu-img convert out of the export (raw) and compare; qemu-io: unaligned write, FUA,
  // flush, discard, write zeroes, each read back.
  auto conv = shell(fmt::format("qemu-img convert -f raw -O raw \"{}\" {}/img.raw && head -c 33554432 {}/img.raw | "
                             "cmp - {}",
                             f.uri, f.dir, f.dir, in));
  INFO(conv.out);
  CHECK(conv.status == 0);
  auto io = shell(fmt::format("qemu-io -f raw -c \"write -P 0xab 1000 3000\" -c \"read -P 0xab 1000 3000\" "
                           "-c \"write -f -P 0x5a 40960 8192\" -c \"read -P 0x5a 40960 8192\" -c flush "
                           "-c \"discard 1048576 65536\" -c \"write -z 2097152 65536\" -c \"read -P 0 2097152 65536\" "
                           "\"{}\"",
                           f.uri));
  INFO(io.out);
  CHECK(io.status == 0);
  CHECK(io.out.find("Pattern verification failed") == std::string::npos);
  CHECK(io.out.find("read 65536/65536 bytes at offset 2097152") != std::string::npos);
  ::unlink(in.c_str());
  ::unlink(out.c_str());
  shell(fmt::format("rm -f {}/img.raw", f.dir));
}

TEST_CASE("NBD export: nbdcopy in and out while a path fails under the copy", "[nbd][daemon][multipath]") {
  require_tools();
  NbdExportFixture f;
  // 2 ms per command and one request at a time: the copies take about a second each, so the
  // port goes down in the middle of them.
  REQUIRE(f.sim->set_latency(1, 2).has_value());
  REQUIRE(f.sim->set_latency(2, 2).has_value());
  const std::string in = f.dir + "/in.bin", out = f.dir + "/out.bin";
  REQUIRE(shell(fmt::format("head -c 33554432 /dev/urandom > {}", in)).status == 0);
  for (const bool write : {true, false}) {
    ShellResult copy;
    std::thread t([&] {
      copy = write ? shell(fmt::format("nbdcopy --requests=1 --request-size=65536 {} \"{}\"", in, f.uri))
                   : shell(fmt::format("nbdcopy --requests=1 --request-size=65536 \"{}\" - | head -c 33554432 > {}",
                                    f.uri, out));
    });
    std::this_thread::sleep_for(300ms);
    REQUIRE(f.sim->control("port-down 1").has_value());
    std::this_thread::sleep_for(300ms);
    REQUIRE(f.sim->control("port-up 1").has_value());
    t.join();
    INFO((write ? "nbdcopy in: " : "nbdcopy out: ") << copy.out);
    CHECK(copy.status == 0);
  }
  CHECK(shell(fmt::format("cmp {} {}", in, out)).status == 0);
  const auto topo = f.daemon->fabric().topology();
  std::uint64_t failovers = 0, errors = 0;
  for (const auto& h : topo.heads) {
    failovers += h.counters.failovers + h.counters.retries;
    errors += h.counters.errors;
  }
  CHECK(errors == 0);
  CHECK(failovers > 0);
  ::unlink(in.c_str());
  ::unlink(out.c_str());
}

TEST_CASE("NBD export: a client without block sizes gets unaligned requests done by read-modify-write",
          "[nbd][daemon]") {
  NbdExportFixture f(8u << 20);
  auto a = raw_connect(f.sock, "ns1");
  auto b = raw_connect(f.sock, "ns1");  // several clients at once
  CHECK(a->size == 8u << 20);
  auto [e0, before] = raw_request(*a, nbd::kCmdRead, 0, 1024);
  REQUIRE(e0 == 0);
  const std::vector<std::uint8_t> hello{'H', 'E', 'L', 'L', 'O'};
  CHECK(raw_request(*a, nbd::kCmdWrite, 510, 5, hello).first == 0);  // straddles blocks 0 and 1
  auto [e1, after] = raw_request(*b, nbd::kCmdRead, 0, 1024);
  REQUIRE(e1 == 0);
  auto expect = before;
  std::copy(hello.begin(), hello.end(), expect.begin() + 510);
  CHECK(after == expect);
  auto [e2, part] = raw_request(*b, nbd::kCmdRead, 509, 7);  // unaligned read
  REQUIRE(e2 == 0);
  CHECK(part == std::vector<std::uint8_t>(expect.begin() + 509, expect.begin() + 516));
  // Unaligned WRITE_ZEROES zeroes exactly the bytes asked for.
  CHECK(raw_request(*a, nbd::kCmdWriteZeroes, 511, 2).first == 0);
  expect[511] = expect[512] = 0;
  CHECK(raw_request(*a, nbd::kCmdRead, 0, 1024).second == expect);
  // Past the end: refused with an error, the connection stays.
  CHECK(raw_request(*a, nbd::kCmdRead, (8u << 20) - 10, 20).first == nbd::kEInval);
  CHECK(raw_request(*a, nbd::kCmdFlush, 0, 0).first == 0);
  // The list shows the export under its head.
  const auto exports = f.daemon->control().exports;
  REQUIRE(exports.size() == 1);
  CHECK(exports.begin()->second.at(0) == f.uri);
}

TEST_CASE("NBD export: a client pipelining more requests than the connection queues is paused, not dropped",
          "[nbd][daemon]") {
  NbdExportFixture f(8u << 20);
  auto c = raw_connect(f.sock, "ns1");
  // 3000 WRITEs of 4 KiB sent at once (more than kMaxQueuedRequests): the connection stops
  // reading while its queue is full and goes on as requests finish; every one is answered.
  constexpr std::size_t kN = 3000;
  std::thread sender([&] {
    std::vector<std::uint8_t> m;
    for (std::size_t i = 0; i < kN; ++i) {
      put_be(m, nbd::kRequestMagic, 4);
      put_be(m, 0, 2);
      put_be(m, nbd::kCmdWrite, 2);
      put_be(m, 100000 + i, 8);
      put_be(m, (i % 2048) * 4096, 8);
      put_be(m, 4096, 4);
      m.insert(m.end(), 4096, static_cast<std::uint8_t>(i));
    }
    // No Catch assertion off the test's thread: a plain loop, checked by the replies.
    for (std::size_t off = 0; off < m.size();) {
      const ssize_t n = ::send(c->fd, m.data() + off, m.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  });
  std::size_t ok = 0;
  for (std::size_t i = 0; i < kN; ++i) {
    const auto hdr = c->recv_n(nbd::kSimpleReplyHeaderLen);
    ok += (get_be(hdr.data(), 4) == nbd::kSimpleReplyMagic && get_be(hdr.data() + 4, 4) == 0) ? 1 : 0;
  }
  sender.join();
  CHECK(ok == kN);
}

}  // namespace nvmemp::test
