// nvme-mpathd's configuration beyond the TOML text (tools/nvme-mpathd/config.h): nvme-cli's
// discovery.conf lines, load_config reading a file and the discovery.conf it names, and
// same_endpoint comparing addresses.
#include "config.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace nvmemp::mpathd {
namespace {

// A temporary directory removed at the end of the test.
struct DiscoveryConfDir {
  std::filesystem::path path;
  DiscoveryConfDir() {
    char tmpl[] = "/tmp/nvmemp-config-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~DiscoveryConfDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

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

}  // namespace
}  // namespace nvmemp::mpathd
