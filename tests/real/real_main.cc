// main() of the real tests: finds the real-target VM first. Without one, every test exits 77
// (ctest shows it as skipped) after printing why; with CI=true a missing VM is a failure.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "real/real_target.h"

int main(int argc, char** argv) {
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) {
    return rc;
  }
  const auto& cfg = session.configData();
  const bool listing = cfg.listTests || cfg.listTestNamesOnly || cfg.listTags || cfg.listReporters;
  if (!listing) {
    auto rt = nvmemp::test::find_real_target();
    if (!rt) {
      const char* ci = std::getenv("CI");
      const bool in_ci = ci != nullptr && std::strcmp(ci, "true") == 0;
      std::fprintf(stderr, "real test %s: %s\n", in_ci ? "FAILED (CI=true needs the VM)" : "skipped",
                   rt.error().message.c_str());
      return in_ci ? 1 : 77;
    }
    nvmemp::test::set_real_target(*rt);
  }
  return session.run();
}
