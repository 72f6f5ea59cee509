// An io_uring instance owned by one thread. Creation probes the setup flags the style guide
// asks for and falls back, naming what the kernel refused, so the choice is visible in logs.
#pragma once

#include <memory>
#include <string>

#include <liburing.h>

#include "nvmemp/result.h"

namespace nvmemp::transport {

class Ring {
 public:
  // Must be called on the thread that will submit to it (SINGLE_ISSUER).
  static Result<std::unique_ptr<Ring>> create(unsigned entries);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  io_uring* get() noexcept { return &ring_; }
  unsigned setup_flags() const noexcept { return flags_; }
  // "single-issuer,defer-taskrun" or "none (kernel refused: ...)".
  const std::string& description() const noexcept { return description_; }

 private:
  Ring() = default;
  io_uring ring_{};
  unsigned flags_ = 0;
  std::string description_;
};

}  // namespace nvmemp::transport
