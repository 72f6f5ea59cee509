// What the public nvmemp::DhchapKey (nvmemp/mpath.h) holds: a parsed secret.
#pragma once

#include "auth/dhchap_secret.h"
#include "nvmemp/mpath.h"

namespace nvmemp {

struct DhchapKey::Impl {
  auth::DhchapSecret secret;
};

}  // namespace nvmemp
