#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

namespace ota {
namespace {

Result<int> positive(int v) {
  if (v <= 0) return invalid_argument("not positive: " + std::to_string(v));
  return v;
}

Result<int> doubled(int v, int* reached_end) {
  OTA_ASSIGN_OR_RETURN(int x, positive(v));
  ++*reached_end;
  return x * 2;
}

Result<int> sum_into_existing(int a, int b) {
  int total = 0;
  OTA_ASSIGN_OR_RETURN(total, positive(a));
  OTA_ASSIGN_OR_RETURN(int second, positive(b));
  return total + second;
}

Status both_positive(int a, int b, int* reached_end) {
  OTA_TRY(positive(a));
  OTA_TRY(positive(b).context("second"));
  ++*reached_end;
  return ok();
}

Status fail_with(ErrorCode code) { return Error(code, "boom"); }

Result<std::string> via_status(ErrorCode code) {
  OTA_TRY(fail_with(code));
  return std::string("unreachable");
}

TEST(Result, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
}

TEST(Result, HoldsError) {
  Result<int> r = not_found("no such app");
  ASSERT_FALSE(r.has_value());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(), "no such app");
}

TEST(Result, ValueOrFallsBackOnlyOnError) {
  Result<std::string> good = std::string("x");
  Result<std::string> bad = internal_error("y");
  EXPECT_EQ(good.value_or("fallback"), "x");
  EXPECT_EQ(bad.value_or("fallback"), "fallback");
}

TEST(Result, ConvertsFromConstructibleValues) {
  Result<std::string> r = "literal";
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "literal");
  EXPECT_EQ(r->size(), 7u);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(Result, AssignOrReturnYieldsValueOnSuccess) {
  int reached = 0;
  Result<int> r = doubled(21, &reached);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(reached, 1);
}

TEST(Result, AssignOrReturnPropagatesErrorAndSkipsTheRest) {
  int reached = 0;
  Result<int> r = doubled(-3, &reached);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "not positive: -3");
  EXPECT_EQ(reached, 0);
}

TEST(Result, AssignOrReturnAssignsToAnExistingVariable) {
  Result<int> good = sum_into_existing(2, 3);
  ASSERT_TRUE(good) << good.error().message();
  EXPECT_EQ(*good, 5);
  Result<int> bad = sum_into_existing(2, 0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "not positive: 0");
}

TEST(Result, TryPropagatesTheFirstFailure) {
  int reached = 0;
  Status first = both_positive(0, 1, &reached);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().message(), "not positive: 0");

  Status second = both_positive(1, -1, &reached);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().message(), "second: not positive: -1");
  EXPECT_EQ(reached, 0);

  Status fine = both_positive(1, 1, &reached);
  EXPECT_TRUE(fine);
  EXPECT_EQ(reached, 1);
}

TEST(Result, TryPropagatesAStatusIntoAValueResultKeepingTheCode) {
  Result<std::string> r = via_status(ErrorCode::kNoSpace);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNoSpace);
  EXPECT_EQ(r.error().message(), "boom");
}

TEST(Result, ContextPrefixesTheFailureMessage) {
  Result<int> r = Result<int>(no_space("disk full")).context("blob store").context("publish update 1f2e");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNoSpace);
  EXPECT_EQ(r.error().message(), "publish update 1f2e: blob store: disk full");
}

TEST(Result, ContextPassesSuccessThroughUnchanged) {
  Result<std::string> r = Result<std::string>(std::string("payload")).context("ignored");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "payload");
}

TEST(ResultVoid, DefaultIsSuccess) {
  Status s;
  EXPECT_TRUE(s.has_value());
  EXPECT_TRUE(static_cast<bool>(ok()));
}

TEST(ResultVoid, HoldsErrorWithContext) {
  Status s = Status(conflict("already exists")).context("create app");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kConflict);
  EXPECT_EQ(s.error().message(), "create app: already exists");
}

TEST(ResultVoid, ContextPassesSuccessThrough) {
  Status s = ok().context("ignored");
  EXPECT_TRUE(s);
}

TEST(Error, ContextOnAnLvalueModifiesInPlace) {
  Error e = unavailable("shutting down");
  e.context("upload");
  EXPECT_EQ(e.message(), "upload: shutting down");
  EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
}

TEST(Error, HelpersSetTheirCodes) {
  EXPECT_EQ(invalid_argument("m").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(not_found("m").code(), ErrorCode::kNotFound);
  EXPECT_EQ(conflict("m").code(), ErrorCode::kConflict);
  EXPECT_EQ(internal_error("m").code(), ErrorCode::kInternal);
  EXPECT_EQ(corruption("m").code(), ErrorCode::kCorruption);
  EXPECT_EQ(no_space("m").code(), ErrorCode::kNoSpace);
  EXPECT_EQ(unavailable("m").code(), ErrorCode::kUnavailable);
}

TEST(Error, CodeNamesAreStableAndDistinct) {
  // These names are part of the JSON error bodies clients parse.
  EXPECT_STREQ(error_code_name(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_STREQ(error_code_name(ErrorCode::kNotFound), "not_found");
  EXPECT_STREQ(error_code_name(ErrorCode::kConflict), "conflict");
  EXPECT_STREQ(error_code_name(ErrorCode::kUnauthorized), "unauthorized");
  EXPECT_STREQ(error_code_name(ErrorCode::kForbidden), "forbidden");
  EXPECT_STREQ(error_code_name(ErrorCode::kTooLarge), "too_large");
  EXPECT_STREQ(error_code_name(ErrorCode::kUnsupported), "unsupported");
  EXPECT_STREQ(error_code_name(ErrorCode::kNoSpace), "no_space");
  EXPECT_STREQ(error_code_name(ErrorCode::kUnavailable), "unavailable");
  EXPECT_STREQ(error_code_name(ErrorCode::kCorruption), "corruption");
  EXPECT_STREQ(error_code_name(ErrorCode::kInternal), "internal");

  std::set<std::string> names;
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    names.insert(error_code_name(static_cast<ErrorCode>(c)));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(ErrorCode::kInternal) + 1);
}

}  // namespace
}  // namespace ota
