// Fuzz target: the NVMeTLSkey-1 parser (tls/tls_psk.h), which reads configuration files, key
// files and command-line arguments, and the identity derivation that follows it. Besides "no
// crash": a parsed key is 32 or 48 bytes (48 with HH 02, 32 with HH 01), and no error message
// contains the input's base64 body (secrets never reach an error).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tls/tls_psk.h"

using namespace nvmemp::tls;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto k = parse_tls_key(text, "fuzz");
  if (k) {
    const std::size_t n = k->key.size();
    if (n != 32 && n != 48) std::abort();
    if (k->transform != PskHash::None && n != psk_hash_length(k->transform)) std::abort();
    for (auto v : {IdentityVersion::V0, IdentityVersion::V1}) {
      auto t = make_tls_psk(*k, "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000000",
                            "nqn.fuzz", v, HkdfEncoding::Rfc8446);
      if (!t || t->key.size() != n) std::abort();
    }
    return 0;
  }
  // The body follows "NVMeTLSkey-1:HH:"; 12 of its characters in the message would leak it.
  if (size > 16 + 12) {
    const std::string body(text.substr(16, 12));
    if (body.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == std::string::npos &&
        k.error().message.find(body) != std::string::npos) {
      std::abort();
    }
  }
  return 0;
}
