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

// Linux 6.14 (reported by the ring). Used only as a version marker: since the resource-node
// rework of 6.13 a registered file removed from the table is released as soon as the requests
// that used *it* finish. Before, removals queued behind a ring-wide resource node that every
// fixed-file request pinned, so one idle connection's long-lived multishot receive kept every
// later-closed socket open (no FIN) until it ended (liburing issue #1192). Registered
// descriptors are used only on kernels that report this bit.
#ifndef IORING_FEAT_RW_ATTR
#define IORING_FEAT_RW_ATTR (1U << 16)
#endif

// Linux 6.2: a zero-copy send (SEND_ZC 6.0, SENDMSG_ZC 6.1, both in liburing 2.3) with this
// sqe->ioprio flag gets IORING_NOTIF_USAGE_ZC_COPIED in its notification's res when the kernel
// copied the data after all (loopback always does). The backend offers zero-copy sends only on
// kernels that report IORING_FEAT_RECVSEND_BUNDLE (6.10), a marker it already reads.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
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
  // "fixed_files": accepted and connected sockets also sit in a sparse registered file table
  // (IORING_OP_FILES_UPDATE, 5.6; safe to close from 6.13, see IORING_FEAT_RW_ATTR above) and
  // their receives, sends and polls name the table slot (IOSQE_FIXED_FILE), which spares the
  // kernel a file lookup and reference per request.
  bool fixed_files = false;
  // "send_zc": IORING_OP_SEND_ZC / SENDMSG_ZC (6.0/6.1) for sends of at least kZcMinBytes.
  // Off unless REACTOR_URING_ENABLE names it: on loopback it costs (bench/README.md).
  bool send_zc = false;
};

}  // namespace reactor
