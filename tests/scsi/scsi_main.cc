// main() of the SCSI adapter tests on loop devices: they need root, /dev/loop-control,
// /dev/fuse and losetup. Without them every test exits 77 (ctest shows it as skipped) after
// printing why; with CI=true a missing one is a failure.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {
std::string missing_requirement() {
  if (::geteuid() != 0) return "not root (loop devices and FUSE mounts need root)";
  if (::access("/dev/loop-control", R_OK | W_OK) != 0) return "/dev/loop-control is not usable";
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return "/dev/fuse is not usable";
  if (std::system("losetup --version >/dev/null 2>&1") != 0) return "losetup (util-linux) is not installed";
  return {};
}
}  // namespace

int main(int argc, char** argv) {
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  const auto& cfg = session.configData();
  const bool listing = cfg.listTests || cfg.listTestNamesOnly || cfg.listTags || cfg.listReporters;
  if (!listing) {
    if (const std::string why = missing_requirement(); !why.empty()) {
      const char* ci = std::getenv("CI");
      const bool in_ci = ci != nullptr && std::strcmp(ci, "true") == 0;
      std::fprintf(stderr, "scsi test %s: %s\n", in_ci ? "FAILED (CI=true needs it)" : "skipped", why.c_str());
      return in_ci ? 1 : 77;
    }
  }
  return session.run();
}
