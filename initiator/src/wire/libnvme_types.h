#pragma once
#pragma GCC system_header
#include <nvme/types.h>
