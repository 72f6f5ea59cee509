#include "support/loop_sysfs.h"

#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "support/shell.h"

namespace nvmemp::test {

namespace fs = std::filesystem;

namespace {
void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text << '\n';
  f.close();
  if (!f) throw std::runtime_error("cannot write " + p.string());
}
}  // namespace

LoopSysfs::LoopSysfs(const DualPathDisk& disk, const std::string& dir) : disk_(disk), root_(dir + "/root") {
  fs::create_directories(dir);
  const std::string src = std::string(NVMEMP_FIXTURES_DIR) + "/sysfs/scsi-debug-3paths";
  const ShellResult r = shell(fmt::format("cp -a '{}' '{}'", src, root_), 30);
  if (r.status != 0) throw std::runtime_error("copying the sysfs fixture " + src + " failed");
  const fs::path block = fs::path(root_) / "sys/block";
  std::ifstream sizef(disk.backing_file(), std::ios::ate | std::ios::binary);
  const auto bytes = static_cast<std::uint64_t>(sizef.tellg());
  for (int p = 0; p < 2; ++p) {
    write_file(block / dev(p) / "dev", fmt::format("{}:{}", major(disk.devnum(p)), minor(disk.devnum(p))));
    write_file(block / dev(p) / "size", std::to_string(bytes / 512));
  }
  fs::remove(block / "sdc");
}

void LoopSysfs::set_access_state(int path, const std::string& state) {
  write_file(fs::path(root_) / "sys/block" / dev(path) / "device/access_state", state);
}

void LoopSysfs::send_change(int path) {
  write_file(fs::path("/sys/block") / disk_.sysname(path) / "uevent", "change");
}

}  // namespace nvmemp::test
