// nvme-mpathd with in-band authentication, as an administrator runs it: keys in files named by
// the configuration, the binary started against the simulated target's controller side. Its
// `list -o json` shows what each path negotiated, `mpath-connect reauth` renews it (and reports a
// refusal); its log, `list`, `stats`, reauth's output and a core dump of the running daemon
// (gcore) must hold no form of the keys.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/dhchap_secret.h"
#include "sim_support.h"
#include "support/dhchap_keygen.h"
#include "support/shell.h"

namespace nvmemp::test {
namespace {

using namespace std::chrono_literals;

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<unsigned char> transformed(const TestDhchapKey& k, const std::string& nqn) {
  auto s = auth::parse_dhchap_secret(k.text, "k");
  REQUIRE(s.has_value());
  auto t = auth::transform_key(*s, nqn);
  REQUIRE(t.has_value());
  return {t->bytes().begin(), t->bytes().end()};
}

[[maybe_unused]] bool holds(const std::string& hay, const std::vector<unsigned char>& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                     [](char a, unsigned char b) { return static_cast<unsigned char>(a) == b; }) != hay.end();
}

// What of `k` the binary image `core` holds: the raw key, the transformed key, the text.
[[maybe_unused]] std::string leak_in_core(const std::string& core, const TestDhchapKey& k, const std::string& nqn) {
  if (holds(core, k.key)) return "the raw key bytes";
  if (holds(core, transformed(k, nqn))) return "the transformed key bytes";
  if (core.find(k.base64.substr(0, 24)) != std::string::npos) return "the key's base64 text";
  return {};
}

// The target asks this host for DH-HMAC-CHAP both ways with `host` and `ctrl`, hash and group
// as nvmet's configfs spells them ("sha384", "ffdhe3072").
void target_asks(sim::SimTarget& sim, const TestDhchapKey& host, const TestDhchapKey& ctrl, const char* hash,
                 const char* group) {
  REQUIRE(sim.control(fmt::format("auth-host {} {} {} hmac({}) {}", kTestHostNqn, host.text, ctrl.text, hash, group))
              .has_value());
}

// An empty directory for one test's files: /tmp/nvme-mpath-NAME-PID.
std::string fresh_dir(const char* name) {
  const std::string dir = fmt::format("/tmp/nvme-mpath-{}-{}", name, ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// nvme-mpathd (the binary) with `cfg`, its stdout and stderr in `log`.
pid_t start_daemon_binary(const std::string& cfg, const std::string& log) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execl(NVME_MPATHD_BIN, NVME_MPATHD_BIN, "--config", cfg.c_str(), "--foreground", "-v", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// SIGTERM, then SIGKILL after 20 s; true when it exited by itself.
bool stop_daemon_binary(pid_t pid) {
  ::kill(pid, SIGTERM);
  int st = 0;
  pid_t w = 0;
  for (const auto until = std::chrono::steady_clock::now() + 20s;
       (w = ::waitpid(pid, &st, WNOHANG)) == 0 && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(20ms);
  }
  if (w == 0) ::kill(pid, SIGKILL), ::waitpid(pid, &st, 0);
  return w == pid;
}

// The daemon binary of one test, stopped when the test ends however it ends: a failed REQUIRE
// must not leave an orphan daemon running with no bound.
class DaemonBinary {
 public:
  DaemonBinary(const std::string& cfg, const std::string& log) : pid_(start_daemon_binary(cfg, log)) {}
  ~DaemonBinary() {
    if (pid_ > 0) (void)stop_daemon_binary(pid_);
  }
  DaemonBinary(const DaemonBinary&) = delete;
  DaemonBinary& operator=(const DaemonBinary&) = delete;
  pid_t pid() const { return pid_; }
  // SIGTERM now; true when it exited by itself.
  bool stop() {
    const bool ok = stop_daemon_binary(pid_);
    pid_ = -1;
    return ok;
  }

 private:
  pid_t pid_;
};

// `mpath-connect ARGS --socket SOCK`: its stdout (and stderr with `with_stderr`).
ShellResult cli_of(const std::string& sock, const std::string& args, bool with_stderr = false) {
  return shell(fmt::format("{} {} --socket {}", MPATH_CONNECT_BIN, args, sock), 60, with_stderr);
}

// `list -o json` once `pred` holds for each of the first head's `n` paths (waiting up to 20 s);
// the last list either way.
template <class Pred>
nlohmann::json wait_paths(const std::string& sock, std::size_t n, Pred pred) {
  nlohmann::json list;
  for (const auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(100ms)) {
    list = nlohmann::json::parse(cli_of(sock, "list -o json").out, nullptr, false);
    if (list.is_discarded() || !list.contains("heads") || list["heads"].empty()) continue;
    const auto& paths = list["heads"][0]["paths"];
    std::size_t ok = 0;
    for (const auto& p : paths) ok += pred(p) ? 1 : 0;
    if (ok == n && paths.size() == n) break;
  }
  return list;
}

}  // namespace

TEST_CASE("nvme-mpathd with DH-HMAC-CHAP keys in files: list shows the negotiated auth, reauth renews it, no key in "
          "its log, list, stats or a core dump",
          "[daemon][auth]") {
  auto sim = start_sim();
  const TestDhchapKey host = make_test_dhchap_key(2);
  const TestDhchapKey ctrl = make_test_dhchap_key(3);
  target_asks(*sim, host, ctrl, "sha384", "ffdhe3072");
  const std::string dir = fresh_dir("daemon-auth");
  write_file(dir + "/host.key", host.text + "\n", 0600);
  write_file(dir + "/ctrl.key", ctrl.text + "\n", 0644);  // readable by all: warned about
  const std::string sock = dir + "/control.sock";
  const std::string cfg = dir + "/mpath.toml";
  write_file(cfg,
             fmt::format("[host]\nhostnqn = \"{}\"\ndhchap_secret_file = \"{}/host.key\"\n[defaults]\nreconnect_delay = "
                         "1\n[daemon]\ncontrol_socket = \"{}\"\n[[subsystem]]\nnqn = \"{}\"\n"
                         "dhchap_ctrl_secret_file = \"{}/ctrl.key\"\n[[subsystem.path]]\ntraddr = \"127.0.0.1\"\n"
                         "trsvcid = {}\n[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntrsvcid = {}\n",
                         kTestHostNqn, dir, sock, sim->nqn(), dir, sim->ports()[0], sim->ports()[1]),
             0600);
  const std::string log = dir + "/daemon.log";
  DaemonBinary daemon(cfg, log);
  auto cli = [&](const std::string& args) { return cli_of(sock, args).out; };
  // Both paths live and authenticated (bounded wait).
  const nlohmann::json list = wait_paths(sock, 2, [](const nlohmann::json& p) {
    return p.value("auth", "") == "dhchap sha384 ffdhe3072" && p.value("state", "") == "live";
  });
  INFO(list.dump(2) << "\n" << read_all(log));
  REQUIRE(list.contains("heads"));
  for (const auto& p : list["heads"][0]["paths"]) CHECK(p.value("auth", "") == "dhchap sha384 ffdhe3072");

  std::string outputs = list.dump() + cli("list") + cli("stats") + cli("stats -o json") + cli("stats --prometheus");

  // mpath-connect reauth: both paths renew, with what the target now asks for.
  target_asks(*sim, host, ctrl, "sha512", "ffdhe2048");
  auto with_err = [&](const std::string& args) { return cli_of(sock, args, true); };
  const ShellResult renewed = with_err("reauth -n " + sim->nqn());
  outputs += renewed.out;
  INFO(renewed.out);
  CHECK(renewed.status == 0);
  CHECK(std::count(renewed.out.begin(), renewed.out.end(), '\n') == 2);
  CHECK(renewed.out.find("dhchap sha512 ffdhe2048") != std::string::npos);
  const auto after = nlohmann::json::parse(cli("list -o json"), nullptr, false);
  REQUIRE_FALSE(after.is_discarded());
  for (const auto& p : after["heads"][0]["paths"]) {
    CHECK(p.value("auth", "") == "dhchap sha512 ffdhe2048");
    CHECK(p.value("state", "") == "live");
  }
  // Refused (as SPDK's target does): exit 1, the reason, the paths stay live and authenticated.
  REQUIRE(sim->control("auth-fault refuse-reauth-cse").has_value());
  const ShellResult refused = with_err("reauth -d 1");
  outputs += refused.out;
  INFO(refused.out);
  CHECK(refused.status == 1);
  CHECK(refused.out.find("Command Sequence Error") != std::string::npos);
  CHECK(refused.out.find("keeps its earlier authentication (dhchap sha512 ffdhe2048)") != std::string::npos);
  const auto kept = nlohmann::json::parse(cli("list -o json"), nullptr, false);
  REQUIRE_FALSE(kept.is_discarded());
  for (const auto& p : kept["heads"][0]["paths"]) CHECK(p.value("state", "") == "live");
  REQUIRE(sim->control("auth-fault off").has_value());
  const ShellResult usage = with_err("reauth");
  CHECK(usage.status == 2);
  CHECK(usage.out.find("give -n NQN or -d PATH") != std::string::npos);
  // mpath-connect reset: the controller reconnects at once and authenticates anew.
  target_asks(*sim, host, ctrl, "sha256", "ffdhe4096");
  const ShellResult reset = with_err("reset -d 1");
  outputs += reset.out;
  INFO(reset.out);
  CHECK(reset.status == 0);
  CHECK(reset.out.find("live again (authentication: dhchap sha256 ffdhe4096)") != std::string::npos);
  CHECK(with_err("reset -d 77").out.find("path 77 does not exist") != std::string::npos);
#if defined(__SANITIZE_ADDRESS__)
  std::printf("gcore part skipped: under ASan the daemon's shadow memory would make the core terabytes\n");
#else
  // A core dump of the running daemon: the keys live in OpenSSL's secure heap (MADV_DONTDUMP).
  const pid_t pid = daemon.pid();
  const auto g = shell(fmt::format("gcore -o {}/core {} >/dev/null 2>&1; ls {}/core.{}", dir, pid, dir, pid), 120);
  const std::string core_path = fmt::format("{}/core.{}", dir, pid);
  INFO(g.out);
  REQUIRE(std::filesystem::exists(core_path));
  const std::string core = read_all(core_path);
  std::printf("core dump of nvme-mpathd: %zu bytes searched for the keys\n", core.size());
  CHECK(core.size() > 1'000'000);
  // The search works: what the daemon holds in ordinary memory is found (the NQNs).
  CHECK(core.find(sim->nqn()) != std::string::npos);
  CHECK(core.find(kTestHostNqn) != std::string::npos);
  INFO("host key in the core: " << leak_in_core(core, host, kTestHostNqn));
  CHECK(leak_in_core(core, host, kTestHostNqn).empty());
  INFO("controller key in the core: " << leak_in_core(core, ctrl, sim->nqn()));
  CHECK(leak_in_core(core, ctrl, sim->nqn()).empty());
  std::filesystem::remove(core_path);
#endif
  CHECK(daemon.stop());
  outputs += read_all(log);
  INFO(outputs);
  CHECK(outputs.find("ctrl.key is readable by every user") != std::string::npos);
  CHECK(find_key_leak(outputs, host, transformed(host, kTestHostNqn)).empty());
  CHECK(find_key_leak(outputs, ctrl, transformed(ctrl, sim->nqn())).empty());
  std::filesystem::remove_all(dir);
}


TEST_CASE("nvme-mpathd: a path whose key is refused at a reconnect gives up, a reload with the new key connects it "
          "again",
          "[daemon][auth]") {
  auto sim = start_sim();
  const TestDhchapKey old_key = make_test_dhchap_key(1);
  const TestDhchapKey new_key = make_test_dhchap_key(1);
  auto allow = [&](const TestDhchapKey& k) {
    REQUIRE(sim->control(fmt::format("auth-host {} {} - hmac(sha256) ffdhe2048", kTestHostNqn, k.text)).has_value());
  };
  allow(old_key);
  const std::string dir = fresh_dir("daemon-rekey");
  write_file(dir + "/host.key", old_key.text + "\n", 0600);
  const std::string sock = dir + "/control.sock";
  const std::string cfg = dir + "/mpath.toml";
  write_file(cfg,
             fmt::format("[host]\nhostnqn = \"{}\"\ndhchap_secret_file = \"{}/host.key\"\n[defaults]\nreconnect_delay = "
                         "1\n[daemon]\ncontrol_socket = \"{}\"\n[[subsystem]]\nnqn = \"{}\"\n[[subsystem.path]]\n"
                         "traddr = \"127.0.0.1\"\ntrsvcid = {}\n",
                         kTestHostNqn, dir, sock, sim->nqn(), sim->ports()[0]),
             0600);
  const std::string log = dir + "/daemon.log";
  DaemonBinary daemon(cfg, log);
  auto state_is = [](const char* st) {
    return [st](const nlohmann::json& p) { return p.value("state", "") == st; };
  };
  nlohmann::json list = wait_paths(sock, 1, state_is("live"));
  INFO(list.dump(2) << "\n" << read_all(log));
  REQUIRE(list["heads"][0]["paths"][0].value("state", "") == "live");

  // The target now holds another key for this host; the connection drops and the reconnect is
  // refused: the controller gives up instead of retrying with a key that cannot work.
  allow(new_key);
  REQUIRE(sim->control(fmt::format("port-down {}", sim->ports()[0])).has_value());
  std::this_thread::sleep_for(300ms);
  REQUIRE(sim->control(fmt::format("port-up {}", sim->ports()[0])).has_value());
  // A dead path serves no namespace: `list` shows it apart from the heads, `stats` with the others.
  nlohmann::json stats;
  for (const auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;
       std::this_thread::sleep_for(100ms)) {
    stats = nlohmann::json::parse(cli_of(sock, "stats -o json").out, nullptr, false);
    if (!stats.is_discarded() && stats.contains("paths") && stats["paths"].size() == 1 &&
        stats["paths"][0].value("state", "") == "dead") {
      break;
    }
  }
  INFO(stats.dump(2) << "\n" << read_all(log));
  REQUIRE(stats["paths"].size() == 1);
  REQUIRE(stats["paths"][0].value("state", "") == "dead");
  // `list` shows it apart: it serves no namespace, and says why.
  const auto dead_list = nlohmann::json::parse(cli_of(sock, "list -o json").out, nullptr, false);
  REQUIRE_FALSE(dead_list.is_discarded());
  INFO(dead_list.dump(2));
  REQUIRE(dead_list.value("paths_without_namespaces", nlohmann::json::array()).size() == 1);
  CHECK(dead_list["paths_without_namespaces"][0].value("state", "") == "dead");
  CHECK_FALSE(dead_list["paths_without_namespaces"][0].value("last_error", "").empty());
  const std::string dead_text = cli_of(sock, "list").out;
  INFO(dead_text);
  CHECK(dead_text.find("paths serving no namespace:") != std::string::npos);
  CHECK(dead_text.find(" dead: ") != std::string::npos);

  // The administrator puts the new key in the file and reloads: the path is connected again.
  write_file(dir + "/host.key", new_key.text + "\n", 0600);
  const ShellResult reload = cli_of(sock, "reload", true);
  INFO(reload.out);
  CHECK(reload.status == 0);
  list = wait_paths(sock, 1, [](const nlohmann::json& p) {
    return p.value("state", "") == "live" && p.value("auth", "") == "dhchap sha256 ffdhe2048";
  });
  INFO(list.dump(2) << "\n" << read_all(log));
  CHECK(list["heads"][0]["paths"][0].value("state", "") == "live");
  CHECK(daemon.stop());
  const std::string text = read_all(log) + list.dump();
  INFO(text);
  CHECK(text.find("had given up") != std::string::npos);
  CHECK(find_key_leak(text, old_key, transformed(old_key, kTestHostNqn)).empty());
  CHECK(find_key_leak(text, new_key, transformed(new_key, kTestHostNqn)).empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("nvme-mpathd: keys from libnvme's config.json (libnvme_config) authenticate both ways", "[daemon][auth]") {
  auto sim = start_sim();
  const TestDhchapKey host = make_test_dhchap_key(1);
  const TestDhchapKey ctrl = make_test_dhchap_key(2);
  target_asks(*sim, host, ctrl, "sha384", "ffdhe3072");
  const std::string dir = fresh_dir("daemon-libnvme-json");
  // As `nvme connect-all --dump-config` writes it: the host key on the host, the controller key
  // on the port; libnvme reads it.
  write_file(dir + "/config.json",
             fmt::format(R"([{{"hostnqn": "{}", "dhchap_key": "{}", "subsystems": [{{"nqn": "{}", "ports": [
  {{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "{}", "dhchap_ctrl_key": "{}"}}]}}]}}])",
                         kTestHostNqn, host.text, sim->nqn(), sim->ports()[0], ctrl.text),
             0644);
  const std::string sock = dir + "/control.sock";
  const std::string cfg = dir + "/mpath.toml";
  write_file(cfg, fmt::format("[host]\nhostnqn = \"{}\"\n[daemon]\ncontrol_socket = \"{}\"\nlibnvme_config = \"{}/config.json\"\n",
                              kTestHostNqn, sock, dir),
             0600);
  const std::string log = dir + "/daemon.log";
  DaemonBinary daemon(cfg, log);
  const nlohmann::json list = wait_paths(sock, 1, [](const nlohmann::json& p) {
    return p.value("auth", "") == "dhchap sha384 ffdhe3072" && p.value("state", "") == "live";
  });
  INFO(list.dump(2) << "\n" << read_all(log));
  REQUIRE(list.contains("heads"));
  REQUIRE_FALSE(list["heads"].empty());
  for (const auto& h : list["heads"]) CHECK(h["paths"][0].value("auth", "") == "dhchap sha384 ffdhe3072");
  CHECK(daemon.stop());
  const std::string text = read_all(log) + list.dump();
  INFO(text);
  CHECK(text.find("1 path(s) taken from libnvme's configuration") != std::string::npos);
  CHECK(text.find("config.json holds DH-HMAC-CHAP keys and is readable by every user") != std::string::npos);
  CHECK(find_key_leak(text, host).empty());
  CHECK(find_key_leak(text, ctrl).empty());
  std::filesystem::remove_all(dir);
}

}  // namespace nvmemp::test
