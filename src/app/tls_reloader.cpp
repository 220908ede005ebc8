#include "app/tls_reloader.h"

#include <sys/stat.h>

#include "common/log.h"

namespace ota::app {
namespace {

// Below this, every load says so loudly: a renewal has probably been failing for weeks.
constexpr int64_t kExpiryWarningDays = 14;

int64_t days_left(const crypto::TlsCertificate& cert, int64_t now_s) { return (cert.not_after_s() - now_s) / 86400; }

void log_loaded(std::string_view what, const crypto::TlsCertificate& cert, int64_t now_s) {
  std::string line = describe_certificate(cert, now_s);
  if (cert.expired(now_s)) {
    spdlog::error("{}: the certificate EXPIRED; clients will refuse it until it is renewed: {}", what, line);
  } else if (now_s < cert.not_before_s()) {
    spdlog::warn("{}: the certificate is not valid yet (is the clock right?): {}", what, line);
  } else if (days_left(cert, now_s) < kExpiryWarningDays) {
    spdlog::warn("{}: the certificate expires soon; check its renewal: {}", what, line);
  } else {
    spdlog::info("{}: {}", what, line);
  }
}

}  // namespace

std::string describe_certificate(const crypto::TlsCertificate& cert, int64_t now_s) {
  return "subject=" + cert.subject() + " issuer=" + cert.issuer() + " not_after=" + cert.not_after_text() +
         " days_left=" + std::to_string(days_left(cert, now_s)) + " chain=" + std::to_string(cert.chain_length()) +
         " sha256=" + cert.sha256_fingerprint();
}

Result<std::unique_ptr<CertificateReloader>> CertificateReloader::load(std::string cert_path, std::string key_path,
                                                                       const Clock& clock) {
  // Stat before reading: a change that lands between the two is then seen by the next check.
  Files seen{stat_file(cert_path), stat_file(key_path)};
  OTA_ASSIGN_OR_RETURN(auto cert, crypto::TlsCertificate::load(cert_path, key_path));
  log_loaded("tls certificate loaded", *cert, clock.now_ms() / 1000);
  return std::unique_ptr<CertificateReloader>(
      new CertificateReloader(std::move(cert_path), std::move(key_path), clock, std::move(cert), seen));
}

CertificateReloader::CertificateReloader(std::string cert_path, std::string key_path, const Clock& clock,
                                         std::shared_ptr<const crypto::TlsCertificate> initial, Files seen)
    : cert_path_(std::move(cert_path)),
      key_path_(std::move(key_path)),
      clock_(clock),
      store_(std::make_shared<crypto::CertificateStore>(std::move(initial))),
      seen_(seen),
      pending_(seen) {}

bool CertificateReloader::reload(std::string_view reason) {
  std::lock_guard lock(mutex_);
  seen_ = pending_ = {stat_file(cert_path_), stat_file(key_path_)};
  return reload_locked(reason);
}

void CertificateReloader::reload_if_changed() {
  std::lock_guard lock(mutex_);
  Files now{stat_file(cert_path_), stat_file(key_path_)};
  if (now == seen_) return;
  if (now != pending_) {  // still changing, or just changed: look again at the next check
    pending_ = now;
    return;
  }
  seen_ = now;
  reload_locked("tls_cert or tls_key changed on disk");
}

bool CertificateReloader::reload_locked(std::string_view reason) {
  const int64_t now_s = clock_.now_ms() / 1000;
  auto loaded = crypto::TlsCertificate::load(cert_path_, key_path_);
  if (!loaded) {
    spdlog::error("tls reload ({}) failed, still serving the previous certificate: {}", reason,
                  loaded.error().message());
    return false;
  }
  if ((*loaded)->expired(now_s)) {
    spdlog::error(
        "tls reload ({}) refused an expired certificate, still serving the previous one: {}; renew it (e.g. "
        "`certbot renew`) and reload again",
        reason, describe_certificate(**loaded, now_s));
    return false;
  }
  store_->replace(*loaded);
  log_loaded("tls certificate reloaded (" + std::string(reason) + ")", **loaded, now_s);
  return true;
}

CertificateReloader::FileState CertificateReloader::stat_file(const std::string& path) {
  struct stat st {};
  // A missing file is a state too: its reappearance is a change.
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, st.st_size, st.st_ino};
}

}  // namespace ota::app
