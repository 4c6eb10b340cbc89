// The service manager's protocols: readiness/status notifications (sd_notify), the watchdog
// interval, and socket activation (LISTEN_FDS). Through libsystemd when reactord is built with
// it (REACTORD_SYSTEMD), otherwise spoken directly: both are small, stable, documented protocols.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace reactord {

// A listening socket passed by the service manager, and its FileDescriptorName= (or
// systemd-socket-activate --fdname=); "unknown" when the manager gave none.
struct ActivatedSocket {
  int fd = -1;
  std::string name;
};

// Takes the sockets passed to this process (LISTEN_PID must be ours), makes them non-blocking
// and close-on-exec, and unsets LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES so no child inherits them.
// Empty when not socket-activated. Each must be a listening stream socket: otherwise returns
// empty with the reason in *error (e.g. Accept=yes units, which pass connected sockets).
// Call before any thread starts: it changes the environment.
std::vector<ActivatedSocket> take_activated_sockets(std::string* error);

// Sends `state` ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET. False when there is none (not run
// by systemd as Type=notify) or the send failed; callers carry on either way.
bool notify_manager(const std::string& state);
// True when $NOTIFY_SOCKET is set: worth composing status updates.
bool notify_enabled();

// The watchdog period the manager asked for (WATCHDOG_USEC, when WATCHDOG_PID is unset or
// ours), in microseconds; 0 when there is no watchdog. WATCHDOG=1 is due at least this often.
uint64_t watchdog_usec();

// Whether reactord was built with libsystemd (for the start-up log line).
bool built_with_libsystemd();

}  // namespace reactord
