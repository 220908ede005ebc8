// `otaserver serve`: open the data directory, serve HTTP (or HTTPS), stop cleanly on SIGTERM/SIGINT,
// reload the TLS certificate on SIGHUP.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <functional>
#include <optional>
#include <cstdio>
#include <mutex>
#include <thread>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/commands.h"
#include "app/config_loader.h"
#include "app/data_dir.h"
#include "app/exit_codes.h"
#include "app/settings.h"
#include "app/systemd_notify.h"
#include "app/tls_reloader.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/net.h"
#include "common/strings.h"
#include "http/server.h"
#include "protocol/expo/service.h"
#include "protocol/patch/service.h"
#include "publish/patches.h"
#include "publish/gc.h"
#include "publish/publisher.h"
#include "telemetry/events.h"
#include "telemetry/http_metrics.h"
#include "telemetry/usage.h"

namespace ota::app {
namespace {

http::ServerOptions http_options(const config::Config& cfg) {
  http::ServerOptions o;
  const std::string& listen = cfg.str("listen");
  size_t colon = listen.rfind(':');
  o.host = listen.substr(0, colon);
  if (o.host.size() >= 2 && o.host.front() == '[') o.host = o.host.substr(1, o.host.size() - 2);
  o.port = static_cast<int>(std::stoi(listen.substr(colon + 1)));
  o.workers = static_cast<int>(cfg.uint("workers"));
  o.backlog = static_cast<int>(cfg.uint("backlog"));
  o.keep_alive_max_requests = cfg.uint("keep_alive_requests");
  o.keep_alive_timeout_s = static_cast<int>(cfg.uint("keep_alive_timeout_s"));
  o.max_connections = cfg.uint("max_connections");
  o.read_timeout_s = static_cast<int>(cfg.uint("read_timeout_s"));
  o.write_timeout_s = static_cast<int>(cfg.uint("write_timeout_s"));
  o.max_body_bytes = cfg.uint("max_upload_bytes");
  o.access_log = cfg.flag("access_log");
  o.admin_session_ttl_s = static_cast<int64_t>(cfg.uint("admin_session_ttl_s"));
  o.metrics_token = cfg.str("metrics_token");
  // With TLS on, the default public URL is https:// too.
  o.secure_cookies =
      starts_with(cfg.str("public_url"), "https://") || (cfg.str("public_url").empty() && !cfg.str("tls_cert").empty());
  return o;
}

std::string base_url(const std::string& host, int port, bool tls) {
  bool v6 = host.find(':') != std::string::npos;
  return (tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// The checks a setting's type cannot express; kInvalidArgument (exit 78) like load_config's.
Status check_tls_settings(const config::Config& cfg) {
  const bool cert = !cfg.str("tls_cert").empty(), key = !cfg.str("tls_key").empty();
  if (cert == key) return ok();
  const char* set = cert ? "tls_cert" : "tls_key";
  const char* missing = cert ? "tls_key" : "tls_cert";
  return invalid_argument(std::string(set) + " is set (" + cfg.value(set).source + ") but " + missing +
                          " is not; set both to serve HTTPS (the certificate chain and its private key), or "
                          "neither for plain HTTP");
}

Result<net::CidrSet> trusted_proxies(const config::Config& cfg) {
  auto proxies = net::CidrSet::parse(cfg.str("trusted_proxies"));
  if (!proxies) {
    return invalid_argument("trusted_proxies (" + cfg.value("trusted_proxies").source +
                            "): " + proxies.error().message());
  }
  return proxies;
}

// SIGHUP (`systemctl reload otaserver`): reload the certificate, telling systemd as it goes.
// Every open connection is a descriptor; the shell's default soft limit (1024) would cap the
// server far below max_connections. Raise the soft limit as far as the hard limit allows.
void fit_descriptor_limit(size_t max_connections) {
  constexpr rlim_t kOwnDescriptors = 256;  // stores, logs, listener, epoll, backups
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + kOwnDescriptors;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted) return;
  rlimit raised = limit;
  raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (raised.rlim_cur > limit.rlim_cur) ::setrlimit(RLIMIT_NOFILE, &raised);
  if (raised.rlim_cur < wanted) {
    spdlog::warn("max_connections={} needs {} file descriptors but the limit is {}; raise LimitNOFILE (systemd) or "
                 "`ulimit -Hn`, or lower max_connections",
                 max_connections, wanted, raised.rlim_cur);
  }
}

// glibc gives each thread that allocates its own arena, up to 8 per core, and each keeps what
// was freed in it: after a publish (multi-MiB uploads, compression, a catalog rebuild) that was
// ~20 MiB of resident memory nobody used. Per-thread caches still serve the small allocations
// of the request path without taking an arena lock.
void limit_allocator_arenas() { ::mallopt(M_ARENA_MAX, 2); }

// Hands memory freed after bursts (publishes, backups, gc) back to the kernel. Cheap when there
// is nothing to return; run from a periodic thread, never on a request.
void return_free_memory() { ::malloc_trim(0); }

void reload_on_signal(CertificateReloader* tls) {
  if (tls == nullptr) {
    spdlog::info("SIGHUP: nothing to reload (TLS is off; other settings need a restart)");
    return;
  }
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t usec = static_cast<int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
  notify_systemd("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
  bool replaced = tls->reload("SIGHUP");
  notify_systemd(replaced ? "READY=1\nSTATUS=serving; TLS certificate reloaded"
                          : "READY=1\nSTATUS=serving; TLS reload failed (see the log), previous certificate kept");
}

// Waits for SIGTERM/SIGINT on its own thread (the signals are blocked everywhere else), then
// stops the listener and gives in-flight requests `grace` to finish before exiting anyway.
// A second signal exits at once. The stores are crash-safe, so a forced exit loses nothing
// that was acknowledged. SIGHUP runs `on_reload` on the same thread and keeps serving.
class ShutdownCoordinator {
 public:
  ShutdownCoordinator(http::Server& server, std::chrono::seconds grace, std::function<void()> on_reload)
      : server_(server), grace_(grace), on_reload_(std::move(on_reload)) {
    thread_ = std::thread([this] { wait_for_signal(); });
  }
  ~ShutdownCoordinator() {
    {
      std::lock_guard lock(mutex_);
      finished_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  static void block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);  // its default action would end the process
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // A client that disconnects mid-response must not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
  }

 private:
  void wait_for_signal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    timespec tick{0, 200'000'000};
    int sig = -1;
    while (!is_finished()) {
      sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGHUP) {
        on_reload_();
        sig = -1;
        continue;
      }
      if (sig > 0) break;
    }
    if (sig <= 0) return;  // the server stopped on its own
    spdlog::info("shutdown signal={} in_flight={} grace_s={}", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                 server_.in_flight(), grace_.count());
    notify_systemd("STOPPING=1");
    server_.stop();
    auto deadline = std::chrono::steady_clock::now() + grace_;
    while (!is_finished() && std::chrono::steady_clock::now() < deadline) {
      timespec short_tick{0, 100'000'000};
      const int again = sigtimedwait(&set, nullptr, &short_tick);
      if (again > 0 && again != SIGHUP) {
        spdlog::warn("shutdown second signal: exiting now in_flight={}", server_.in_flight());
        spdlog::default_logger()->flush();
        ::_exit(kExitFailure);
      }
    }
    if (!is_finished()) {
      spdlog::warn("shutdown grace period over: exiting with in_flight={}", server_.in_flight());
      spdlog::default_logger()->flush();
      ::_exit(kExitFailure);
    }
  }

  bool is_finished() {
    std::lock_guard lock(mutex_);
    return finished_;
  }

  http::Server& server_;
  std::chrono::seconds grace_;
  std::function<void()> on_reload_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool finished_ = false;
  std::thread thread_;
};

// Runs `task` every `interval` on its own thread until destroyed.
class Periodic {
 public:
  Periodic(std::chrono::seconds interval, std::function<void()> task) : interval_(interval), task_(std::move(task)) {
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
        lock.unlock();
        task_();
        lock.lock();
      }
    });
  }
  ~Periodic() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::chrono::seconds interval_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// One garbage collection pass on behalf of the server (see publish/gc.h).
void collect_garbage(const http::Services& services) {
  publish::GcOptions options;
  options.grace_ms = services.gc_grace_ms;
  options.started_at_ms = services.started_at_ms;
  auto report = publish::collect_garbage(*services.storage, options, {"local:gc", "local"}, services.clock->now_ms());
  if (!report) {
    spdlog::warn("gc failed: {}", report.error().message());
  } else if (report->blobs_removed > 0 || report->groups_pruned > 0) {
    services.expo->forget_assets(report->removed);
    if (Status st = services.expo->reload(); !st) spdlog::warn("gc reload failed: {}", st.error().message());
  }
}

// Adds the counters kept in memory to metadata.db; on failure they stay for the next try.
void flush_counters(patch::PatchService& patches, telemetry::UsageRecorder& usage, OpenDataDir& data) {
  if (Status st = patches.flush_counters(); !st) spdlog::warn("counters flush failed: {}", st.error().message());
  if (Status st = usage.flush(data.storage->db()); !st) spdlog::warn("usage flush failed: {}", st.error().message());
}

}  // namespace

std::string serve_help() {
  return "usage: otaserver serve [--data DIR] [--listen HOST:PORT] [--public-url URL] [flags]\n"
         "       otaserver --data DIR ...   (the same: serve is the default command)\n"
         "\n"
         "Serves expo-updates manifests and assets, native patches and the admin API from DIR.\n"
         "The first start creates DIR. Only one server may use a data directory at a time.\n"
         "\n"
         "Settings come from, in rising precedence: built-in defaults, the --config file,\n"
         "OTA_* environment variables, and flags. --print-config shows each value and its source.\n"
         "\n"
         "Flags:\n" +
         config::describe_flags(server_settings()) +
         "  --print-config\n      print the effective settings and where each came from, then exit\n"
         "\n"
         "Examples:\n"
         "  otaserver serve --data /var/lib/otaserver --public-url https://ota.example.com\n"
         "  otaserver --data ./data --listen 127.0.0.1:0 --port-file ./port\n";
}

int run_serve(std::span<const std::string> args) {
  auto loaded = load_config(server_settings(), args);
  if (!loaded) {
    std::fprintf(stderr, "otaserver: %s\n", loaded.error().message().c_str());
    return loaded.error().code() == ErrorCode::kInvalidArgument ? kExitConfig : kExitFailure;
  }
  if (loaded->parsed.help) {
    std::fputs(serve_help().c_str(), stdout);
    return kExitOk;
  }
  if (!loaded->parsed.positional.empty()) {
    std::fprintf(stderr, "otaserver: serve takes no arguments, got \"%s\"; see `otaserver help serve`\n",
                 loaded->parsed.positional.front().c_str());
    return kExitUsage;
  }
  const config::Config& cfg = loaded->config;
  if (loaded->parsed.print_config) {
    std::fputs(cfg.describe().c_str(), stdout);
    return kExitOk;
  }
  auto proxies = trusted_proxies(cfg);
  Status tls_settings = check_tls_settings(cfg);
  if (!proxies || !tls_settings) {
    std::fprintf(stderr, "otaserver: %s\n", (!proxies ? proxies.error() : tls_settings.error()).message().c_str());
    return kExitConfig;
  }

  log::setup(*log::parse_level(cfg.str("log_level")));
  limit_allocator_arenas();
  ::umask(027);  // nothing the server creates is for other users
  ShutdownCoordinator::block_signals();

  SystemClock clock;
  // Before the data directory: a certificate problem is a configuration error (exit 78, which
  // systemd does not restart), found without touching any data.
  std::unique_ptr<CertificateReloader> tls;
  if (!cfg.str("tls_cert").empty()) {
    auto loaded_tls = CertificateReloader::load(cfg.str("tls_cert"), cfg.str("tls_key"), clock);
    if (!loaded_tls) {
      spdlog::error("startup failed: {}", loaded_tls.error().message());
      return kExitConfig;
    }
    tls = std::move(*loaded_tls);
  }

  auto data = open_data_dir(cfg.str("data"));
  if (!data) {
    spdlog::error("startup failed: {}", data.error().message());
    return data.error().code() == ErrorCode::kConflict ? kExitInUse : kExitFailure;
  }

  http::ServerOptions options = http_options(cfg);
  fit_descriptor_limit(options.max_connections);
  if (tls) options.tls = tls->store();
  options.trusted_proxies = *proxies;
  http::Services services;
  // The server keeps a reference to `services`: they are completed below, before run().
  http::Server server(options, services);
  // The public URL goes into every manifest, so it must be known before the catalog renders; with
  // port 0 that means binding first.
  auto bound = server.bind();
  if (!bound) {
    spdlog::error("startup failed: {}", bound.error().message());
    return kExitFailure;
  }
  int port = *bound;
  std::string host = options.host;
  const std::string listen_url = base_url(host, port, tls != nullptr);
  std::string public_url = cfg.str("public_url").empty() ? listen_url : cfg.str("public_url");

  telemetry::UsageRecorder usage(clock);
  telemetry::HttpMetrics http_metrics;
  telemetry::EventCounters events;
  publish::Publisher publisher(*data->storage, clock);
  expo::ExpoService expo(*data->storage, clock, data->secret,
                         {public_url, static_cast<size_t>(cfg.uint("asset_cache_mb")) << 20, &usage});
  if (Status catalog = expo.reload(); !catalog) {
    spdlog::error("startup failed: cannot load the servable updates: {}", catalog.error().message());
    return kExitFailure;
  }
  patch::PatchService patches(*data->storage, clock, data->secret, public_url,
                              static_cast<int64_t>(cfg.uint("patch_link_ttl_s")) * 1000, &usage);
  if (Status loaded_patches = patches.reload(); !loaded_patches) {
    spdlog::error("startup failed: cannot load the patches: {}", loaded_patches.error().message());
    return kExitFailure;
  }
  publish::PatchPublisher patch_publisher(*data->storage, clock, data->secret);
  services.patches = &patches;
  services.patch_publisher = &patch_publisher;
  services.clock = &clock;
  services.health = {OTA_VERSION, data->schema_version};
  services.storage = data->storage.get();
  services.expo = &expo;
  services.publisher = &publisher;
  services.server_secret = data->secret;
  services.started_at_ms = clock.now_ms();
  services.gc_grace_ms = static_cast<int64_t>(cfg.uint("gc_grace_s")) * 1000;
  services.usage = &usage;
  services.http_metrics = &http_metrics;
  services.events = &events;
  services.open_connections = [&server] { return server.open_connections(); };

  const std::string& port_file = cfg.str("port_file");
  if (!port_file.empty()) {
    if (auto st = write_file_atomic(port_file, std::to_string(port) + "\n"); !st) {
      std::fprintf(stderr, "otaserver: cannot write --port-file: %s\n", st.error().message().c_str());
      return kExitFailure;
    }
  }
  spdlog::info("serving version={} data={} listen={} public_url={} workers={} schema={}", OTA_VERSION, cfg.str("data"),
               listen_url, public_url, cfg.uint("workers"), data->schema_version);
  std::printf("otaserver listening on %s\n", listen_url.c_str());
  std::fflush(stdout);
  // The socket is listening (the kernel queues connections until the workers start) and the
  // catalogs are loaded: ready as far as systemd's Type=notify is concerned.
  if (!notify_systemd("READY=1\nSTATUS=serving on " + listen_url)) {
    spdlog::warn("could not notify systemd (NOTIFY_SOCKET is set but unusable)");
  }

  Status served;
  {
    ShutdownCoordinator shutdown(server, std::chrono::seconds(cfg.uint("shutdown_grace_s")),
                                 [&tls] { reload_on_signal(tls.get()); });
    // Renewals that replace the files without a deploy hook (certbot's default) are picked up
    // without a SIGHUP.
    std::optional<Periodic> tls_watch;
    if (tls) {
      tls_watch.emplace(std::chrono::seconds(cfg.uint("tls_reload_check_s")), [&tls] { tls->reload_if_changed(); });
    }
    std::optional<Periodic> gc;
    if (cfg.uint("gc_interval_s") > 0) {
      gc.emplace(std::chrono::seconds(cfg.uint("gc_interval_s")), [&services] { collect_garbage(services); });
    }
    Periodic counters(std::chrono::seconds(cfg.uint("usage_flush_s")), [&] { flush_counters(patches, usage, *data); });
    Periodic trim(std::chrono::seconds(30), return_free_memory);
    served = server.run();
  }
  // Counters still in memory are written before the stores close.
  flush_counters(patches, usage, *data);
  if (!port_file.empty()) ::unlink(port_file.c_str());
  spdlog::info("stopped: closing stores");
  data->storage.reset();
  spdlog::info("stopped cleanly");
  spdlog::default_logger()->flush();
  return served ? kExitOk : kExitFailure;
}

}  // namespace ota::app
