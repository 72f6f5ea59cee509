// Helpers shared by the configuration tests (tools/nvme-mpathd/config.h): TOML text that must
// parse or must be refused, and a scratch directory for the files a configuration names.
#pragma once

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "config.h"

namespace nvmemp::mpathd::test_config {

// `text` parsed as "t.toml"; a refusal fails the test with its message.
inline DaemonConfig config_ok(std::string_view text) {
  auto r = parse_config(text, "t.toml");
  if (!r) FAIL(r.error().message);
  return std::move(*r);
}

// The whole message of a text that must be refused.
inline std::string config_error(std::string_view text) {
  auto r = parse_config(text, "t.toml");
  REQUIRE_FALSE(r.has_value());
  return r.error().message;
}

// load_config(path), which must succeed.
inline DaemonConfig load_ok(const std::string& path) {
  auto r = load_config(path);
  if (!r) FAIL(r.error().message);
  return std::move(*r);
}

// The configured subsystem `nqn`, which must be there.
inline const SubsystemConfig& subsystem_named(const DaemonConfig& cfg, std::string_view nqn) {
  const SubsystemConfig* s = find_subsystem(cfg, nqn);
  if (s == nullptr) FAIL("no [[subsystem]] " << nqn);
  return *s;
}

// A temporary directory removed at the end of the test.
struct ConfigDir {
  std::filesystem::path path;
  ConfigDir() {
    char tmpl[] = "/tmp/nvmemp-config-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~ConfigDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  ConfigDir(const ConfigDir&) = delete;
  ConfigDir& operator=(const ConfigDir&) = delete;
  // Writes `name` in it (mode `mode`: 0600 for a key file) and returns its path.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0644) const {
    std::ofstream(path / name) << text;
    ::chmod((path / name).c_str(), mode);
    return (path / name).string();
  }
};

}  // namespace nvmemp::mpathd::test_config
