#include "app/settings.h"

namespace ota::app {
namespace {

using config::Setting;
using config::Type;

constexpr Setting kServerSettings[] = {
    {"config", Type::kPath, "", "read settings from this file (lines of `key = value`; # starts a comment)", 0, 0, {},
     false},
    {"data", Type::kPath, "./data",
     "data directory: metadata.db (SQLite), blobs/ (RocksDB), secret.key; created on first start"},
    {"listen", Type::kHostPort, "127.0.0.1:8080",
     "address to serve HTTP on; keep 127.0.0.1 behind a reverse proxy, port 0 picks a free port"},
    {"public_url", Type::kUrl, "",
     "base URL that devices reach this server at, written into manifests (default: http://<listen address>, "
     "https:// with tls_cert)"},
    {"tls_cert", Type::kPath, "",
     "serve HTTPS only (TLS 1.2+) on --listen with this PEM certificate chain, leaf first (certbot: fullchain.pem); "
     "needs tls_key; reloaded on SIGHUP and when the file changes"},
    {"tls_key", Type::kPath, "",
     "the unencrypted PEM private key of tls_cert (certbot: privkey.pem); keep it readable by the server user only"},
    {"tls_reload_check_s", Type::kUInt, "30",
     "how often to check tls_cert and tls_key for a renewal without a hook; SIGHUP (`systemctl reload`) is at once",
     1, 86400},
    {"trusted_proxies", Type::kString, "",
     "comma-separated networks (e.g. 127.0.0.1/32,::1/128) of reverse proxies whose X-Forwarded-For names the client "
     "in the logs and the audit log; empty: trust none"},
    {"port_file", Type::kPath, "", "after binding, write the listening port to this file (for scripts and tests)"},
    {"log_level", Type::kChoice, "info", "how much to log", 0, 0, "trace|debug|info|warn|error|off"},
    {"access_log", Type::kBool, "true", "log one line per HTTP request (method, path, status, bytes, ms)"},
    {"workers", Type::kUInt, "64",
     "worker threads: requests handled at once (idle keep-alive connections need none); a slow download holds one",
     1, 4096},
    {"max_connections", Type::kUInt, "10000",
     "client connections open at once, idle ones included; beyond it new clients get a 503 (needs as many file "
     "descriptors: the soft limit is raised to fit when the hard limit allows)",
     16, 1000000},
    {"backlog", Type::kUInt, "4096", "listen backlog: connections the kernel queues before accept", 16, 65535},
    {"keep_alive_requests", Type::kUInt, "1000", "requests served on one connection before it is closed", 1,
     1000000},
    {"keep_alive_timeout_s", Type::kUInt, "15",
     "seconds an idle keep-alive connection stays open (1 s when connections are nearly at max_connections)", 1,
     3600},
    {"read_timeout_s", Type::kUInt, "5", "seconds to wait for each read from a client before dropping it", 1, 300},
    {"write_timeout_s", Type::kUInt, "5", "seconds to wait for each write to a client before dropping it", 1, 300},
    {"max_upload_bytes", Type::kUInt, "268435456", "largest request body accepted (uploads); other routes allow less",
     1 << 20, uint64_t{1} << 34},
    {"asset_cache_mb", Type::kUInt, "256",
     "memory for asset bytes kept ready to send (the assets of servable updates are loaded at start)", 16, 65536},
    {"gc_interval_s", Type::kUInt, "3600",
     "how often to prune old updates and delete unreferenced files (0 = only `otaserver gc`)", 0, 604800},
    {"gc_grace_s", Type::kUInt, "3600",
     "files uploaded less than this long ago are never collected (a publish may still commit them)", 1, 604800},
    {"patch_link_ttl_s", Type::kUInt, "300",
     "how long a download link from the patch check endpoint stays valid (it works once)", 1, 86400},
    {"admin_session_ttl_s", Type::kUInt, "43200",
     "how long an admin page sign-in lasts (never beyond its token's own expiry)", 300, 2592000},
    {"metrics_token", Type::kString, "",
     "if set, GET /metrics needs `Authorization: Bearer <this>`; set it via OTA_METRICS_TOKEN or the config file"},
    {"usage_flush_s", Type::kUInt, "10",
     "how often adoption counters kept in memory are added to metadata.db", 1, 3600},
    {"shutdown_grace_s", Type::kUInt, "10",
     "on SIGTERM, how long in-flight requests may take before the process exits anyway", 1, 600},
};

}  // namespace

std::span<const config::Setting> server_settings() { return kServerSettings; }

}  // namespace ota::app
