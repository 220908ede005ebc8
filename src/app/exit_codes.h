#pragma once

namespace ota::app {

// sysexits.h values where one fits, so systemd and scripts can tell "fix your config" from
// "something broke".
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 64;    // EX_USAGE: bad command line
constexpr int kExitConfig = 78;   // EX_CONFIG: bad setting or config file
constexpr int kExitInUse = 75;    // EX_TEMPFAIL: the data directory is held by another server

}  // namespace ota::app
