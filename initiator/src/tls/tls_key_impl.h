// What the public nvmemp::TlsKey (nvmemp/mpath.h) holds: a parsed configured PSK.
#pragma once

#include "nvmemp/mpath.h"
#include "tls/tls_psk.h"

namespace nvmemp {

struct TlsKey::Impl {
  tls::ConfiguredPsk psk;
};

}  // namespace nvmemp
