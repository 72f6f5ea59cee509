// NVMe/TCP over TLS in nvme-mpathd's configuration: tls, tls_key / tls_key_file, tls_identity
// and tls_compat in [host], a [[subsystem]], a [[subsystem.path]] and a [[discovery]], each over
// the level above; a subsystem with tls = true never has a plain path; discovery.conf's --tls
// and libnvme config.json's per-port "tls". Errors give file:line:col and never the key.
#include <catch2/catch.hpp>

#include <string>

#include <fmt/format.h>

#include "config.h"
#include "config_fixtures.h"
#include "support/dhchap_keygen.h"
#include "tls/tls_key_impl.h"

namespace nvmemp::mpathd {
namespace {

using test::find_key_leak;
using test::make_test_tls_key;

constexpr const char* kTlsSubsysNqn = "nqn.2026-01.io.example:tls";

using test_config::config_error;
using test_config::config_ok;

bool same_tls_key(const TlsKey& k, const test::TestDhchapKey& want) {
  return !k.empty() && k.impl()->psk.key.equals(want.key);
}

using TlsScratch = test_config::ConfigDir;

}  // namespace

TEST_CASE("config: TLS settings inherit [host] -> [[subsystem]] -> [[subsystem.path]] and [host] -> [[discovery]]",
          "[unit][config][tls]") {
  const auto host = make_test_tls_key(1);
  const auto sub = make_test_tls_key(2);
  const auto path = make_test_tls_key(1);
  const auto disc = make_test_tls_key(1);
  const auto cfg = config_ok(fmt::format(R"(
[host]
tls_key = "{host}"
tls_identity = "v0"
[[discovery]]
traddr = "127.0.0.1"
tls = true
[[discovery]]
traddr = "127.0.0.2"
tls_key = "{disc}"
tls_compat = true
[[subsystem]]
nqn = "{nqn}"
[[subsystem.path]]
traddr = "127.0.0.1"
[[subsystem.path]]
traddr = "127.0.0.2"
tls = true
[[subsystem.path]]
traddr = "127.0.0.3"
tls = true
tls_key = "{path}"
tls_identity = "v1"
[[subsystem]]
nqn = "{nqn}.two"
tls = true
tls_key = "{sub}"
[[subsystem.path]]
traddr = "127.0.0.1"
)",
                                            fmt::arg("host", host.text), fmt::arg("disc", disc.text),
                                            fmt::arg("nqn", kTlsSubsysNqn), fmt::arg("path", path.text),
                                            fmt::arg("sub", sub.text)));
  CHECK(cfg.inline_secrets);
  // [host]: the key and the identity; tls itself stays off.
  CHECK_FALSE(cfg.fabric.tls);
  CHECK(same_tls_key(cfg.fabric.tls_key, host));
  CHECK(cfg.fabric.tls_identity == TlsIdentity::V0);
  REQUIRE(cfg.discovery.size() == 2);
  CHECK(cfg.discovery[0].tls.tls);
  CHECK(same_tls_key(cfg.discovery[0].tls.key, host));
  CHECK(cfg.discovery[0].tls.identity == TlsIdentity::V0);
  CHECK_FALSE(cfg.discovery[1].tls.tls);
  CHECK(same_tls_key(cfg.discovery[1].tls.key, disc));
  CHECK(cfg.discovery[1].tls.compat);
  REQUIRE(cfg.subsystems.size() == 2);
  const auto& a = cfg.subsystems[0];
  CHECK_FALSE(a.options.tls);
  CHECK(same_tls_key(a.options.tls_key, host));
  CHECK(a.overrides.empty());
  REQUIRE(a.paths.size() == 3);
  // Subsystem tls unset: its paths may differ, one plain, two with TLS.
  CHECK_FALSE(a.paths[0].tls.tls);
  CHECK(a.paths[1].tls.tls);
  CHECK(same_tls_key(a.paths[1].tls.key, host));
  CHECK(a.paths[1].tls.identity == TlsIdentity::V0);
  CHECK(a.paths[2].tls.tls);
  CHECK(same_tls_key(a.paths[2].tls.key, path));
  CHECK(a.paths[2].tls.identity == TlsIdentity::V1);
  const auto& b = cfg.subsystems[1];
  CHECK(b.options.tls);
  CHECK(same_tls_key(b.options.tls_key, sub));
  CHECK(b.overrides == std::vector<std::string>{"tls", "tls_key"});
  REQUIRE(b.paths.size() == 1);
  CHECK(b.paths[0].tls.tls);  // inherited: never plain
  CHECK(same_tls_key(b.paths[0].tls.key, sub));
}

TEST_CASE("config: tls_key_file reads the key, TLS errors name the place and never the key", "[unit][config][tls]") {
  TlsScratch dir;
  const auto key = make_test_tls_key(1);
  const std::string file = dir.write("tls.key", key.text + "\n", 0600);
  const auto cfg = config_ok(fmt::format("[host]\ntls = true\ntls_key_file = \"{}\"\n", file));
  CHECK(cfg.fabric.tls);
  CHECK(same_tls_key(cfg.fabric.tls_key, key));
  CHECK_FALSE(cfg.inline_secrets);

  std::string broken = key.text;
  broken[20] = broken[20] == 'A' ? 'B' : 'A';  // the CRC no longer matches
  std::string e = config_error(fmt::format("[[subsystem]]\nnqn = \"{}\"\ntls_key = \"{}\"\n", kTlsSubsysNqn, broken));
  CHECK(e.find("t.toml:3:") != std::string::npos);
  CHECK(e.find("tls_key in [[subsystem]]") != std::string::npos);
  CHECK(find_key_leak(e, key).empty());
  CHECK(e.find(broken.substr(16, 20)) == std::string::npos);

  e = config_error(fmt::format("[host]\ntls_key = \"{}\"\ntls_key_file = \"{}\"\n", key.text, file));
  CHECK(e.find("give tls_key or tls_key_file, not both") != std::string::npos);
  CHECK(find_key_leak(e, key).empty());
  e = config_error("[host]\ntls_key_file = \"keys/tls\"\n");
  CHECK(e.find("tls_key_file must be an absolute path") != std::string::npos);
  e = config_error("[host]\ntls_key_file = \"/nonexistent/nvmemp-tls-key\"\n");
  CHECK(e.find("t.toml:2:") != std::string::npos);
  CHECK(e.find("/nonexistent/nvmemp-tls-key") != std::string::npos);
  // A DH-HMAC-CHAP key where a TLS key belongs: refused, and not shown.
  const auto chap = test::make_test_dhchap_key(1);
  e = config_error(fmt::format("[host]\ntls_key = \"{}\"\n", chap.text));
  CHECK(e.find("tls_key in [host]") != std::string::npos);
  CHECK(find_key_leak(e, chap).empty());

  e = config_error("[host]\ntls = \"yes\"\n");
  CHECK(e.find("t.toml:2:7: tls must be true or false, got string") != std::string::npos);
  e = config_error("[[discovery]]\ntraddr = \"127.0.0.1\"\ntls_identity = \"v2\"\n");
  CHECK(e.find("t.toml:3:") != std::string::npos);
  CHECK(e.find("tls_identity in [[discovery]]: unknown TLS identity version \"v2\"") != std::string::npos);
  e = config_error("[defaults]\ntls = true\n");
  CHECK(e.find("unknown key \"tls\" in [defaults] (it belongs in [host], a [[subsystem]], a [[subsystem.path]] or a "
               "[[discovery]])") != std::string::npos);
}

TEST_CASE("config: tls = true needs a key at its level or above", "[unit][config][tls]") {
  std::string e = config_error("[host]\ntls = true\n");
  CHECK(e.find("t.toml:2:7: tls = true in [host] needs a TLS key") != std::string::npos);
  CHECK(e.find("set tls_key_file or tls_key in [host]") != std::string::npos);
  e = config_error(fmt::format("[[subsystem]]\nnqn = \"{}\"\ntls = true\n", kTlsSubsysNqn));
  CHECK(e.find("t.toml:3:7: tls = true in [[subsystem]] needs a TLS key") != std::string::npos);
  CHECK(e.find("here or in [host]") != std::string::npos);
  e = config_error(
      fmt::format("[[subsystem]]\nnqn = \"{}\"\n[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntls = true\n", kTlsSubsysNqn));
  CHECK(e.find("t.toml:5:7: tls = true in [[subsystem.path]] needs a TLS key") != std::string::npos);
  CHECK(e.find("here, in its [[subsystem]] or in [host]") != std::string::npos);
  e = config_error("[[discovery]]\ntraddr = \"127.0.0.1\"\ntls = true\n");
  CHECK(e.find("t.toml:3:7: tls = true in [[discovery]] needs a TLS key") != std::string::npos);
  // Said once, where tls is turned on: the levels that inherit it are not repeated.
  e = config_error(fmt::format("[host]\ntls = true\n[[subsystem]]\nnqn = \"{}\"\n[[subsystem.path]]\n"
                                  "traddr = \"127.0.0.1\"\n[[discovery]]\ntraddr = \"127.0.0.1\"\n",
                                  kTlsSubsysNqn));
  CHECK(e.find("needs a TLS key") != std::string::npos);
  CHECK(e.find('\n') == std::string::npos);
  // tls = false, or a key given without tls: nothing to say.
  const auto key = make_test_tls_key(1);
  const auto cfg = config_ok(fmt::format("[host]\ntls = false\n[[subsystem]]\nnqn = \"{}\"\ntls_key = \"{}\"\n",
                                            kTlsSubsysNqn, key.text));
  CHECK_FALSE(cfg.subsystems[0].options.tls);
}

TEST_CASE("config: a subsystem with tls = true refuses a plain path, naming both", "[unit][config][tls]") {
  const auto key = make_test_tls_key(1);
  std::string e = config_error(fmt::format(R"([host]
tls_key = "{}"
[[subsystem]]
nqn = "{}"
tls = true
[[subsystem.path]]
traddr = "127.0.0.1"
[[subsystem.path]]
traddr = "127.0.0.2"
trsvcid = 4421
tls = false
)",
                                              key.text, kTlsSubsysNqn));
  CHECK(e.find("t.toml:11:7: path 127.0.0.2:4421 sets tls = false, but subsystem \"nqn.2026-01.io.example:tls\" has "
               "tls = true: its paths never connect without TLS") != std::string::npos);
  CHECK(e.find('\n') == std::string::npos);  // the first path inherits tls: fine
  CHECK(find_key_leak(e, key).empty());
  // tls = true in [host] is every subsystem's unless it says otherwise.
  e = config_error(fmt::format("[host]\ntls = true\ntls_key = \"{}\"\n[[subsystem]]\nnqn = \"{}\"\n"
                                  "[[subsystem.path]]\ntraddr = \"127.0.0.1\"\ntls = false\n",
                                  key.text, kTlsSubsysNqn));
  CHECK(e.find("has tls = true (from [host])") != std::string::npos);
  // ... so a subsystem that allows plain paths says tls = false.
  const auto cfg = config_ok(fmt::format("[host]\ntls = true\ntls_key = \"{}\"\n[[subsystem]]\nnqn = \"{}\"\n"
                                            "tls = false\n[[subsystem.path]]\ntraddr = \"127.0.0.1\"\n"
                                            "[[subsystem.path]]\ntraddr = \"127.0.0.2\"\ntls = true\n",
                                            key.text, kTlsSubsysNqn));
  REQUIRE(cfg.subsystems[0].paths.size() == 2);
  CHECK_FALSE(cfg.subsystems[0].paths[0].tls.tls);
  CHECK(cfg.subsystems[0].paths[1].tls.tls);
}

TEST_CASE("config: discovery.conf --tls takes [host]'s key, a key on a line is refused unseen", "[unit][config][tls]") {
  TlsScratch dir;
  const auto key = make_test_tls_key(1);
  const std::string conf = dir.write("discovery.conf", "-t tcp -a 192.0.2.10 --tls\n-t tcp -a 192.0.2.11\n");
  const std::string keyfile = dir.write("tls.key", key.text + "\n", 0600);
  const DaemonConfig cfg = test_config::load_ok(dir.write(
      "a.toml", fmt::format("[host]\ntls_key_file = \"{}\"\n[daemon]\ndiscovery_conf = \"{}\"\n", keyfile, conf)));
  REQUIRE(cfg.discovery.size() == 2);
  CHECK(cfg.discovery[0].tls.tls);
  CHECK(same_tls_key(cfg.discovery[0].tls.key, key));
  CHECK_FALSE(cfg.discovery[1].tls.tls);
  CHECK(same_tls_key(cfg.discovery[1].tls.key, key));  // for the ports its log lists

  auto no_key = load_config(dir.write("b.toml", fmt::format("[daemon]\ndiscovery_conf = \"{}\"\n", conf)));
  REQUIRE_FALSE(no_key.has_value());
  CHECK(no_key.error().message.find(conf + ":1: --tls needs a TLS key: set tls_key_file in [host]") != std::string::npos);

  // The lines hold the key: a failure names which one by its form, never by its text.
  const std::pair<const char*, std::string> lines[] = {{"--tls_key=KEY", "-t tcp -a 192.0.2.10 --tls_key=" + key.text},
                                                       {"--tls-key KEY", "-t tcp -a 192.0.2.10 --tls-key " + key.text},
                                                       {"--keyring x KEY", "-t tcp -a 192.0.2.10 --keyring x " + key.text}};
  for (const auto& [form, line] : lines) {
    INFO(form);
    auto e = parse_discovery_conf(line + "\n", "discovery.conf");
    REQUIRE_FALSE(e.has_value());
    CHECK(find_key_leak(e.error().message, key).empty());
    CHECK(e.error().message.find("discovery.conf:1:") != std::string::npos);
  }
}

TEST_CASE("config: libnvme config.json's per-port tls uses the TOML's key, and is refused without one",
          "[unit][config][tls]") {
  TlsScratch dir;
  const auto key = make_test_tls_key(1);
  const std::string me = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000c0de";
  // libnvme 1.3 reads "tls" per port; it ignores "tls_key" (no API for it), so its text here
  // must neither be used nor shown.
  const std::string json = dir.write("config.json", fmt::format(R"([{{"hostnqn": "{me}", "subsystems": [
  {{"nqn": "nqn.2026-01.io.example:a", "ports": [
    {{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "4420", "tls": true, "tls_key": "{key}"}},
    {{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "4421"}}]}},
  {{"nqn": "nqn.2026-01.io.example:b", "ports": [
    {{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "4430"}}]}}]}}])",
                                                                fmt::arg("me", me), fmt::arg("key", key.text)));
  const std::string keyfile = dir.write("tls.key", key.text + "\n", 0600);
  const auto r = test_config::load_ok(dir.write(
      "a.toml", fmt::format("[host]\nhostnqn = \"{}\"\ntls_key_file = \"{}\"\n[[subsystem]]\nnqn = "
                            "\"nqn.2026-01.io.example:b\"\ntls = true\n[daemon]\nlibnvme_config = \"{}\"\n",
                            me, keyfile, json)));
  const SubsystemConfig* a = &test_config::subsystem_named(r, "nqn.2026-01.io.example:a");
  const SubsystemConfig* b = &test_config::subsystem_named(r, "nqn.2026-01.io.example:b");
  REQUIRE(a->paths.size() == 2);
  const auto& p4420 = a->paths[0].endpoint.trsvcid == 4420 ? a->paths[0] : a->paths[1];
  const auto& p4421 = a->paths[0].endpoint.trsvcid == 4420 ? a->paths[1] : a->paths[0];
  CHECK(p4420.tls.tls);
  CHECK(same_tls_key(p4420.tls.key, key));  // [host]'s key file
  CHECK_FALSE(p4421.tls.tls);
  REQUIRE(b->paths.size() == 1);
  CHECK(b->paths[0].tls.tls);  // the TOML's subsystem says tls = true: never plain

  auto no_key = load_config(dir.write(
      "b.toml", fmt::format("[host]\nhostnqn = \"{}\"\n[daemon]\nlibnvme_config = \"{}\"\n", me, json)));
  REQUIRE_FALSE(no_key.has_value());
  const std::string& e = no_key.error().message;
  CHECK(e.find("subsystem nqn.2026-01.io.example:a port tcp 127.0.0.1:4420: tls is set but no TLS key is configured "
               "for it (libnvme 1.3 does not read tls_key from its file)") != std::string::npos);
  CHECK(find_key_leak(e, key).empty());
}

}  // namespace nvmemp::mpathd
