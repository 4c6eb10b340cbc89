// io_uring constants newer than the liburing headers we build against (Debian 12: liburing 2.3,
// kernel headers 6.1). Each names the kernel that introduced it; the backend probes for each at
// run time and falls back when the running kernel lacks it. Values are the kernel's uapi ABI.
#pragma once

#include <liburing.h>

#include <cstdint>

// Linux 6.10: a receive fills several provided buffers (consecutive ring entries) in one
// completion; sqe->ioprio flag, reported by the IORING_FEAT_ bit below.
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif

// Linux 6.17: sqe->optlen (the field liburing 2.3 calls file_index) on a multishot recv is a
// total byte limit; the multishot ends once it is reached. Older kernels answer -EINVAL.

namespace reactor {

// Optional io_uring features the backend uses when the kernel has them. REACTOR_URING_DISABLE
// (a comma-separated list of these names) forces one off: how the fallbacks are tested.
struct UringFeatures {
  // "bundle": IORING_RECVSEND_BUNDLE (6.10) on multishot receives limited by optlen (6.17);
  // switched off at the first -EINVAL from a kernel without the limit.
  bool recv_bundle = false;
};

}  // namespace reactor
