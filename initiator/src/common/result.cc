#include "nvmemp/result.h"

namespace nvmemp {

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::InvalidArgument: return "invalid argument";
    case Errc::Malformed: return "malformed";
    case Errc::Truncated: return "truncated";
    case Errc::DigestMismatch: return "digest mismatch";
    case Errc::Unsupported: return "unsupported";
    case Errc::Protocol: return "protocol error";
    case Errc::Io: return "I/O error";
    case Errc::Timeout: return "timeout";
    case Errc::NotFound: return "not found";
    case Errc::Refused: return "refused";
    case Errc::AuthFailed: return "authentication failed";
  }
  return "unknown error";
}

}  // namespace nvmemp
