// The library API's DhchapKey (nvmemp/mpath.h): parsing from text and from a file.
#include <fmt/format.h>

#include "auth/dhchap_key_impl.h"
#include "auth/key_text.h"
#include "auth/secret_buf.h"
#include "common/log.h"

namespace nvmemp {

std::string DhchapKey::describe() const {
  if (!impl_) return "none";
  return fmt::format("DHHC-1:{:02}", static_cast<unsigned>(impl_->secret.transform));
}

Result<DhchapKey> parse_dhchap_key(std::string_view text, std::string_view what) {
  auto s = auth::parse_dhchap_secret(text, what);
  if (!s) return tl::unexpected(s.error());
  if (s->length_mismatch) {
    log(LogLevel::Warn,
        "{}: a {}-byte key with transform {} (DHHC-1:{:02}): Linux targets before 6.7 reject a key whose length is not "
        "its hash's digest length",
        what, s->key.size(), auth::hash_name(s->transform), static_cast<unsigned>(s->transform));
  }
  auto impl = std::make_shared<DhchapKey::Impl>();
  impl->secret = std::move(*s);
  return DhchapKey(std::move(impl));
}

Result<DhchapKey> read_dhchap_key_file(const std::string& path, std::string_view what) {
  auto text = auth::read_key_file(path, what, "DHHC-1");
  if (!text) return tl::unexpected(text.error());
  const std::string where = fmt::format("{} (file {})", what, path);
  return parse_dhchap_key(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), where);
}

}  // namespace nvmemp
