// nvme-mpathd's configuration beyond the TOML text (tools/nvme-mpathd/config.h): nvme-cli's
// discovery.conf lines, load_config reading a file and the discovery.conf and libnvme
// config.json it names, and same_endpoint comparing addresses.
#include "config.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "config_fixtures.h"
#include "support/dhchap_keygen.h"

namespace nvmemp::mpathd {
namespace {

using DiscoveryConfDir = test_config::ConfigDir;

TEST_CASE("config: discovery.conf lines", "[config]") {
  auto r = parse_discovery_conf(R"(# nvme-cli discovery.conf
-t tcp -a 192.0.2.10 -s 8009

--transport=tcp --traddr=fe80::1%lo --host-iface=lo   # a comment after options
  -t tcp -a 192.0.2.11 -w 192.0.2.1 -q nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0 -I 5a7e0000-0000-4000-8000-00000000b0b0 -p
-ttcp -a192.0.2.12 -s4430 -n nqn.2014-08.org.nvmexpress.discovery
)",
                                "/etc/nvme/discovery.conf");
  if (!r) FAIL(r.error().message);
  REQUIRE(r->size() == 4);
  CHECK((*r)[0].endpoint.traddr == "192.0.2.10");
  CHECK((*r)[0].endpoint.trsvcid == 8009);
  CHECK((*r)[0].persistent);
  CHECK((*r)[0].origin == "/etc/nvme/discovery.conf:2");
  CHECK((*r)[1].endpoint.traddr == "fe80::1%lo");
  CHECK((*r)[1].endpoint.trsvcid == 8009);
  CHECK((*r)[1].endpoint.host_iface == "lo");
  CHECK((*r)[2].endpoint.host_traddr == "192.0.2.1");
  CHECK((*r)[2].hostnqn == "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0");
  CHECK((*r)[2].hostid == "5a7e0000-0000-4000-8000-00000000b0b0");
  CHECK((*r)[3].endpoint.traddr == "192.0.2.12");
  CHECK((*r)[3].endpoint.trsvcid == 4430);

  auto err = [](std::string_view text) {
    auto e = parse_discovery_conf(text, "d.conf");
    REQUIRE_FALSE(e);
    CHECK(e.error().code == Errc::InvalidArgument);
    return e.error().message;
  };
  CHECK(err("-t rdma -a 10.0.0.1\n") == "d.conf:1:1: transport \"rdma\" is not supported: nvme-mpath speaks tcp only");
  CHECK(err("\n-t tcp -a 10.0.0.1 -s 99999\n") == "d.conf:2:20: trsvcid \"99999\" must be a port number 1..65535");
  CHECK(err("-t tcp -s 8009\n") == "d.conf:1:1: missing -a ADDR (the discovery controller's address)");
  CHECK(err("-a 10.0.0.1\n") == "d.conf:1:1: missing -t tcp (nvme-cli requires the transport)");
  CHECK(err("-t tcp -a 10.0.0.1 -k 5\n") ==
        "d.conf:1:20: option \"-k\" is not supported per discovery controller; set keep_alive_tmo in [defaults] of "
        "the TOML configuration");
  CHECK(err("-t tcp -a 10.0.0.1 --bogus\n").rfind("d.conf:1:20: unknown option \"--bogus\"; known: -t/--transport", 0) ==
        0);
  CHECK(err("-t tcp -a 10.0.0.1 extra\n") ==
        "d.conf:1:20: unexpected \"extra\": a line holds nvme-cli options such as -t tcp -a ADDR -s PORT");
  CHECK(err("-t tcp -a\n") == "d.conf:1:8: \"-a\" needs a value");
  CHECK(err("-t tcp -a 10.0.0.1 -a 10.0.0.2\n") == "d.conf:1:20: option --traddr is given twice");
  CHECK(err("-t tcp -a 10.0.0.1 --persistent=yes\n") == "d.conf:1:20: \"--persistent=yes\" takes no value");
  CHECK(err("-t tcp -a nowhere.example\n") ==
        "d.conf:1:8: traddr \"nowhere.example\" is not an IPv4 or IPv6 address (host names are not resolved)");
  CHECK(err("-t tcp -a 10.0.0.1\n-t tcp -a 10.0.0.1 -s 8009\n") ==
        "d.conf:2:1: duplicate discovery controller 10.0.0.1:8009 (first at line 1)");
  CHECK(err("-t tcp -a 10.0.0.1 -n nqn.2026-01.io.example:disc\n").rfind("d.conf:1:20: nqn \"nqn.2026-01.io.example:disc\" "
                                                                        "is not supported",
                                                                        0) == 0);
  // Both lines' problems, in order.
  CHECK(err("-t fc -a 10.0.0.1\n-t tcp\n") ==
        "d.conf:1:1: transport \"fc\" is not supported: nvme-mpath speaks tcp only\n"
        "d.conf:2:1: missing -a ADDR (the discovery controller's address)");
  auto empty = parse_discovery_conf("# nothing\n\n   \n", "d.conf");
  REQUIRE(empty);
  CHECK(empty->empty());
}

TEST_CASE("config: load_config reads the file and the discovery.conf it names", "[config]") {
  DiscoveryConfDir dir;
  const std::string conf = dir.write("discovery.conf", "-t tcp -a 10.0.0.1 -s 8009\n-t tcp -a 10.0.0.2\n");
  const std::string toml = dir.write("a.toml", "[daemon]\ndiscovery_conf = \"" + conf +
                                                   "\"\n[[discovery]]\ntraddr = \"10.0.0.1\"\npersistent = false\n");
  auto c = load_config(toml);
  if (!c) FAIL(c.error().message);
  CHECK(c->source == toml);
  REQUIRE(c->discovery.size() == 2);  // 10.0.0.1:8009 is in both: the TOML entry wins
  CHECK(c->discovery[0].endpoint.traddr == "10.0.0.1");
  CHECK_FALSE(c->discovery[0].persistent);
  CHECK(c->discovery[1].endpoint.traddr == "10.0.0.2");
  CHECK(c->discovery[1].origin == conf + ":2");

  auto missing = load_config((dir.path / "nope.toml").string());
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::NotFound);
  CHECK(missing.error().message == (dir.path / "nope.toml").string() + ": cannot open: No such file or directory");

  auto is_dir = load_config(dir.path.string());
  REQUIRE_FALSE(is_dir);
  CHECK(is_dir.error().code == Errc::Io);
  CHECK(is_dir.error().message == dir.path.string() + ": cannot read: Is a directory");

  const std::string bad_ref = dir.write("b.toml", "[daemon]\ndiscovery_conf = \"" + dir.path.string() + "/none.conf\"\n");
  auto r = load_config(bad_ref);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == dir.path.string() + "/none.conf: cannot open: No such file or directory, named by "
                                                 "discovery_conf in " + bad_ref);

  const std::string bad_conf = dir.write("bad.conf", "-t tcp\n");
  const std::string c_toml = dir.write("c.toml", "[daemon]\ndiscovery_conf = \"" + bad_conf + "\"\n");
  auto rc = load_config(c_toml);
  REQUIRE_FALSE(rc);
  CHECK(rc.error().message == bad_conf + ":1:1: missing -a ADDR (the discovery controller's address)");

  const std::string broken = dir.write("broken.toml", "\n\n[defaults]\nqueue_size = 0\n");
  auto rb = load_config(broken);
  REQUIRE_FALSE(rb);
  CHECK(rb.error().message == broken + ":4:14: queue_size = 0 is out of range: use 2..1024");
}

TEST_CASE("config: same_endpoint compares addresses, not spellings", "[config]") {
  CHECK(same_endpoint({"::1", 4420, "", ""}, {"0::1", 4420, "", ""}));
  CHECK(same_endpoint({"127.0.0.1", 4420, "", "lo"}, {"127.0.0.1", 4420, "", "lo"}));
  CHECK_FALSE(same_endpoint({"127.0.0.1", 4420, "", ""}, {"127.0.0.1", 4421, "", ""}));
  CHECK_FALSE(same_endpoint({"127.0.0.1", 4420, "", ""}, {"127.0.0.1", 4420, "", "lo"}));
  CHECK_FALSE(same_endpoint({"127.0.0.1", 4420, "", ""}, {"127.0.0.1", 4420, "127.0.0.1", ""}));
  CHECK_FALSE(same_endpoint({"127.0.0.1", 4420, "", ""}, {"127.0.0.2", 4420, "", ""}));
}

// libnvme's config.json, read by libnvme itself (an implementation we did not write): which of
// its keys is the host key and which the controller key is what libnvme says, and the key
// texts' XX (00..03) tells the three keys apart in describe().
TEST_CASE("config: libnvme_config (libnvme's config.json) adds tcp ports as subsystem paths with their keys",
          "[config]") {
  DiscoveryConfDir dir;
  const auto host_key = test::make_test_dhchap_key(3);   // the host entry's dhchap_key
  const auto port_key = test::make_test_dhchap_key(1);   // a port's own dhchap_key (host key)
  const auto ctrl_key = test::make_test_dhchap_key(2);   // a port's dhchap_ctrl_key
  const std::string me = "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000c0de";
  const std::string json = fmt::format(R"([
  {{
    "hostnqn": "{me}",
    "hostid": "5a7e0000-0000-4000-8000-00000000c0de",
    "dhchap_key": "{host}",
    "subsystems": [
      {{
        "nqn": "nqn.2026-01.io.example:a",
        "ports": [
          {{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "4420", "dhchap_key": "{port}",
            "dhchap_ctrl_key": "{ctrl}"}},
          {{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "4421", "host_iface": "lo"}},
          {{"transport": "rdma", "traddr": "192.0.2.1", "trsvcid": "4420"}}
        ]
      }},
      {{
        "nqn": "nqn.2026-01.io.example:b",
        "ports": [
          {{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "4430"}},
          {{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "4431"}}
        ]
      }}
    ]
  }},
  {{
    "hostnqn": "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-0000000000ff",
    "subsystems": [{{"nqn": "nqn.2026-01.io.example:other", "ports": [{{"transport": "tcp", "traddr": "127.0.0.9"}}]}}]
  }}
])", fmt::arg("me", me), fmt::arg("host", host_key.text), fmt::arg("port", port_key.text),
                                       fmt::arg("ctrl", ctrl_key.text));
  const std::string cfg_json = dir.write("config.json", json);
  // The TOML names b's port 4430 itself (without keys): that path stays the TOML's.
  const std::string toml = dir.write(
      "a.toml", fmt::format("subsystem = [{{nqn = \"nqn.2026-01.io.example:b\", path = [{{traddr = \"127.0.0.1\", "
                            "trsvcid = 4430}}]}}]\nhost = {{hostnqn = \"{}\"}}\ndaemon = {{libnvme_config = \"{}\"}}\n",
                            me, cfg_json));
  const DaemonConfig cfg = test_config::load_ok(toml);
  const SubsystemConfig* a = &test_config::subsystem_named(cfg, "nqn.2026-01.io.example:a");
  const SubsystemConfig* b = &test_config::subsystem_named(cfg, "nqn.2026-01.io.example:b");
  CHECK(find_subsystem(cfg, "nqn.2026-01.io.example:other") == nullptr);  // another host's
  auto port = [](const SubsystemConfig& s, std::uint16_t trsvcid) -> const PathConfig& {
    for (const auto& p : s.paths) {
      if (p.endpoint.trsvcid == trsvcid) return p;
    }
    FAIL("no path on port " << trsvcid);
    return s.paths.front();
  };
  REQUIRE(a->paths.size() == 2);  // the rdma port is skipped
  CHECK(port(*a, 4420).dhchap_secret.describe() == "DHHC-1:01");       // the port's own key
  CHECK(port(*a, 4420).dhchap_ctrl_secret.describe() == "DHHC-1:02");  // its controller key
  CHECK(port(*a, 4421).endpoint.host_iface == "lo");
  CHECK(port(*a, 4421).dhchap_secret.describe() == "DHHC-1:03");  // the host entry's key
  CHECK(port(*a, 4421).dhchap_ctrl_secret.empty());
  CHECK(a->options.queue_size == cfg.fabric.queue_size);  // [defaults]' knobs
  REQUIRE(b->paths.size() == 2);
  CHECK(b->paths[0].endpoint.trsvcid == 4430);  // the TOML's path first, as the TOML wrote it
  CHECK(b->paths[0].dhchap_secret.empty());
  CHECK(port(*b, 4431).dhchap_secret.describe() == "DHHC-1:03");

  // Errors name the file that named it; a bad key names its port, never the key.
  const std::string missing = dir.write("m.toml", "[daemon]\nlibnvme_config = \"" + dir.path.string() + "/none.json\"\n");
  auto rm = load_config(missing);
  REQUIRE_FALSE(rm);
  INFO(rm.error().message);
  CHECK(rm.error().message.find("none.json (libnvme_config): cannot open: No such file or directory") != std::string::npos);
  CHECK(rm.error().message.find("named by libnvme_config in " + missing) != std::string::npos);
  std::string corrupt = host_key.base64;  // one character changed: the CRC-32 no longer holds
  corrupt[0] = corrupt[0] == 'A' ? 'B' : 'A';
  const std::string bad_key_json = dir.write("bad.json", fmt::format(R"([{{"hostnqn": "{}", "subsystems": [{{"nqn": "nqn.x",
  "ports": [{{"transport": "tcp", "traddr": "127.0.0.1", "trsvcid": "4420", "dhchap_key": "DHHC-1:03:{}:"}}]}}]}}])",
                                                                    me, corrupt));
  const std::string bad = dir.write("bad.toml", fmt::format("[host]\nhostnqn = \"{}\"\n[daemon]\nlibnvme_config = \"{}\"\n", me,
                                                            bad_key_json));
  auto rb = load_config(bad);
  REQUIRE_FALSE(rb);
  INFO(rb.error().message);
  CHECK(rb.error().message.find("the host key (dhchap_key) of " + bad_key_json + ": subsystem nqn.x port tcp 127.0.0.1:4420") !=
        std::string::npos);
  CHECK(test::find_key_leak(rb.error().message, host_key).empty());
  const std::string garbage_json = dir.write("garbage.json", "{\"not\": \"an array\"}");
  auto rg = load_config(dir.write("g.toml", "[daemon]\nlibnvme_config = \"" + garbage_json + "\"\n"));
  REQUIRE_FALSE(rg);
  INFO(rg.error().message);
  CHECK(rg.error().message.find(garbage_json + " (libnvme_config): libnvme could not read it: it must be JSON in "
                                               "libnvme's format") != std::string::npos);
  const std::string relative = dir.write("rel.toml", "[daemon]\nlibnvme_config = \"config.json\"\n");
  auto rr = load_config(relative);
  REQUIRE_FALSE(rr);
  CHECK(rr.error().message.find("libnvme_config \"config.json\" must be an absolute path") != std::string::npos);
}

}  // namespace
}  // namespace nvmemp::mpathd
