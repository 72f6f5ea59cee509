// no_path_retry: "queue", "fail" or seconds (multipath.conf's knob, in seconds as nvme-cli's).
#include <charconv>

#include <fmt/format.h>

#include "nvmemp/mpath.h"

namespace nvmemp {

Result<NoPathRetry> parse_no_path_retry(std::string_view text) {
  if (text == "queue") return NoPathRetry{};
  if (text == "fail") return NoPathRetry{NoPathRetry::Mode::Fail, std::chrono::seconds(0)};
  long long n = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || p != end || n <= 0 || n > 86400 * 365) {
    return make_error(Errc::InvalidArgument,
                      fmt::format("no_path_retry \"{}\": use queue (hold I/O while a controller may come back), "
                                  "fail (fail at once) or a number of seconds from 1 to 31536000",
                                  text));
  }
  return NoPathRetry{NoPathRetry::Mode::Seconds, std::chrono::seconds(n)};
}

std::string no_path_retry_name(const NoPathRetry& n) {
  switch (n.mode) {
    case NoPathRetry::Mode::Queue: return "queue";
    case NoPathRetry::Mode::Fail: return "fail";
    case NoPathRetry::Mode::Seconds: return std::to_string(n.seconds.count());
  }
  return "?";
}

}  // namespace nvmemp
