#include "real/real_target.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "support/tcp_client.h"

namespace nvmemp::test {

namespace {
RealTarget g_target;
}

const RealTarget& real_target() { return g_target; }
void set_real_target(const RealTarget& rt) { g_target = rt; }

Result<RealTarget> find_real_target() {
  const char* dir = std::getenv("REAL_TARGET_DIR");
  if (dir == nullptr) {
    return make_error(Errc::NotFound, "REAL_TARGET_DIR is not set (run the real tests via ctest)");
  }
  const std::string run = std::string(dir) + "/run";
  std::ifstream env(run + "/env");
  if (!env) {
    std::ifstream why(run + "/unavailable");
    std::stringstream reason;
    reason << why.rdbuf();
    return make_error(Errc::NotFound,
                      fmt::format("no real-target VM running ({}/env missing){}{}", run,
                                  reason.str().empty() ? "" : ": ", reason.str()));
  }
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(env, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) {
      kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  RealTarget rt;
  try {
    rt.port1 = static_cast<std::uint16_t>(std::stoi(kv.at("RT_PORT1")));
    rt.port2 = static_cast<std::uint16_t>(std::stoi(kv.at("RT_PORT2")));
    rt.ctl_port = static_cast<std::uint16_t>(std::stoi(kv.at("RT_CTL_PORT")));
    rt.nqn = kv.at("RT_NQN");
  } catch (const std::exception& e) {
    return make_error(Errc::Malformed, fmt::format("{}/env is incomplete: {}", run, e.what()));
  }
  auto pong = real_target_ctl(rt, "ping");
  if (!pong) {
    return make_error(pong.error().code,
                      fmt::format("real-target control channel 127.0.0.1:{} does not answer: {}",
                                  rt.ctl_port, pong.error().message));
  }
  return rt;
}

Result<std::string> real_target_ctl(const RealTarget& rt, const std::string& command) {
  using namespace std::chrono_literals;
  auto conn = TcpClient::connect("127.0.0.1", rt.ctl_port, 5s);
  if (!conn) {
    return tl::unexpected(conn.error());
  }
  std::string line = command + "\n";
  if (auto s = conn->send_all(std::vector<std::uint8_t>(line.begin(), line.end())); !s) {
    return tl::unexpected(s.error());
  }
  std::string got;
  for (int i = 0; i < 1000; ++i) {  // bounded: at most 1000 reads of up to 30 s each
    auto r = conn->recv_some(30s);
    if (!r) {
      return tl::unexpected(r.error());
    }
    if (r->empty()) {
      break;
    }
    got.append(r->begin(), r->end());
    std::istringstream lines(got);
    std::string l;
    std::string out;
    while (std::getline(lines, l)) {
      if (l == "OK") {
        return out;
      }
      if (l.rfind("ERR", 0) == 0) {
        return make_error(Errc::Protocol, fmt::format("real-target '{}': {}", command, l));
      }
      out += l + "\n";
    }
  }
  return make_error(Errc::Protocol, fmt::format("real-target '{}': no OK/ERR answer", command));
}

}  // namespace nvmemp::test
