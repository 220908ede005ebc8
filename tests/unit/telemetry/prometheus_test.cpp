#include "telemetry/prometheus.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/prometheus_parser.h"
#include "support/temp_dir.h"
#include "telemetry/http_metrics.h"

namespace ota::telemetry {
namespace {

using ota::testing::parse_prometheus_text;
using ota::testing::ParsedMetrics;

ParsedMetrics parse_ok(const std::string& text) {
  ParsedMetrics parsed = parse_prometheus_text(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error << "\n--- text ---\n" << text;
  return parsed;
}

// ---- PrometheusWriter ----------------------------------------------------------------------------

TEST(PrometheusWriter, WritesFamiliesAndSamplesInTheTextFormat) {
  PrometheusWriter w;
  w.family("jobs_total", "Jobs done.", "counter");
  w.sample("jobs_total", {}, uint64_t{3});
  w.sample("jobs_total", {{"kind", "a"}, {"zone", "b"}}, std::numeric_limits<uint64_t>::max());
  w.family("temperature_celsius", "Now.", "gauge");
  w.sample("temperature_celsius", {}, -2.5);
  EXPECT_EQ(w.take(),
            "# HELP jobs_total Jobs done.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total 3\n"
            "jobs_total{kind=\"a\",zone=\"b\"} 18446744073709551615\n"
            "# HELP temperature_celsius Now.\n"
            "# TYPE temperature_celsius gauge\n"
            "temperature_celsius -2.5\n");
  EXPECT_EQ(w.take(), "") << "take() leaves the writer empty";
}

TEST(PrometheusWriter, EscapesHelpAndLabelValuesExactlyAsTheFormatSays) {
  PrometheusWriter w;
  w.family("x_total", "back\\slash \"quoted\"\nsecond line", "counter");
  w.sample("x_total", {{"v", "back\\slash \"quoted\"\nsecond line"}}, uint64_t{1});
  // HELP escapes backslash and newline only; label values also escape the double quote.
  EXPECT_EQ(w.take(), R"(# HELP x_total back\\slash "quoted"\nsecond line
# TYPE x_total counter
x_total{v="back\\slash \"quoted\"\nsecond line"} 1
)");
}

TEST(PrometheusWriter, EscapedTextRoundTripsThroughTheParser) {
  std::string printable;
  for (char c = ' '; c <= '~'; ++c) printable += c;
  const std::vector<std::string> texts = {
      "",
      "\\",
      "\"",
      "\n",
      "\\n",
      "\\\"",
      "ends with backslash\\",
      printable,
      "tab\there",
      "é ü 日本 😀",
      "{a=\"b\"} 1\n# x",
  };
  for (const std::string& text : texts) {
    PrometheusWriter w;
    w.family("round_trip", text, "gauge");
    w.sample("round_trip", {{"value", text}, {"other", "x"}}, 1.0);
    ParsedMetrics parsed = parse_ok(w.take());
    ASSERT_TRUE(parsed.ok());
    ASSERT_EQ(parsed.families.size(), 1u);
    // The format has no escape for a blank, and readers skip the blanks after the metric name, so
    // leading blanks of HELP text are the one thing that cannot round-trip.
    EXPECT_EQ(parsed.families[0].help, text.substr(std::min(text.find_first_not_of(" \t"), text.size())));
    EXPECT_EQ(parsed.value("round_trip", {{"value", text}, {"other", "x"}}), 1.0) << text;
  }
}

TEST(PrometheusWriter, ReplacesInvalidUtf8InLabelValuesSoTheScrapeSurvives) {
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ok \xC3\xA9", "ok \xC3\xA9"},                   // é stays
      {"a\xFF", "a" + fffd},                            // not a UTF-8 byte
      {"\xE2\x82", fffd + fffd},                        // truncated sequence: each byte replaced
      {"\xC0\xAF", fffd + fffd},                        // overlong "/"
      {"\xED\xA0\x80", fffd + fffd + fffd},             // UTF-16 surrogate
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
  };
  for (const auto& [input, expected] : cases) {
    PrometheusWriter w;
    w.family("utf8", "", "gauge");
    w.sample("utf8", {{"v", input}}, 1.0);
    ParsedMetrics parsed = parse_ok(w.take());
    EXPECT_EQ(parsed.value("utf8", {{"v", expected}}), 1.0);
  }
}

TEST(PrometheusValue, IntegersPrintWithoutExponentAndSpecialsAsTheFormatSpellsThem) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0, "0"},
      {-0.0, "0"},
      {1, "1"},
      {-7, "-7"},
      {1e6, "1000000"},
      {123456789012345.0, "123456789012345"},
      {9007199254740993.0, "9007199254740992"},  // nearest double
      {1e20, "100000000000000000000"},
      {1e21, "1e+21"},
      {0.5, "0.5"},
      {0.1, "0.1"},
      {2.5, "2.5"},
      {0.0001, "0.0001"},
      {0.00025, "0.00025"},
      {1.5e-7, "1.5e-07"},
      {123.456, "123.456"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const auto& [value, expected] : cases) EXPECT_EQ(format_prometheus_value(value), expected) << expected;
}

TEST(PrometheusValue, EveryFiniteValueParsesBackToTheSameDouble) {
  std::mt19937_64 random(42);
  for (int i = 0; i < 20000; ++i) {
    double value = 0;
    uint64_t bits = random();
    std::memcpy(&value, &bits, sizeof value);
    if (!std::isfinite(value)) continue;
    std::string text = format_prometheus_value(value);
    double back = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), back);
    ASSERT_TRUE(ec == std::errc() && end == text.data() + text.size()) << text;
    ASSERT_EQ(back, value) << text;
  }
}

// ---- Histogram -----------------------------------------------------------------------------------

TEST(Histogram, BucketsAreCumulativeAndUpperBoundsInclusive) {
  const double bounds[] = {0.001, 0.01, 0.1};
  Histogram h(bounds);
  h.observe(0.001);         // exactly on a bound: that bucket (le means <=)
  h.observe_ns(1'000'001);  // just above it: the next
  h.observe(0.05);
  h.observe(5);   // beyond every bound: +Inf only
  h.observe(-1);  // a clock step: counted as 0
  h.observe_ns(-5);
  h.observe(std::numeric_limits<double>::quiet_NaN());

  PrometheusWriter w;
  w.family("job_duration_seconds", "How long jobs take.", "histogram");
  h.write(w, "job_duration_seconds", {{"queue", "main"}});
  ParsedMetrics m = parse_ok(w.take());
  auto bucket = [&](const char* le) { return m.value("job_duration_seconds_bucket", {{"queue", "main"}, {"le", le}}); };
  EXPECT_EQ(bucket("0.001"), 4.0);
  EXPECT_EQ(bucket("0.01"), 5.0);
  EXPECT_EQ(bucket("0.1"), 6.0);
  EXPECT_EQ(bucket("+Inf"), 7.0);
  EXPECT_EQ(m.value("job_duration_seconds_count", {{"queue", "main"}}), 7.0);
  EXPECT_EQ(m.value("job_duration_seconds_sum", {{"queue", "main"}}), (1e6 + 1'000'001 + 5e7 + 5e9) / 1e9);
  EXPECT_EQ(h.count(), 7u);
}

TEST(Histogram, EmptyHistogramWritesZeroBucketsAndParses) {
  const double bounds[] = {1, 2};
  Histogram h(bounds);
  PrometheusWriter w;
  w.family("idle_seconds", "Nothing yet.", "histogram");
  h.write(w, "idle_seconds");
  EXPECT_EQ(w.take(),
            "# HELP idle_seconds Nothing yet.\n"
            "# TYPE idle_seconds histogram\n"
            "idle_seconds_bucket{le=\"1\"} 0\n"
            "idle_seconds_bucket{le=\"2\"} 0\n"
            "idle_seconds_bucket{le=\"+Inf\"} 0\n"
            "idle_seconds_sum 0\n"
            "idle_seconds_count 0\n");
}

// ---- HttpMetrics ---------------------------------------------------------------------------------

TEST(HttpMetrics, RendersEachFamilyWithOnlyTheSeriesThatHaveBeenSeen) {
  HttpMetrics metrics;
  metrics.observe(Route::kManifest, 200, 300'000, 1000);
  metrics.observe(Route::kManifest, 200, 400'000, 1500);
  metrics.observe(Route::kManifest, 304, 50'000, 0);
  metrics.observe(Route::kAsset, 200, 2'000'000, 5000);
  metrics.observe(Route::kOther, 404, 10'000, 80);
  metrics.observe(Route::kOther, 0, 10'000, 0);

  PrometheusWriter w;
  metrics.write(w);
  ParsedMetrics m = parse_ok(w.take());
  ASSERT_TRUE(m.ok());

  for (const char* name : {"otaserver_http_requests_total", "otaserver_http_request_duration_seconds",
                           "otaserver_http_response_bytes_total", "otaserver_http_not_modified_total"}) {
    const auto* family = m.family(name);
    ASSERT_NE(family, nullptr) << name;
    EXPECT_TRUE(family->help && !family->help->empty()) << name;
  }
  EXPECT_EQ(m.family("otaserver_http_requests_total")->type, "counter");
  EXPECT_EQ(m.family("otaserver_http_request_duration_seconds")->type, "histogram");

  EXPECT_EQ(m.samples("otaserver_http_requests_total").size(), 5u) << "zero series are not rendered";
  EXPECT_EQ(m.value("otaserver_http_requests_total", {{"route", "manifest"}, {"status", "200"}}), 2.0);
  EXPECT_EQ(m.value("otaserver_http_requests_total", {{"route", "manifest"}, {"status", "304"}}), 1.0);
  EXPECT_EQ(m.value("otaserver_http_requests_total", {{"route", "asset"}, {"status", "200"}}), 1.0);
  EXPECT_EQ(m.value("otaserver_http_requests_total", {{"route", "other"}, {"status", "404"}}), 1.0);
  EXPECT_EQ(m.value("otaserver_http_requests_total", {{"route", "other"}, {"status", "other"}}), 1.0);
  EXPECT_EQ(m.sum("otaserver_http_requests_total"), 6.0);

  EXPECT_EQ(m.value("otaserver_http_request_duration_seconds_count", {{"route", "manifest"}}), 3.0);
  EXPECT_EQ(m.value("otaserver_http_request_duration_seconds_sum", {{"route", "manifest"}}), 750'000 / 1e9);
  EXPECT_EQ(m.value("otaserver_http_request_duration_seconds_bucket", {{"route", "manifest"}, {"le", "0.0001"}}), 1.0);
  EXPECT_EQ(m.value("otaserver_http_request_duration_seconds_bucket", {{"route", "manifest"}, {"le", "0.0005"}}), 3.0);
  EXPECT_EQ(m.value("otaserver_http_request_duration_seconds_bucket", {{"route", "asset"}, {"le", "0.001"}}), 0.0);
  EXPECT_EQ(m.value("otaserver_http_request_duration_seconds_bucket", {{"route", "asset"}, {"le", "0.0025"}}), 1.0);

  EXPECT_EQ(m.value("otaserver_http_response_bytes_total", {{"route", "manifest"}}), 2500.0);
  EXPECT_EQ(m.value("otaserver_http_response_bytes_total", {{"route", "asset"}}), 5000.0);
  EXPECT_EQ(m.value("otaserver_http_not_modified_total", {{"route", "manifest"}}), 1.0);
  EXPECT_EQ(m.value("otaserver_http_not_modified_total", {{"route", "asset"}}), 0.0) << "seen routes appear at 0";
  EXPECT_FALSE(m.value("otaserver_http_not_modified_total", {{"route", "patch"}})) << "unseen routes do not appear";
  EXPECT_TRUE(m.samples("otaserver_http_request_duration_seconds_count").size() == 3u);
}

TEST(HttpMetrics, LatencyBucketLabelsArePlainDecimals) {
  HttpMetrics metrics;
  metrics.observe(Route::kHealth, 200, 1, 2);
  PrometheusWriter w;
  metrics.write(w);
  ParsedMetrics m = parse_ok(w.take());
  std::vector<std::string> les;
  for (const auto* s : m.samples("otaserver_http_request_duration_seconds_bucket")) les.push_back(s->labels[1].second);
  EXPECT_EQ(les, (std::vector<std::string>{"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                                           "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}));
}

TEST(HttpMetrics, NothingObservedStillRendersValidFamilies) {
  HttpMetrics metrics;
  PrometheusWriter w;
  metrics.write(w);
  ParsedMetrics m = parse_ok(w.take());
  EXPECT_EQ(m.families.size(), 4u);
  for (const auto& family : m.families) EXPECT_TRUE(family.samples.empty()) << family.name;
}

TEST(HttpMetrics, OutOfRangeRoutesAndStatusesAreClampedNotOutOfBounds) {
  HttpMetrics metrics;
  metrics.observe(static_cast<Route>(200), 99, -5, 1);
  metrics.observe(Route::kOther, 600, 0, 1);
  EXPECT_EQ(metrics.requests(Route::kOther, 99), 2u) << "every out-of-range status shares one slot";
  EXPECT_EQ(metrics.requests(Route::kOther, 600), 2u);
  EXPECT_EQ(metrics.requests(Route::kOther, 599), 0u);
  EXPECT_EQ(metrics.response_bytes(Route::kOther), 2u);
  EXPECT_EQ(metrics.latency(Route::kOther).count(), 2u);
  EXPECT_EQ(metrics.latency(Route::kOther).sum_seconds(), 0.0);
}

TEST(HttpMetrics, ConcurrentObservesSumExactlyAndScrapesStayConsistent) {
  HttpMetrics metrics;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200'000;
  std::atomic<bool> done{false};
  std::vector<std::string> scrape_errors;
  int scrapes = 0;
  std::thread scraper([&] {
    // Scrapes race the observers: every one must still be a valid exposition, in particular each
    // +Inf bucket equal to its _count.
    while (!done.load()) {
      PrometheusWriter w;
      metrics.write(w);
      ParsedMetrics m = parse_prometheus_text(w.take());
      if (!m.ok()) scrape_errors.push_back(m.error);
      ++scrapes;
    }
  });
  std::vector<std::thread> observers;
  for (int t = 0; t < kThreads; ++t) {
    observers.emplace_back([&metrics, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int status = i % 10 == 0 ? 304 : 200;
        metrics.observe(t % 2 ? Route::kAsset : Route::kManifest, status, int64_t{i % 1000} * 1000, uint64_t(i % 7));
      }
    });
  }
  for (auto& thread : observers) thread.join();
  done.store(true);
  scraper.join();
  EXPECT_TRUE(scrape_errors.empty()) << scrape_errors.front();
  EXPECT_GT(scrapes, 0);

  uint64_t expected_ns = 0;
  uint64_t expected_bytes = 0;
  for (int i = 0; i < kPerThread; ++i) {
    expected_ns += uint64_t(i % 1000) * 1000;
    expected_bytes += uint64_t(i % 7);
  }
  const uint64_t per_route = kThreads / 2;
  for (Route route : {Route::kManifest, Route::kAsset}) {
    EXPECT_EQ(metrics.requests(route, 200), per_route * kPerThread * 9 / 10);
    EXPECT_EQ(metrics.requests(route, 304), per_route * kPerThread / 10);
    EXPECT_EQ(metrics.latency(route).count(), per_route * kPerThread);
    EXPECT_EQ(metrics.latency(route).sum_seconds(), static_cast<double>(per_route * expected_ns) / 1e9);
    EXPECT_EQ(metrics.response_bytes(route), per_route * expected_bytes);
  }
  PrometheusWriter w;
  metrics.write(w);
  ParsedMetrics m = parse_ok(w.take());
  EXPECT_EQ(m.sum("otaserver_http_requests_total"), double{kThreads} * kPerThread);
  EXPECT_EQ(m.sum("otaserver_http_not_modified_total"), double{kThreads} * kPerThread / 10);
}

// ---- routes --------------------------------------------------------------------------------------

TEST(ClassifyRoute, MapsEachPathToItsRoute) {
  const std::vector<std::pair<std::string_view, Route>> cases = {
      {"/apps/demo/manifest", Route::kManifest},
      {"/apps/demo/manifest?platform=ios", Route::kManifest},
      {"/apps/demo/manifest/x", Route::kOther},
      {"/apps//manifest", Route::kOther},
      {"/apps/demo", Route::kOther},
      {"/apps/demo/assets/abc_DEF-1", Route::kAsset},
      {"/apps/demo/assets/", Route::kOther},
      {"/apps/demo/other", Route::kOther},
      {"/patches/download/tok.en", Route::kPatchDownload},
      {"/patches/demo/ios/1.0.0/build1", Route::kPatch},
      {"/patches/download", Route::kPatch},
      {"/patches", Route::kOther},
      {"/api/v1/patches/check", Route::kPatchCheck},
      {"/api/v1/patches/check?x=1", Route::kPatchCheck},
      {"/api/v1/patches/check/more", Route::kApi},
      {"/api/v1/apps", Route::kApi},
      {"/api", Route::kApi},
      {"/apiary", Route::kOther},
      {"/admin", Route::kAdmin},
      {"/admin/", Route::kAdmin},
      {"/admin/app.js", Route::kAdmin},
      {"/administrator", Route::kOther},
      {"/metrics", Route::kMetrics},
      {"/metrics/", Route::kOther},
      {"/healthz", Route::kHealth},
      {"/", Route::kOther},
      {"", Route::kOther},
      {"apps/demo/manifest", Route::kOther},
  };
  for (const auto& [path, route] : cases) {
    EXPECT_EQ(route_name(classify_route("GET", path)), route_name(route)) << path;
  }
  EXPECT_EQ(classify_route("POST", "/api/v1/patches/check"), Route::kPatchCheck);
}

TEST(RouteName, NamesEveryRouteDistinctly) {
  std::vector<std::string_view> names;
  for (size_t r = 0; r < kRouteCount; ++r) names.push_back(route_name(static_cast<Route>(r)));
  EXPECT_EQ(names, (std::vector<std::string_view>{"manifest", "asset", "patch", "patch_download", "patch_check", "api",
                                                  "admin", "metrics", "healthz", "other"}));
}

// ---- the parser ----------------------------------------------------------------------------------

TEST(PrometheusParser, AcceptsEverythingTheFormatAllows) {
  ParsedMetrics m = parse_ok(
      "# a plain comment\n"
      "\n"
      "# TYPE up gauge\n"
      "# HELP up Help may follow TYPE.\n"
      "up 1 1700000000000\n"
      "  up{ job = \"a\" , } 0.5\n"  // blanks around tokens and a trailing comma, as Go accepts
      "up{job=\"b\"} +Inf\n"
      "up{job=\"c\"} -inf\n"
      "up{job=\"d\"} NaN\n"
      "up{job=\"e\"} 1e3\n"
      "up{job=\"f\"} .5\n"
      "# TYPE rpc_seconds summary\n"
      "rpc_seconds{quantile=\"0.5\"} 0.01\n"
      "rpc_seconds_sum 3\n"
      "rpc_seconds_count 200\n"
      "# TYPE thing untyped\n"
      "thing{b=\"2\",a=\"1\"} 7\n"
      "# TYPE empty_total counter\n"
      "# HELP no_type_and_no_samples Ignored like Go does.\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m.value("up"), 1.0);
  EXPECT_EQ(m.samples("up")[0]->timestamp_ms, 1700000000000);
  EXPECT_EQ(m.value("up", {{"job", "a"}}), 0.5);
  EXPECT_EQ(m.value("up", {{"job", "b"}}), std::numeric_limits<double>::infinity());
  EXPECT_EQ(m.value("up", {{"job", "c"}}), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(*m.value("up", {{"job", "d"}})));
  EXPECT_EQ(m.value("up", {{"job", "e"}}), 1000.0);
  EXPECT_EQ(m.value("thing", {{"a", "1"}, {"b", "2"}}), 7.0) << "label order does not matter";
  EXPECT_EQ(m.family("up")->help, "Help may follow TYPE.");
  EXPECT_EQ(m.sum("up", {{"job", "e"}}), 1000.0);
  EXPECT_FALSE(m.value("up", {{"job", "zzz"}}));
}

TEST(PrometheusParser, RejectsMalformedInputNamingTheLine) {
  struct Case {
    const char* what;
    std::string text;
    std::string error;  // expected prefix
  };
  const std::string h = "# TYPE h_seconds histogram\n";
  const std::vector<Case> cases = {
      {"sample before TYPE", "x_total 1\n# TYPE x_total counter\n", "line 1: sample x_total has no # TYPE"},
      {"HELP but no TYPE", "# HELP g A gauge.\ng 1\n", "line 2: sample g has no # TYPE"},
      {"TYPE after samples", "# TYPE g gauge\ng 1\n# TYPE g gauge\n", "line 3: # TYPE for g after its samples"},
      {"second TYPE", "# TYPE g gauge\n# TYPE g counter\n", "line 2: second # TYPE"},
      {"second HELP", "# HELP g a\n# HELP g b\n", "line 2: second # HELP"},
      {"unknown type", "# TYPE g meter\n", "line 1: unknown metric type"},
      {"upper-case type", "# TYPE g GAUGE\n", "line 1: unknown metric type"},
      {"counter without _total", "# TYPE requests counter\nrequests 1\n", "line 1: counter requests must be named"},
      {"gauge with _total", "# TYPE open_total gauge\n", "line 1: only counters may be named *_total"},
      {"negative counter", "# TYPE x_total counter\nx_total -1\n", "line 2: counter x_total is -1"},
      {"bad label escape", "# TYPE g gauge\ng{a=\"\\t\"} 1\n", "line 2: invalid escape sequence \\t"},
      {"bad HELP escape", "# HELP g a \\\" quote\n", "line 1: invalid escape sequence in HELP"},
      {"unterminated label value", "# TYPE g gauge\ng{a=\"x} 1\n", "line 2: unterminated value of label a"},
      {"unquoted label value", "# TYPE g gauge\ng{a=x} 1\n", "line 2: value of label a must be in double quotes"},
      {"invalid UTF-8", "# TYPE g gauge\ng{a=\"\xFF\"} 1\n", "line 2: value of label a is not valid UTF-8"},
      {"duplicate label", "# TYPE g gauge\ng{a=\"1\",a=\"2\"} 1\n", "line 2: label a appears twice"},
      {"reserved label", "# TYPE g gauge\ng{__name__=\"x\"} 1\n", "line 2: label name __name__ is reserved"},
      {"invalid label name", "# TYPE g gauge\ng{1a=\"x\"} 1\n", "line 2: invalid label name"},
      {"invalid metric name", "# TYPE g gauge\n1g 1\n", "line 2: a sample line must start with a valid metric name"},
      {"invalid metric name in TYPE", "# TYPE g-h gauge\n", "line 1: # TYPE needs a valid metric name"},
      {"missing separator", "# TYPE g gauge\ng{a=\"1\" b=\"2\"} 1\n", "line 2: expected , or }"},
      {"no value", "# TYPE g gauge\ng\n", "line 2: sample has no value"},
      {"value not a float", "# TYPE g gauge\ng one\n", "line 2: value \"one\" is not a float"},
      {"hex value", "# TYPE g gauge\ng 0x10\n", "line 2: value \"0x10\" is not a float"},
      {"value out of range", "# TYPE g gauge\ng 1e999\n", "line 2: value \"1e999\" is not a float"},
      {"bad timestamp", "# TYPE g gauge\ng 1 soon\n", "line 2: timestamp is not an integer"},
      {"trailing text", "# TYPE g gauge\ng 1 2 3\n", "line 2: unexpected text after the timestamp"},
      {"duplicate series", "# TYPE g gauge\ng{a=\"1\",b=\"2\"} 1\ng{b=\"2\",a=\"1\"} 2\n",
       "line 3: duplicate series g{b=\"2\",a=\"1\"} (first on line 2)"},
      {"family split in two", "# TYPE a gauge\n# TYPE b gauge\na 1\n", "line 3: sample a: the lines of family a"},
      {"samples interleaved", "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n", "line 4: sample a: the lines of family a"},
      {"no final newline", "# TYPE g gauge\ng 1", "line 2: the text must end with a newline"},
      {"CRLF", "# TYPE g gauge\r\n", "line 1: line ends with \\r\\n"},
      {"histogram sample without suffix", h + "h_seconds 1\n", "line 2: histogram h_seconds has no samples of its own"},
      {"bucket without le", h + "h_seconds_bucket 1\n", "line 2: histogram bucket h_seconds_bucket has no le"},
      {"le on _count", h + "h_seconds_count{le=\"1\"} 1\n", "line 2: le label on h_seconds_count"},
      {"le not a number", h + "h_seconds_bucket{le=\"big\"} 1\n", "line 2: le=\"big\" is not a number"},
      {"non-cumulative buckets",
       h + "h_seconds_bucket{le=\"1\"} 5\nh_seconds_bucket{le=\"2\"} 3\nh_seconds_bucket{le=\"+Inf\"} 5\n"
           "h_seconds_sum 1\nh_seconds_count 5\n",
       "line 3: bucket le=2 holds 3, less than 5 in le=1"},
      {"no +Inf bucket", h + "h_seconds_bucket{le=\"1\"} 5\nh_seconds_sum 1\nh_seconds_count 5\n",
       "line 2: histogram series h_seconds_bucket{le=\"1\"} has no le=\"+Inf\" bucket"},
      {"+Inf differs from _count", h + "h_seconds_bucket{le=\"+Inf\"} 5\nh_seconds_sum 1\nh_seconds_count 6\n",
       "line 4: _count 6 differs from the le=\"+Inf\" bucket 5"},
      {"no _sum", h + "h_seconds_bucket{le=\"+Inf\"} 5\nh_seconds_count 5\n", "line 2: histogram series"},
      {"same le twice", h + "h_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"1.0\"} 1\n",
       "line 3: second bucket with le=1"},
      {"family named like a histogram's samples", h + "# TYPE h_seconds_count gauge\n",
       "line 2: # TYPE for h_seconds_count, which is a sample name of histogram h_seconds"},
      {"summary quantile sample without quantile", "# TYPE s summary\ns 1\n",
       "line 2: summary sample s has no quantile"},
      {"summary without _count", "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\n", "line 2: summary series"},
  };
  for (const auto& c : cases) {
    ParsedMetrics m = parse_prometheus_text(c.text);
    EXPECT_FALSE(m.ok()) << c.what;
    EXPECT_EQ(m.error.substr(0, c.error.size()), c.error) << c.what << "\n full error: " << m.error;
    EXPECT_TRUE(m.families.empty()) << c.what;
  }
}

// ---- promtool ------------------------------------------------------------------------------------

// Everything the writer can produce in one body: the HTTP families plus escaping and odd values.
std::string sample_exposition() {
  HttpMetrics metrics;
  metrics.observe(Route::kManifest, 200, 300'000, 1000);
  metrics.observe(Route::kManifest, 304, 50'000, 0);
  metrics.observe(Route::kAsset, 206, 12'000'000, 1 << 20);
  metrics.observe(Route::kPatchCheck, 200, 900'000, 120);
  metrics.observe(Route::kOther, 0, 1'000, 0);
  metrics.observe(Route::kMetrics, 200, 20'000'000'000, 300);
  PrometheusWriter w;
  metrics.write(w);
  w.family("otaserver_test_escapes_total", "Help with a \\ backslash,\na newline and \"quotes\".", "counter");
  w.sample("otaserver_test_escapes_total", {{"value", "back\\slash \"quoted\"\nnewline \xC3\xA9 \xFF"}}, uint64_t{7});
  w.family("otaserver_test_values", "Special float values.", "gauge");
  w.sample("otaserver_test_values", {{"kind", "nan"}}, std::numeric_limits<double>::quiet_NaN());
  w.sample("otaserver_test_values", {{"kind", "inf"}}, std::numeric_limits<double>::infinity());
  w.sample("otaserver_test_values", {{"kind", "neg_inf"}}, -std::numeric_limits<double>::infinity());
  w.sample("otaserver_test_values", {{"kind", "tiny"}}, 1.5e-9);
  w.sample("otaserver_test_values", {{"kind", "big"}}, 1e300);
  return w.take();
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

CommandResult run_promtool(const std::string& promtool, const std::string& input_path) {
  std::string command = "'" + promtool + "' check metrics < '" + input_path + "' 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return result;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST(PrometheusWriter, OutputPassesOurParserAndPromtoolWhenAvailable) {
  std::string body = sample_exposition();
  ParsedMetrics parsed = parse_ok(body);
  EXPECT_EQ(parsed.value("otaserver_test_escapes_total",
                         {{"value", "back\\slash \"quoted\"\nnewline \xC3\xA9 \xEF\xBF\xBD"}}),
            7.0);

  const char* promtool = std::getenv("OTA_PROMTOOL");
  if (promtool == nullptr || *promtool == '\0')
    GTEST_SKIP() << "set OTA_PROMTOOL to a promtool binary to check with it";
  ota::testing::TempDir dir;
  std::string good = (dir / "metrics.txt").string();
  std::ofstream(good, std::ios::binary) << body;
  CommandResult result = run_promtool(promtool, good);
  std::printf("promtool check metrics (exit %d):\n%s", result.exit_code, result.output.c_str());
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n--- body ---\n" << body;
  EXPECT_EQ(result.output, "") << "promtool's linter has complaints";

  // The same pipeline must fail on a broken body, or a passing run above would prove nothing.
  std::string bad = (dir / "bad.txt").string();
  std::ofstream(bad, std::ios::binary) << "# TYPE x_total counter\nx_total{a=\"\\t\"} 1\n";
  CommandResult rejected = run_promtool(promtool, bad);
  EXPECT_NE(rejected.exit_code, 0) << rejected.output;
}

}  // namespace
}  // namespace ota::telemetry
