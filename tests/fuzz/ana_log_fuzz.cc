// Fuzz target: ANA log page parser (LID 0Ch, wire/log_pages.h), both forms (with NSID lists and
// RGO). Besides "no crash", checks the invariants callers rely on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/log_pages.h"

namespace {

void check(const nvmemp::Result<nvmemp::wire::AnaLog>& log) {
  if (!log) {
    return;
  }
  if (log->groups.size() != log->ngrps) {
    std::abort();
  }
  for (const auto& g : log->groups) {
    if (g.anagrpid == 0 || !nvmemp::wire::ana_state_valid(g.state)) {
      std::abort();
    }
    (void)nvmemp::wire::ana_state_name(g.state);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nvmemp::Bytes in(data, size);
  check(nvmemp::wire::parse_ana_log(in, nvmemp::wire::AnaLogForm::WithNsids));
  check(nvmemp::wire::parse_ana_log(in, nvmemp::wire::AnaLogForm::GroupsOnly));
  return 0;
}
