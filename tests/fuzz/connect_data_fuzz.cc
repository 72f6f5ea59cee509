// Fuzz target: the target-side Connect parsers (the simulated target reads what a host sent).
// The input is read three ways: as Connect data (parse_connect_data, the whole input), as a
// Connect SQE (parse_connect on the first 64 bytes) and as a Connect capsule (SQE, then the
// Connect data from byte 64). Whatever parses must survive encode -> parse unchanged.
// Corpus: tests/fuzz/corpus/connect_data/ (1024-byte Connect data payloads and 1088-byte
// capsules from the real-target captures, plus hand-made edge cases).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "wire/sqe.h"

namespace {

using namespace nvmemp::wire;

void check_connect_data(nvmemp::Bytes in) {
  auto d = parse_connect_data(in);
  if (!d) {
    return;
  }
  auto again = encode_connect_data(d->hostid, d->cntlid, d->subnqn, d->hostnqn);
  if (!again) {
    std::abort();  // what we accepted we must be able to send
  }
  auto back = parse_connect_data(*again);
  if (!back || !(*back == *d)) {
    std::abort();
  }
}

void check_connect(nvmemp::Bytes in) {
  auto sqe = Sqe::from_bytes(in.first(kSqeLen));
  if (!sqe) {
    std::abort();  // 64 bytes were given
  }
  auto p = parse_connect(*sqe);
  if (!p) {
    return;
  }
  auto back = parse_connect(make_connect(*p));
  if (!back || !(*back == *p)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nvmemp::Bytes in(data, size);
  check_connect_data(in);
  if (size >= kSqeLen) {
    check_connect(in);
    check_connect_data(in.subspan(kSqeLen));
  }
  return 0;
}
