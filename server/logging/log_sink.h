// reactord's log sink: every line of the library and the server, formatted by log_format.h and
// written to stderr with one write(2).
#pragma once

#include "server/logging/log_format.h"

namespace reactord {

// The style for stderr as it is now: journal when JOURNAL_STREAM names it, else timestamps.
LogStyle stderr_log_style(LogFormat format);

// Routes reactor's log lines through format_log_line. Call while single-threaded (before loops
// start): the style is copied, and the library reads its sink without a lock.
void install_log_sink(const LogStyle& style);

}  // namespace reactord
