// The daemon's control socket: garbage in, a clear error out, the server keeps going; one
// request line, one answer line; the peer's uid reaches the handler.
#include <catch2/catch.hpp>

#include <atomic>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include "control_server.h"
#include "topology_json.h"

using namespace nvmemp;
using namespace nvmemp::mpathd;
using namespace std::chrono_literals;

namespace {

nlohmann::json echo_handler(const nlohmann::json& req, const Peer& peer) {
  if (req["cmd"] == "boom") {
    return nlohmann::json{{"n", req.at("n").get<int>()}};  // throws on a missing / mistyped field
  }
  return nlohmann::json{{"cmd", req["cmd"]}, {"uid", peer.uid}, {"root", peer.is_root()}};
}

nlohmann::json answer(const std::string& line) {
  return nlohmann::json::parse(ControlServer::answer_line(line, Peer{1, 1000, 1000}, echo_handler));
}

}  // namespace

TEST_CASE("control socket: malformed requests get an error naming what is wrong", "[control]") {
  CHECK_THAT(answer("{not json").at("error").get<std::string>(), Catch::Contains("not valid JSON"));
  CHECK_THAT(answer("[1,2]").at("error").get<std::string>(), Catch::Contains("JSON object"));
  CHECK_THAT(answer("{\"command\": \"list\"}").at("error").get<std::string>(), Catch::Contains("\"cmd\""));
  CHECK_THAT(answer("{\"cmd\": 7}").at("error").get<std::string>(), Catch::Contains("\"cmd\""));
  CHECK_THAT(answer("{\"cmd\": \"boom\"}").at("error").get<std::string>(), Catch::Contains("bad request for \"boom\""));
  CHECK_THAT(answer("{\"cmd\": \"boom\", \"n\": \"x\"}").at("error").get<std::string>(), Catch::Contains("boom"));
  CHECK(answer("{\"cmd\": \"list\"}").at("uid") == 1000);
  // Invalid UTF-8 in the answer is replaced, not thrown.
  const std::string bad_utf8 = "{\"cmd\": \"\xff\"}";
  CHECK_NOTHROW(ControlServer::answer_line(bad_utf8, Peer{}, echo_handler));
}

TEST_CASE("control socket: requests over a Unix socket, peer credentials, over-long line", "[control]") {
  const std::string path = "/tmp/nvme-mpath-test-" + std::to_string(::getpid()) + "/control.sock";
  auto srv = ControlServer::listen(path, echo_handler);
  REQUIRE(srv.has_value());
  std::atomic<bool> stop{false};
  std::thread t([&] {
    while (!stop) srv->poll_once(10ms);
  });
  auto r = control_request(path, nlohmann::json{{"cmd", "list"}}, 2s);
  REQUIRE(r.has_value());
  CHECK(r->at("cmd") == "list");
  CHECK(r->at("uid") == ::getuid());

  // Garbage, then an over-long line: errors, and the server still answers afterwards.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  std::string junk = "\x01\x02garbage\n" + std::string(kMaxRequest + 10, 'x');
  (void)!::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
  std::string in;
  char buf[4096];
  const auto until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < until) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0) break;  // closed by the server after the over-long line
    if (n > 0) in.append(buf, static_cast<std::size_t>(n));
    std::this_thread::sleep_for(5ms);
  }
  ::close(fd);
  CHECK_THAT(in, Catch::Contains("not valid JSON") && Catch::Contains("longer than"));
  auto again = control_request(path, nlohmann::json{{"cmd", "stats"}}, 2s);
  REQUIRE(again.has_value());
  CHECK(again->at("cmd") == "stats");
  stop = true;
  t.join();

  auto none = control_request("/tmp/nvme-mpath-no-such-dir/control.sock", nlohmann::json{{"cmd", "list"}}, 1s);
  REQUIRE_FALSE(none.has_value());
  CHECK_THAT(none.error().message, Catch::Contains("is the daemon running"));
}

namespace {

// A live NVMe/TCP path of nqn.x at 127.0.0.1:4420.
PathInfo tcp_path(std::uint16_t id, std::uint16_t cntlid) {
  PathInfo p;
  p.id = id;
  p.name = fmt::format("nqn.x @ 127.0.0.1:4420 cntlid {}", cntlid);
  p.subnqn = "nqn.x";
  p.traddr = "127.0.0.1";
  p.trsvcid = 4420;
  p.cntlid = cntlid;
  p.state = "live";
  return p;
}

}  // namespace

TEST_CASE("list and stats JSON follow the one schema for every head", "[control]") {
  TopologyInfo t;
  PathInfo p = tcp_path(1, 1);
  p.counters.ios = 5;
  t.paths.push_back(p);
  HeadInfo h;
  h.id = 3;
  h.subnqn = "nqn.x";
  h.nsid = 1;
  h.wwid = "uuid.00000000-0000-0000-0000-000000000001";
  h.blocks = 1024;
  h.block_size = 512;
  HeadPathInfo hp{1, "optimized", 1, true, true, {}};
  hp.counters.ios = 5;
  h.paths.push_back(hp);
  t.heads.push_back(h);
  const auto j = list_json(t, {{3, {"nbd+unix:///x?socket=/run/x.sock"}}});
  const auto& head = j.at("heads").at(0);
  CHECK(head.at("transport") == "nvme");
  CHECK(head.at("size_bytes") == 512 * 1024);
  CHECK(head.at("policy") == "queue-depth");
  CHECK(head.at("exports").at(0) == "nbd+unix:///x?socket=/run/x.sock");
  const auto& path = head.at("paths").at(0);
  for (const char* k : {"name", "state", "ana_state", "current", "ios", "errors", "traddr", "trsvcid", "cntlid",
                        "ana_grpid"}) {
    CHECK(path.contains(k));
  }
  CHECK(path.at("current") == true);
  CHECK(stats_json(t).at("paths").at(0).at("ios") == 5);
  CHECK_THAT(stats_prometheus(t), Catch::Contains("nvme_mpath_path_ios_total{nqn=\"nqn.x\",traddr=\"127.0.0.1\""));
}

TEST_CASE("list shows each namespace's own counts on a path, stats and Prometheus add the nsid", "[control]") {
  // One path carrying two namespaces: 3 I/Os of nsid 1, 2 (one of them failed) of nsid 2.
  TopologyInfo t;
  PathInfo p = tcp_path(7, 2);
  p.counters.ios = 4;
  p.counters.errors = 1;
  p.counters.bytes = 4 * 4096;
  p.counters.stalls = 1;
  t.paths.push_back(p);
  for (std::uint32_t nsid : {1u, 2u}) {
    HeadInfo h;
    h.id = nsid;
    h.subnqn = "nqn.x";
    h.nsid = nsid;
    h.wwid = fmt::format("uuid.{}", nsid);
    HeadPathInfo hp{7, "optimized", 1, true, true, {}};
    hp.counters.ios = nsid == 1 ? 3 : 1;
    hp.counters.bytes = hp.counters.ios * 4096;
    hp.counters.errors = nsid == 1 ? 0 : 1;
    h.paths.push_back(hp);
    t.heads.push_back(h);
  }
  const auto list = list_json(t);
  CHECK(list.at("heads").at(0).at("paths").at(0).at("ios") == 3);
  CHECK(list.at("heads").at(0).at("paths").at(0).at("errors") == 0);
  CHECK(list.at("heads").at(1).at("paths").at(0).at("ios") == 1);
  CHECK(list.at("heads").at(1).at("paths").at(0).at("errors") == 1);

  const auto stats = stats_json(t);
  CHECK(stats.at("paths").at(0).at("ios") == 4);  // the controller's totals
  CHECK(stats.at("paths").at(0).at("stalls") == 1);
  const auto& ns2 = stats.at("heads").at(1).at("paths").at(0);
  CHECK(ns2.at("name") == p.name);
  CHECK(ns2.at("ios") == 1);
  CHECK(ns2.at("bytes") == 4096);
  CHECK(ns2.at("errors") == 1);
  CHECK_FALSE(ns2.contains("stalls"));  // a path's own, not a namespace's

  const std::string prom = stats_prometheus(t);
  const std::string labels = "nqn=\"nqn.x\",traddr=\"127.0.0.1\",trsvcid=\"4420\",cntlid=\"2\"";
  CHECK_THAT(prom, Catch::Contains("# TYPE nvme_mpath_ns_path_ios_total counter\n"));
  CHECK_THAT(prom, Catch::Contains("\nnvme_mpath_path_ios_total{" + labels + "} 4\n"));
  CHECK_THAT(prom, Catch::Contains("\nnvme_mpath_ns_path_ios_total{" + labels + ",nsid=\"1\"} 3\n"));
  CHECK_THAT(prom, Catch::Contains("\nnvme_mpath_ns_path_ios_total{" + labels + ",nsid=\"2\"} 1\n"));
  CHECK_THAT(prom, Catch::Contains("\nnvme_mpath_ns_path_errors_total{" + labels + ",nsid=\"2\"} 1\n"));
  CHECK_THAT(prom, Catch::Contains("\nnvme_mpath_path_stalls_total{" + labels + "} 1\n"));
  CHECK_THAT(prom, !Catch::Contains("ns_path_stalls") && !Catch::Contains("outstanding"));
  CHECK_THAT(prom, Catch::Contains("\nnvme_mpath_head_ios_total{wwid=\"uuid.2\",nqn=\"nqn.x\",nsid=\"2\"} 0\n"));
}
