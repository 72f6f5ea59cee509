// Result<T>: the cold-path error type of nvme-mpath (bring-up, parsers, configuration).
// The I/O path uses plain status values instead (see nvmemp/status.h and wire/wire_error.h).
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace nvmemp {

enum class Errc {
  InvalidArgument,  // the caller passed something unusable
  Malformed,        // outside input (PDU, log page, file) broke a rule of its format
  Truncated,        // outside input ended before its own lengths say it should
  DigestMismatch,   // CRC32C header or data digest did not verify
  Unsupported,      // valid, but a feature we do not implement
  Protocol,         // the peer broke the protocol's sequence rules
  Io,               // a system call failed
  Timeout,          // a deadline passed
  NotFound,         // a named thing does not exist
  Refused,          // the peer refused the request for good (status with DNR): do not retry as is
  AuthFailed,       // in-band authentication failed for good (a key refused, either way, or none
                    // configured): do not retry until the keys change
};

const char* errc_name(Errc code) noexcept;

struct Error {
  Errc code;
  std::string message;  // says what failed, where, and what to do
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> make_error(Errc code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace nvmemp
