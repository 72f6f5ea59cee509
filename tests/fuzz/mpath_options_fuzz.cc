// Fuzz target: the multipath option parsers that take user text (CLI, later TOML):
// parse_no_path_retry ("queue", "fail", seconds) and parse_io_policy. Whatever parses must
// print back to text that parses to the same value.
// Corpus: tests/fuzz/corpus/mpath_options/ (valid values and near misses).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "nvmemp/mpath.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto n = nvmemp::parse_no_path_retry(text)) {
    auto back = nvmemp::parse_no_path_retry(nvmemp::no_path_retry_name(*n));
    if (!back || back->mode != n->mode || back->seconds != n->seconds) std::abort();
  } else if (n.error().message.empty()) {
    std::abort();  // a refusal says why
  }
  if (auto p = nvmemp::parse_io_policy(text)) {
    auto back = nvmemp::parse_io_policy(nvmemp::io_policy_name(*p));
    if (!back || *back != *p) std::abort();
  }
  return 0;
}
