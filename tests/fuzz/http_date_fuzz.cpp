// HTTP dates in If-Modified-Since (parse_http_date in http/negotiation.cpp): IMF-fixdate plus the
// obsolete RFC 850 and asctime forms. Properties:
//   - a parsed date is whole seconds;
//   - our own Last-Modified text of that instant (format_http_date) parses back to it;
//   - the obsolete forms and the fixdate agree: the three spellings of one instant are equal.

#include <ctime>
#include <string>

#include "common/clock.h"
#include "fuzz_support.h"
#include "http/negotiation.h"

namespace {

using ota::fuzz::as_view;
using ota::http::parse_http_date;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = as_view(data, size);
  const auto ms = parse_http_date(in);
  if (!ms) return 0;
  FUZZ_CHECK(*ms % 1000 == 0);
  const std::string fixdate = ota::format_http_date(*ms);
  if (fixdate.size() != 29) return 0;  // year 10000 (9999-12-31 23:59:60 rolled over): not a fixdate
  FUZZ_CHECK(parse_http_date(fixdate) == ms);

  // The same instant as asctime ("Sun Nov  6 08:49:37 1994").
  time_t secs = static_cast<time_t>(*ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char asctime_text[64];
  std::strftime(asctime_text, sizeof asctime_text, "%a %b %e %H:%M:%S %Y", &tm);
  if (tm.tm_year + 1900 >= 1000) FUZZ_CHECK(parse_http_date(asctime_text) == ms);
  return 0;
}
