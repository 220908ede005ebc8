// The systemd readiness protocol (sd_notify(3)) without libsystemd: one datagram to the Unix
// socket named by $NOTIFY_SOCKET. With Type=notify, systemd starts dependent units only once the
// server sends READY=1, i.e. once it accepts connections with its catalog loaded.
#pragma once

#include <string_view>

namespace ota::app {

// Sends `state` (e.g. "READY=1\nSTATUS=serving") if $NOTIFY_SOCKET is set; false if it is set but
// the message could not be sent. A no-op returning true outside systemd.
bool notify_systemd(std::string_view state);

}  // namespace ota::app
