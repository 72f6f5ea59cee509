#include "transport/ring.h"

#include <cstring>

#include <fmt/format.h>

namespace nvmemp::transport {

namespace {

std::string flag_names(unsigned f) {
  std::string s;
  auto add = [&](unsigned bit, const char* name) {
    if ((f & bit) != 0) {
      s += s.empty() ? name : fmt::format(",{}", name);
    }
  };
  add(IORING_SETUP_SINGLE_ISSUER, "single-issuer");
  add(IORING_SETUP_DEFER_TASKRUN, "defer-taskrun");
  add(IORING_SETUP_COOP_TASKRUN, "coop-taskrun");
  return s.empty() ? "none" : s;
}

}  // namespace

Result<std::unique_ptr<Ring>> Ring::create(unsigned entries) {
  // Best first. DEFER_TASKRUN needs SINGLE_ISSUER and kernel 6.1; COOP_TASKRUN 5.19;
  // SINGLE_ISSUER 6.0. COOP and DEFER are alternatives.
  static constexpr unsigned kTries[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  auto ring = std::unique_ptr<Ring>(new Ring());
  std::string refused;
  for (unsigned flags : kTries) {
    io_uring_params p{};
    p.flags = flags;
    const int rc = io_uring_queue_init_params(entries, &ring->ring_, &p);
    if (rc == 0) {
      ring->flags_ = flags;
      ring->description_ = flag_names(flags);
      if (!refused.empty()) {
        ring->description_ += fmt::format(" (kernel refused: {})", refused);
      }
      return ring;
    }
    if (rc != -EINVAL) {
      return make_error(Errc::Io, fmt::format("io_uring_queue_init({}): {}", entries, std::strerror(-rc)));
    }
    refused += refused.empty() ? flag_names(flags) : fmt::format("; {}", flag_names(flags));
  }
  return make_error(Errc::Unsupported, fmt::format("io_uring: no setup accepted ({})", refused));
}

Ring::~Ring() { io_uring_queue_exit(&ring_); }

}  // namespace nvmemp::transport
