// Owning pointers for OpenSSL objects and small conversions, shared by the crypto sources
// (internal to crypto/).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace ota::crypto {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;

// Seconds since the epoch for an ASN1_TIME (UTCTime or GeneralizedTime, always UTC); false if it
// does not parse. Calendar arithmetic instead of timegm(), whose -1 is also a valid instant.
inline bool asn1_time_to_seconds(const ASN1_TIME* t, int64_t* seconds) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  const std::chrono::year_month_day date{std::chrono::year{tm.tm_year + 1900},
                                         std::chrono::month{static_cast<unsigned>(tm.tm_mon + 1)},
                                         std::chrono::day{static_cast<unsigned>(tm.tm_mday)}};
  if (!date.ok()) return false;
  const int64_t days = std::chrono::sys_days{date}.time_since_epoch().count();
  *seconds = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  return true;
}

}  // namespace ota::crypto
