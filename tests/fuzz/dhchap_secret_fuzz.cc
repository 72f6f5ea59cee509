// Fuzz target: the DHHC-1 secret parser (auth/dhchap_secret.h), which reads configuration files,
// key files and command-line arguments. Besides "no crash": a parsed key is 32, 48 or 64 bytes,
// and no error message contains the input's base64 body (secrets never reach an error).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/dhchap_secret.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto s = nvmemp::auth::parse_dhchap_secret(text, "fuzz");
  if (s) {
    const std::size_t n = s->key.size();
    if (n != 32 && n != 48 && n != 64) std::abort();
    (void)nvmemp::auth::transform_key(*s, "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-000000000000");
    return 0;
  }
  // The body is what follows "DHHC-1:XX:"; any 12 characters of it in the message would leak it.
  if (size > 10 + 12) {
    const std::string body(text.substr(10, 12));
    if (body.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == std::string::npos &&
        s.error().message.find(body) != std::string::npos) {
      std::abort();
    }
  }
  return 0;
}
