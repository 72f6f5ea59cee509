#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "controller/host_identity.h"

using namespace nvmemp::controller;

namespace {
struct HostIdDir {
  std::filesystem::path path;
  HostIdDir() {
    char tmpl[] = "/tmp/nvmemp-hostid-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~HostIdDir() { std::filesystem::remove_all(path); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};
}  // namespace

TEST_CASE("Host identity: files, overrides, generation, errors", "[host_identity]") {
  HostIdDir dir;
  HostIdentityOptions o;
  o.config_dir = dir.path;

  SECTION("from the files") {
    dir.write("hostnqn", "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0\n");
    dir.write("hostid", "5a7e0000-0000-4000-8000-00000000b0b1\n");
    auto h = load_host_identity(o);
    REQUIRE(h.has_value());
    CHECK(h->hostnqn == "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0");
    CHECK(h->hostid_text == "5a7e0000-0000-4000-8000-00000000b0b1");
    CHECK(h->hostid[0] == 0x5a);
    CHECK(h->hostid[15] == 0xb1);
    CHECK_FALSE(h->generated);
    CHECK(h->hint.empty());
  }
  SECTION("host ID follows the NQN's UUID when there is no hostid file") {
    dir.write("hostnqn", "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0");
    auto h = load_host_identity(o);
    REQUIRE(h.has_value());
    CHECK(h->hostid_text == "5a7e0000-0000-4000-8000-00000000b0b0");
  }
  SECTION("overrides win") {
    dir.write("hostnqn", "nqn.2014-08.org.nvmexpress:uuid:5a7e0000-0000-4000-8000-00000000b0b0");
    o.hostnqn = "nqn.2026-01.io.example:host-a";
    o.hostid = "11111111-2222-4333-8444-555555555555";
    auto h = load_host_identity(o);
    REQUIRE(h.has_value());
    CHECK(h->hostnqn == "nqn.2026-01.io.example:host-a");
    CHECK(h->hostid_text == "11111111-2222-4333-8444-555555555555");
  }
  SECTION("nothing configured: generated, with a hint") {
    auto h = load_host_identity(o);
    REQUIRE(h.has_value());
    CHECK(h->generated);
    CHECK(h->hostnqn.rfind("nqn.2014-08.org.nvmexpress:uuid:", 0) == 0);
    CHECK(h->hostnqn.substr(32) == h->hostid_text);
    CHECK(h->hint.find("hostnqn") != std::string::npos);
  }
  SECTION("bad values name where they came from") {
    dir.write("hostnqn", "not-an-nqn");
    auto h = load_host_identity(o);
    REQUIRE_FALSE(h.has_value());
    CHECK(h.error().message.find("hostnqn") != std::string::npos);
    o.hostnqn = "nqn.2026-01.io.example:h";
    o.hostid = "xyz";
    auto bad_id = load_host_identity(o);
    REQUIRE_FALSE(bad_id.has_value());
    CHECK(bad_id.error().message.find("--hostid") != std::string::npos);
    o.hostnqn = "nqn." + std::string(300, 'a');
    o.hostid.reset();
    CHECK_FALSE(load_host_identity(o).has_value());
  }
}
