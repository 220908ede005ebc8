#include "common/clock.h"

#include <gtest/gtest.h>

#include <chrono>

namespace ota {
namespace {

TEST(FormatIso8601Ms, FormatsTheEpoch) { EXPECT_EQ(format_iso8601_ms(0), "1970-01-01T00:00:00.000Z"); }

TEST(FormatIso8601Ms, FormatsAKnownInstant) {
  EXPECT_EQ(format_iso8601_ms(1714564800000), "2024-05-01T12:00:00.000Z");
}

TEST(FormatIso8601Ms, PadsMillisecondsToThreeDigits) {
  EXPECT_EQ(format_iso8601_ms(1714564800007), "2024-05-01T12:00:00.007Z");
  EXPECT_EQ(format_iso8601_ms(1714564800070), "2024-05-01T12:00:00.070Z");
  EXPECT_EQ(format_iso8601_ms(1714564800999), "2024-05-01T12:00:00.999Z");
}

TEST(FormatIso8601Ms, HandlesInstantsBeforeTheEpoch) {
  EXPECT_EQ(format_iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(format_iso8601_ms(-1000), "1969-12-31T23:59:59.000Z");
}

TEST(FormatHttpDate, FormatsTheEpoch) { EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT"); }

TEST(FormatHttpDate, MatchesTheRfc7231Example) {
  EXPECT_EQ(format_http_date(1445412480000), "Wed, 21 Oct 2015 07:28:00 GMT");
}

TEST(FormatHttpDate, DropsMilliseconds) {
  EXPECT_EQ(format_http_date(1714564800999), "Wed, 01 May 2024 12:00:00 GMT");
}

TEST(ManualClock, ReturnsWhatItWasSetTo) {
  ManualClock clock(1000);
  EXPECT_EQ(clock.now_ms(), 1000);
  clock.advance(250);
  EXPECT_EQ(clock.now_ms(), 1250);
  clock.set(5);
  EXPECT_EQ(clock.now_ms(), 5);
}

TEST(SystemClock, ReportsWallClockMilliseconds) {
  using namespace std::chrono;
  int64_t before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  int64_t now = SystemClock().now_ms();
  int64_t after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
}

}  // namespace
}  // namespace ota
