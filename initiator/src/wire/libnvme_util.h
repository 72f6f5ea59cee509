// libnvme 1.3's <nvme/util.h> and <nvme/fabrics.h> for C++: util.h has no extern "C" block
// and uses size_t without including <stddef.h>.
#pragma once
#pragma GCC system_header
#include <cstddef>

#include "wire/libnvme_types.h"
extern "C" {
#include <nvme/util.h>
#include <nvme/fabrics.h>
}
