#include "auth/dhchap_keys.h"

namespace nvmemp::auth {

Result<std::shared_ptr<const DhchapKeys>> make_dhchap_keys(const DhchapSecret& host, const DhchapSecret* ctrl,
                                                          std::string_view hostnqn, std::string_view subnqn) {
  auto keys = std::make_shared<DhchapKeys>();
  auto kh = transform_key(host, hostnqn);
  if (!kh) return tl::unexpected(kh.error());
  keys->host_key = std::move(*kh);
  if (ctrl != nullptr) {
    auto kc = transform_key(*ctrl, subnqn);
    if (!kc) return tl::unexpected(kc.error());
    keys->ctrl_key = std::move(*kc);
  }
  return std::shared_ptr<const DhchapKeys>(std::move(keys));
}

}  // namespace nvmemp::auth
