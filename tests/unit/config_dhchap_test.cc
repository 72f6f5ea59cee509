// DH-HMAC-CHAP keys in nvme-mpathd's configuration: dhchap_secret in [host], dhchap_secret and
// dhchap_ctrl_secret in a [[subsystem]] and a [[subsystem.path]], each also as ..._file. Errors
// give file:line:col and never the key.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <fmt/format.h>

#include "auth/dhchap_key_impl.h"
#include "config.h"
#include "config_fixtures.h"
#include "support/dhchap_keygen.h"

namespace nvmemp::mpathd {
namespace {

using test::find_key_leak;
using test::make_test_dhchap_key;

constexpr const char* kDhchapSubsysNqn = "nqn.2026-01.io.example:mpath-test";

DaemonConfig parse_dhchap_ok(const std::string& text) { return test_config::config_ok(text); }
std::string parse_error(const std::string& text) { return test_config::config_error(text); }

bool same_key(const DhchapKey& k, const test::TestDhchapKey& want) {
  if (k.empty()) return false;
  const auto& b = k.impl()->secret.key;
  return b.size() == want.key.size() && std::equal(want.key.begin(), want.key.end(), b.data());
}

}  // namespace

TEST_CASE("config: [host] dhchap_secret is every subsystem's host key, a subsystem and a path override it",
          "[unit][config][auth]") {
  const auto host = make_test_dhchap_key(1);
  const auto sub = make_test_dhchap_key(2);
  const auto ctrl = make_test_dhchap_key(3);
  const auto path = make_test_dhchap_key(0);
  const auto cfg = parse_dhchap_ok(fmt::format(R"(
[host]
dhchap_secret = "{}"
[[subsystem]]
nqn = "{}"
[[subsystem.path]]
traddr = "127.0.0.1"
[[subsystem]]
nqn = "{}.two"
dhchap_secret = "{}"
dhchap_ctrl_secret = "{}"
[[subsystem.path]]
traddr = "127.0.0.1"
[[subsystem.path]]
traddr = "127.0.0.2"
dhchap_secret = "{}"
)",
                                        host.text, kDhchapSubsysNqn, kDhchapSubsysNqn, sub.text, ctrl.text, path.text));
  CHECK(same_key(cfg.fabric.dhchap_secret, host));
  CHECK(cfg.inline_secrets);
  REQUIRE(cfg.subsystems.size() == 2);
  CHECK(same_key(cfg.subsystems[0].options.dhchap_secret, host));
  CHECK(cfg.subsystems[0].options.dhchap_ctrl_secret.empty());
  CHECK(same_key(cfg.subsystems[1].options.dhchap_secret, sub));
  CHECK(same_key(cfg.subsystems[1].options.dhchap_ctrl_secret, ctrl));
  REQUIRE(cfg.subsystems[1].paths.size() == 2);
  CHECK(cfg.subsystems[1].paths[0].dhchap_secret.empty() == false);  // the subsystem's, inherited
  CHECK(same_key(cfg.subsystems[1].paths[1].dhchap_secret, path));
}

TEST_CASE("config: dhchap_secret_file reads the key from a file, errors name the place, never the key",
          "[unit][config][auth]") {
  const auto key = make_test_dhchap_key(2);
  char tmpl[] = "/tmp/nvmemp-cfgkey-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  REQUIRE(fd >= 0);
  const std::string line = key.text + "\n";
  REQUIRE(::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
  ::close(fd);
  const auto cfg = parse_dhchap_ok(fmt::format("[host]\ndhchap_secret_file = \"{}\"\n", tmpl));
  CHECK(same_key(cfg.fabric.dhchap_secret, key));
  CHECK_FALSE(cfg.inline_secrets);
  ::unlink(tmpl);

  const auto bad = make_test_dhchap_key(1);
  std::string broken = bad.text;
  broken[12] = broken[12] == 'A' ? 'B' : 'A';  // the CRC no longer matches
  std::string e = parse_error(fmt::format("[[subsystem]]\nnqn = \"{}\"\ndhchap_secret = \"{}\"\n", kDhchapSubsysNqn, broken));
  CHECK(e.find("t.toml:3:") != std::string::npos);
  CHECK(e.find("dhchap_secret in [[subsystem]]") != std::string::npos);
  CHECK(find_key_leak(e, bad).empty());
  CHECK(e.find(broken.substr(10, 20)) == std::string::npos);

  e = parse_error(fmt::format("[host]\ndhchap_secret = \"{}\"\ndhchap_secret_file = \"/x\"\n", key.text));
  CHECK(e.find("give dhchap_secret or dhchap_secret_file, not both") != std::string::npos);
  CHECK(find_key_leak(e, key).empty());

  e = parse_error("[host]\ndhchap_secret_file = \"keys/host\"\n");
  CHECK(e.find("dhchap_secret_file must be an absolute path") != std::string::npos);

  e = parse_error("[host]\ndhchap_secret_file = \"/nonexistent/nvmemp-key\"\n");
  CHECK(e.find("t.toml:2:") != std::string::npos);
  CHECK(e.find("/nonexistent/nvmemp-key") != std::string::npos);

  // A controller key belongs to a subsystem or a path; it needs a host key.
  e = parse_error(fmt::format("[host]\ndhchap_ctrl_secret = \"{}\"\n", key.text));
  CHECK(e.find("dhchap_ctrl_secret") != std::string::npos);
  CHECK(find_key_leak(e, key).empty());
  e = parse_error(fmt::format("[[subsystem]]\nnqn = \"{}\"\ndhchap_ctrl_secret = \"{}\"\n", kDhchapSubsysNqn, key.text));
  CHECK(e.find("needs a host key as well") != std::string::npos);
  CHECK(find_key_leak(e, key).empty());
}

}  // namespace nvmemp::mpathd
