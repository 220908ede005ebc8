// Keeps the served TLS certificate current without a restart: certbot and friends replace the
// files every couple of months, so the server reloads them on SIGHUP (`systemctl reload`) and,
// for renewals without a deploy hook, when either file changes on disk.
//
// A reload that fails (a half-written file, a key that does not match, an expired certificate)
// is logged as an error and changes nothing: the server keeps presenting the certificate it has.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "crypto/tls.h"

namespace ota::app {

class CertificateReloader {
 public:
  // Loads the pair for startup. An expired certificate is still served (with an error logged):
  // refusing to start would turn certificate warnings into connection refused, and leave no
  // server to fix things through. Errors (kInvalidArgument) name the file and the problem.
  static Result<std::unique_ptr<CertificateReloader>> load(std::string cert_path, std::string key_path,
                                                           const Clock& clock);

  // What the TLS listener presents; replaced (never modified) by reloads.
  std::shared_ptr<crypto::CertificateStore> store() const { return store_; }

  // Loads the files again and swaps the new certificate in. Refuses (logs an error, keeps the
  // current one) a pair that does not load or a certificate that has already expired. Returns
  // whether the certificate was replaced. Thread-safe.
  bool reload(std::string_view reason);

  // Call every check interval. Reloads once either file has changed (modification time, size or
  // inode) since the last attempt and then stayed the same for one more check: renewals replace
  // the certificate and the key one after the other, and a check between the two would report a
  // mismatch. A failed attempt is reported once, not on every check. Thread-safe.
  void reload_if_changed();

 private:
  struct FileState {
    int64_t mtime_ns = 0;
    off_t size = -1;
    ino_t inode = 0;
    bool operator==(const FileState&) const = default;
  };
  struct Files {
    FileState cert, key;
    bool operator==(const Files&) const = default;
  };

  CertificateReloader(std::string cert_path, std::string key_path, const Clock& clock,
                      std::shared_ptr<const crypto::TlsCertificate> initial, Files seen);
  static FileState stat_file(const std::string& path);
  bool reload_locked(std::string_view reason) OTA_REQUIRES(mutex_);

  const std::string cert_path_;
  const std::string key_path_;
  const Clock& clock_;
  const std::shared_ptr<crypto::CertificateStore> store_;
  std::mutex mutex_;
  Files seen_ OTA_GUARDED_BY(mutex_);     // at the last load attempt
  Files pending_ OTA_GUARDED_BY(mutex_);  // a change seen at the previous check, not loaded yet
};

// "subject=CN=ota.example.com not_after=2027-02-21T08:00:00Z days_left=89 sha256=AB:CD:..."
std::string describe_certificate(const crypto::TlsCertificate& cert, int64_t now_s);

}  // namespace ota::app
