#include "daemon_support.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

namespace nvmemp::test {

std::string test_dir(const std::string& what) {
  const std::string d = fmt::format("/tmp/nvme-mpath-{}-{}", what, ::getpid());
  ::mkdir(d.c_str(), 0755);
  return d;
}

std::unique_ptr<mpathd::Daemon> start_daemon_with(const std::string& dir, const std::string& toml) {
  const std::string path = dir + "/mpath.toml";
  std::ofstream(path, std::ios::trunc) << toml;
  auto cfg = mpathd::load_config(path);
  INFO((cfg ? std::string() : cfg.error().message));
  REQUIRE(cfg.has_value());
  auto d = mpathd::Daemon::start(*cfg, path);
  INFO((d ? std::string() : d.error().message));
  REQUIRE(d.has_value());
  return std::move(*d);
}

}  // namespace nvmemp::test
