// The keys one controller authenticates with (DH-HMAC-CHAP), transformed for their NQNs.
#pragma once

#include <memory>
#include <string_view>

#include "auth/dhchap_secret.h"
#include "auth/secret_buf.h"
#include "nvmemp/result.h"

namespace nvmemp::auth {

// Shared by every queue of a controller and never changed: new keys (a reload) make a new one.
struct DhchapKeys {
  SecretBuf host_key;  // Kh': the host key transformed for the host NQN
  SecretBuf ctrl_key;  // Kc': the controller key transformed for the subsystem NQN; empty:
                       // unidirectional (the controller is not asked to prove itself)
};

// Transforms `host` for `hostnqn` and, when given, `ctrl` for `subnqn` (transform_key()).
[[nodiscard]] Result<std::shared_ptr<const DhchapKeys>> make_dhchap_keys(const DhchapSecret& host,
                                                                        const DhchapSecret* ctrl,
                                                                        std::string_view hostnqn,
                                                                        std::string_view subnqn);

}  // namespace nvmemp::auth
