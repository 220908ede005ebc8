// make_bsdiff and apply_bsdiff, checked against each other and against Debian's bsdiff/bspatch
// (an implementation independent of ours; what clients run is another one again, so agreeing with
// a second reader matters more than round-tripping through our own).
#include "delta/bsdiff.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "delta/bspatch.h"
#include "support/temp_dir.h"

namespace ota::delta {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxOut = size_t{64} << 20;
constexpr const char* kDebianBsdiff = "/usr/bin/bsdiff";
constexpr const char* kDebianBspatch = "/usr/bin/bspatch";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Exit status of a shell command; temp paths have no quotes or spaces in them.
int run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void require_debian_tools() {
  ASSERT_TRUE(fs::exists(kDebianBsdiff) && fs::exists(kDebianBspatch))
      << "Debian's bsdiff package is missing: run `bash dev/deps.sh --test` (apt-get install bsdiff)";
}

// Debian's bspatch applied to our patch.
std::string debian_apply(std::string_view base, std::string_view patch) {
  testing::TempDir dir;
  write_file(dir / "base", base);
  write_file(dir / "patch", patch);
  std::string cmd = std::string(kDebianBspatch) + " '" + (dir / "base").string() + "' '" + (dir / "out").string() +
                    "' '" + (dir / "patch").string() + "' 2>&1";
  EXPECT_EQ(run(cmd), 0) << "Debian's bspatch refused our patch";
  return read_file(dir / "out");
}

// Debian's bsdiff's patch from base to target.
std::string debian_diff(std::string_view base, std::string_view target) {
  testing::TempDir dir;
  write_file(dir / "base", base);
  write_file(dir / "target", target);
  std::string cmd = std::string(kDebianBsdiff) + " '" + (dir / "base").string() + "' '" + (dir / "target").string() +
                    "' '" + (dir / "patch").string() + "' 2>&1";
  EXPECT_EQ(run(cmd), 0);
  return read_file(dir / "patch");
}

// Compares without printing megabytes on failure.
::testing::AssertionResult same_bytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return ::testing::AssertionFailure() << "got " << got.size() << " bytes, want " << want.size()
                                       << "; first difference at byte " << i;
}

// Makes the patch, applies it with ours and with Debian's bspatch, and returns it.
std::string check_round_trip(const std::string& base, const std::string& target) {
  auto patch = make_bsdiff(base, target);
  EXPECT_TRUE(patch.has_value()) << patch.error().message();
  if (!patch) return {};
  auto ours = apply_bsdiff(base, *patch, kMaxOut);
  EXPECT_TRUE(ours.has_value()) << ours.error().message();
  if (ours) {
    EXPECT_TRUE(same_bytes(*ours, target)) << "our bspatch";
  }
  EXPECT_TRUE(same_bytes(debian_apply(base, *patch), target)) << "Debian's bspatch";
  return *patch;
}

std::string random_bytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Something like a new build of the same program: small edits, an insertion, a deletion, a
// moved block and a run of changed constants.
std::string mutate(std::mt19937_64& rng, std::string s) {
  for (int i = 0; i < 200; ++i) s[rng() % s.size()] = static_cast<char>(rng() & 0xff);
  s.insert(s.size() / 3, random_bytes(rng, 1000));
  s.erase(s.size() / 2, 700);
  std::string moved = s.substr(s.size() / 5, 4000);
  s.erase(s.size() / 5, 4000);
  s.insert(4 * s.size() / 5, moved);
  for (size_t i = s.size() / 10; i < s.size() / 10 + 5000; i += 17) s[i] = static_cast<char>(s[i] + 3);
  return s;
}

// Encodes triples the way the format does, for hand-made patches.
std::string control(const std::vector<std::array<int64_t, 3>>& triples) {
  std::string out(triples.size() * 24, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  for (const auto& t : triples) {
    for (int64_t v : t) {
      detail::encode_offset(v, p);
      p += 8;
    }
  }
  return out;
}

std::string hand_patch(const std::vector<std::array<int64_t, 3>>& triples, std::string_view diff,
                       std::string_view extra, int64_t new_size) {
  auto patch = detail::assemble_patch(control(triples), diff, extra, new_size);
  EXPECT_TRUE(patch.has_value());
  return patch ? *patch : std::string();
}

void set_header(std::string& patch, size_t at, int64_t value) {
  detail::encode_offset(value, reinterpret_cast<unsigned char*>(patch.data() + at));
}

int64_t header(const std::string& patch, size_t at) {
  return detail::decode_offset(reinterpret_cast<const unsigned char*>(patch.data() + at));
}

// Asserts a refusal, not a crash, and that the message names the problem.
void expect_refused(std::string_view base, std::string_view patch, std::string_view says) {
  auto r = apply_bsdiff(base, patch, kMaxOut);
  ASSERT_FALSE(r.has_value()) << "accepted a bad patch";
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find(says), std::string::npos) << r.error().message();
}

TEST(OffsetCoding, IsSignMagnitudeLittleEndian) {
  unsigned char b[8];
  detail::encode_offset(1, b);
  EXPECT_EQ(std::vector<unsigned char>(b, b + 8), (std::vector<unsigned char>{1, 0, 0, 0, 0, 0, 0, 0}));
  detail::encode_offset(-1, b);
  EXPECT_EQ(std::vector<unsigned char>(b, b + 8), (std::vector<unsigned char>{1, 0, 0, 0, 0, 0, 0, 0x80}));
  detail::encode_offset(0x0102030405, b);
  EXPECT_EQ(std::vector<unsigned char>(b, b + 8), (std::vector<unsigned char>{5, 4, 3, 2, 1, 0, 0, 0}));
  for (int64_t v : {int64_t{0}, int64_t{-7}, int64_t{1} << 40, -(int64_t{1} << 62), INT64_MAX, -INT64_MAX}) {
    detail::encode_offset(v, b);
    EXPECT_EQ(detail::decode_offset(b), v);
  }
  const unsigned char negative_zero[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};
  EXPECT_EQ(detail::decode_offset(negative_zero), 0);
}

TEST(Bsdiff, PatchStartsWithTheClassicHeader) {
  auto patch = make_bsdiff("hello world", "hello, world!");
  ASSERT_TRUE(patch.has_value());
  ASSERT_GE(patch->size(), 32u);
  EXPECT_EQ(patch->substr(0, 8), "BSDIFF40");
  EXPECT_EQ(header(*patch, 24), 13);
  EXPECT_EQ(32 + header(*patch, 8) + header(*patch, 16) < static_cast<int64_t>(patch->size()), true);
  EXPECT_EQ(patch->substr(32, 3), "BZh");  // a bzip2 stream, block size 9 next
  EXPECT_EQ((*patch)[35], '9');
}

TEST(Bsdiff, EmptyAndTinyInputsRoundTrip) {
  require_debian_tools();
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"", ""},
      {"", "a"},
      {"a", ""},
      {"a", "a"},
      {"a", "b"},
      {"abc", "abd"},
      {"abc", "xabcx"},
      {"xyz", "abc"},
      {std::string(1, '\0'), std::string(3, '\0')},
      {"aaaa", "aaaaaaaaaaaa"},
      {"hello world", "hello, world!"},
  };
  for (const auto& [base, target] : pairs) {
    SCOPED_TRACE("base '" + base + "' target '" + target + "'");
    check_round_trip(base, target);
  }
}

TEST(Bsdiff, UnrelatedRandomInputsRoundTrip) {
  require_debian_tools();
  std::mt19937_64 rng(42);
  for (size_t n : {1u, 7u, 100u, 4096u, 100000u}) {
    SCOPED_TRACE(n);
    std::string base = random_bytes(rng, n);
    std::string target = random_bytes(rng, n + n / 3);
    check_round_trip(base, target);
  }
}

TEST(Bsdiff, SimilarInputsGiveSmallPatches) {
  require_debian_tools();
  std::mt19937_64 rng(7);
  // Code-like bytes: a small alphabet with repeats, so there are many partial matches to choose from.
  std::string base(300000, '\0');
  for (char& c : base) c = "    {}();=abcdefxyz0123\n"[rng() % 24];
  std::string target = mutate(rng, base);
  std::string patch = check_round_trip(base, target);
  EXPECT_LT(patch.size(), target.size() / 10) << "a few KB of edits should not need " << patch.size() << " bytes";
  // And the other way round.
  check_round_trip(target, base);
}

TEST(Bsdiff, RepetitiveInputsRoundTrip) {
  require_debian_tools();
  std::string zeros(200000, '\0');
  std::string zeros_with_holes = zeros;
  for (size_t i = 0; i < zeros_with_holes.size(); i += 997) zeros_with_holes[i] = 'x';
  check_round_trip(zeros, zeros_with_holes);
  check_round_trip(zeros_with_holes, zeros);
  std::string periodic;
  for (int i = 0; i < 200000; ++i) periodic += "abcdefgh"[i % 8];
  std::string shifted = "ab" + periodic.substr(0, 70000) + "Q" + periodic.substr(70000);
  check_round_trip(periodic, shifted);
}

// A base holding two near-copies of the target: every position has a long match that is not
// enough better than the alignment in use. Classic bsdiff searches again at every byte, which is
// quadratic (this case took Debian's bsdiff over 5 minutes, ours 100 s before the skip); now it
// takes well under a second, and ctest's timeout catches a regression.
TEST(Bsdiff, NearCopiesInTheBaseStayFast) {
  require_debian_tools();
  std::mt19937_64 rng(17);
  std::string a = random_bytes(rng, 1600000);
  std::string b = a;
  for (int k = 1; k <= 5; ++k) b[static_cast<size_t>(k) * b.size() / 6] ^= 1;
  std::string patch = check_round_trip(a + b, b);
  EXPECT_LT(patch.size(), 1000u);
}

TEST(Bsdiff, IsDeterministic) {
  std::mt19937_64 rng(99);
  std::string base = random_bytes(rng, 50000);
  std::string target = mutate(rng, base);
  auto a = make_bsdiff(base, target);
  auto b = make_bsdiff(std::string(base), std::string(target));  // other buffers, same bytes
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(same_bytes(*a, *b));
}

TEST(Bsdiff, RefusesInputsOverTheCap) {
  std::string big(kMaxDiffInput + 1, 'a');
  auto r = make_bsdiff(big, "a");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kTooLarge);
  EXPECT_NE(r.error().message().find("base"), std::string::npos);
  r = make_bsdiff("a", big);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kTooLarge);
  EXPECT_NE(r.error().message().find("target"), std::string::npos);
}

TEST(Bspatch, AppliesDebianBsdiffPatches) {
  require_debian_tools();
  std::mt19937_64 rng(3);
  std::string code(100000, '\0');
  for (char& c : code) c = "  ;=(){}abcxyz0129\n"[rng() % 19];
  // No empty files: Debian's bsdiff cannot mmap them.
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"a", "b"},
      {"abc", "abc"},
      {"hello world", "hello, world!"},
      {code, mutate(rng, code)},
      {random_bytes(rng, 5000), random_bytes(rng, 6000)},
  };
  for (const auto& [base, target] : pairs) {
    SCOPED_TRACE(std::to_string(base.size()) + " -> " + std::to_string(target.size()));
    std::string patch = debian_diff(base, target);
    auto out = apply_bsdiff(base, patch, kMaxOut);
    ASSERT_TRUE(out.has_value()) << out.error().message();
    EXPECT_TRUE(same_bytes(*out, target));
  }
}

// The real case: two consecutive `expo export`s of one app (Hermes bytecode, ~1.4 MB).
TEST(Bsdiff, FixtureBundlesUpdate1ToUpdate2) {
  require_debian_tools();
  auto bundle = [](const std::string& update, const std::string& platform) {
    fs::path dir = fs::path(OTA_FIXTURE_DIR) / update / "_expo/static/js" / platform;
    for (const auto& e : fs::directory_iterator(dir)) return read_file(e.path());
    return std::string();
  };
  for (const char* platform : {"ios", "android"}) {
    SCOPED_TRACE(platform);
    std::string base = bundle("update1", platform);
    std::string target = bundle("update2", platform);
    ASSERT_GT(base.size(), 1000000u);
    ASSERT_GT(target.size(), 1000000u);
    ASSERT_NE(base, target);
    std::string patch = check_round_trip(base, target);
    std::string theirs = debian_diff(base, target);
    // Same method, so the same ballpark as Debian's bsdiff (~110 KB for iOS).
    EXPECT_LT(patch.size(), theirs.size() + theirs.size() / 5)
        << "ours " << patch.size() << ", Debian's " << theirs.size();
    std::printf("[ fixture  ] %s: %zu -> %zu bytes, patch %zu (Debian's bsdiff %zu)\n", platform, base.size(),
                target.size(), patch.size(), theirs.size());
  }
}

// --- hostile patches: refused with a reason, never a crash or an over-read.

class HostilePatch : public ::testing::Test {
 protected:
  std::string base_ = "0123456789abcdef";
};

TEST_F(HostilePatch, BadMagicAndShortHeaderAreRefused) {
  std::string good = hand_patch({{4, 0, 0}}, std::string(4, '\0'), "", 4);
  ASSERT_TRUE(apply_bsdiff(base_, good, kMaxOut).has_value());
  std::string bad = good;
  bad[7] = '1';  // BSDIFF41
  expect_refused(base_, bad, "BSDIFF40");
  expect_refused(base_, "", "shorter than");
  expect_refused(base_, good.substr(0, 31), "shorter than");
  expect_refused(base_, "BSDIFF40", "shorter than");
}

TEST_F(HostilePatch, NegativeOrImpossibleHeaderLengthsAreRefused) {
  std::string good = hand_patch({{4, 0, 0}}, std::string(4, '\0'), "", 4);
  for (size_t at : {8u, 16u, 24u}) {
    std::string bad = good;
    set_header(bad, at, -1);
    expect_refused(base_, bad, "negative");
  }
  std::string bad = good;
  set_header(bad, 8, static_cast<int64_t>(good.size()));
  expect_refused(base_, bad, "add up to more");
  bad = good;
  set_header(bad, 16, INT64_MAX);
  expect_refused(base_, bad, "add up to more");
  bad = good;
  set_header(bad, 8, INT64_MAX);
  set_header(bad, 16, INT64_MAX);  // would wrap if added naively
  expect_refused(base_, bad, "add up to more");
}

TEST_F(HostilePatch, OutputOverTheLimitIsTooLarge) {
  std::string patch = hand_patch({{4, 0, 0}}, std::string(4, '\0'), "", 4);
  auto r = apply_bsdiff(base_, patch, 3);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kTooLarge);
  set_header(patch, 24, INT64_MAX);  // never allocated
  r = apply_bsdiff(base_, patch, kMaxOut);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kTooLarge);
}

TEST_F(HostilePatch, NegativeControlLengthsAreRefused) {
  expect_refused(base_, hand_patch({{-1, 5, 0}}, "", "abcd", 4), "negative length");
  expect_refused(base_, hand_patch({{0, -4, 0}}, "", "abcd", 4), "negative length");
}

TEST_F(HostilePatch, LengthsBeyondTheHeadersTargetSizeAreRefused) {
  expect_refused(base_, hand_patch({{5, 0, 0}}, std::string(5, '\0'), "", 4), "adds past the target size");
  expect_refused(base_, hand_patch({{2, 3, 0}}, std::string(2, '\0'), "xyz", 4), "inserts past the target size");
  expect_refused(base_, hand_patch({{0, INT64_MAX, 0}}, "", "x", 4), "inserts past the target size");
}

TEST_F(HostilePatch, ControlEntriesOutsideTheBaseAreRefused) {
  expect_refused(base_, hand_patch({{17, 0, 0}}, std::string(17, '\0'), "", 17), "beyond the end of the base");
  expect_refused(base_, hand_patch({{2, 0, -3}, {2, 0, 0}}, std::string(4, '\0'), "", 4), "seeks outside the base");
  expect_refused(base_, hand_patch({{2, 0, 15}, {2, 0, 0}}, std::string(4, '\0'), "", 4), "seeks outside the base");
  expect_refused(base_, hand_patch({{2, 0, -INT64_MAX}, {2, 0, 0}}, std::string(4, '\0'), "", 4), "seeks outside");
  expect_refused(base_, hand_patch({{2, 0, INT64_MAX}, {2, 0, 0}}, std::string(4, '\0'), "", 4), "seeks outside");
  // After a seek to the very end (allowed), adding even one byte reads past it.
  expect_refused(base_, hand_patch({{0, 1, 16}, {1, 0, 0}}, std::string(1, '\0'), "x", 2), "beyond the end");
  // Seeking to exactly the end and exactly the start is fine.
  auto ok = apply_bsdiff(base_, hand_patch({{0, 1, 16}, {0, 1, -16}, {2, 0, 0}}, std::string(2, '\0'), "xy", 4), 4);
  ASSERT_TRUE(ok.has_value()) << ok.error().message();
  EXPECT_EQ(*ok, "xy01");
}

TEST_F(HostilePatch, TruncatedOrMissingBlockDataIsRefused) {
  // Control entries that need more diff or extra bytes, or more entries, than the blocks hold.
  expect_refused(base_, hand_patch({{4, 0, 0}}, std::string(3, '\0'), "", 4), "diff block ends before");
  expect_refused(base_, hand_patch({{0, 4, 0}}, "", "abc", 4), "extra block ends before");
  expect_refused(base_, hand_patch({{2, 0, 0}}, std::string(2, '\0'), "", 4), "control block ends before");
  // A bzip2 stream cut short: every proper prefix of a real patch is refused.
  std::mt19937_64 rng(5);
  std::string base = random_bytes(rng, 3000);
  std::string target = mutate(rng, base + base);
  auto patch = make_bsdiff(base, target);
  ASSERT_TRUE(patch.has_value());
  for (size_t n = 0; n < patch->size(); ++n) {
    auto r = apply_bsdiff(base, std::string_view(*patch).substr(0, n), kMaxOut);
    ASSERT_FALSE(r.has_value()) << "a patch cut to " << n << " of " << patch->size() << " bytes was accepted";
  }
  // Each block cut inside its stream, with the header made consistent again.
  const int64_t ctrl_len = header(*patch, 8);
  const int64_t diff_len = header(*patch, 16);
  std::string cut = patch->substr(0, 32 + ctrl_len - 4) + patch->substr(32 + ctrl_len);
  set_header(cut, 8, ctrl_len - 4);
  expect_refused(base, cut, "control block");
  cut = patch->substr(0, 32 + ctrl_len + diff_len - 4) + patch->substr(32 + ctrl_len + diff_len);
  set_header(cut, 16, diff_len - 4);
  expect_refused(base, cut, "diff block");
}

TEST_F(HostilePatch, LeftoverDataIsRefused) {
  std::string diff4(4, '\0');
  expect_refused(base_, hand_patch({{4, 0, 0}, {1, 0, 0}}, diff4, "", 4), "control block holds more");
  expect_refused(base_, hand_patch({{4, 0, 0}}, diff4 + "x", "", 4), "diff block holds more");
  expect_refused(base_, hand_patch({{4, 0, 0}}, diff4, "x", 4), "extra block holds more");
  expect_refused(base_, hand_patch({{4, 0, 0}}, diff4, "", 4) + "junk", "bytes after its bzip2 stream");
}

TEST_F(HostilePatch, ControlBlockOfEmptyEntriesIsBounded) {
  // A million entries that make nothing (cheap to compress) must not be walked.
  std::vector<std::array<int64_t, 3>> empties(1000000, {0, 0, 0});
  empties.push_back({4, 0, 0});
  expect_refused(base_, hand_patch(empties, std::string(4, '\0'), "", 4), "more control entries than target bytes");
}

TEST_F(HostilePatch, GarbageAndBitFlipsNeverCrash) {
  std::mt19937_64 rng(11);
  std::string base = random_bytes(rng, 4000);
  std::string target = mutate(rng, base + base);
  auto patch = make_bsdiff(base, target);
  ASSERT_TRUE(patch.has_value());
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = *patch;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] ^= static_cast<char>(1u << (rng() % 8));
    auto r = apply_bsdiff(base, bad, 1 << 20);
    if (r) {
      ++accepted;
      EXPECT_LE(r->size(), size_t{1} << 20);
    }
  }
  for (int i = 0; i < 300; ++i) {
    std::string junk = "BSDIFF40" + random_bytes(rng, 24 + rng() % 2000);
    auto r = apply_bsdiff(base, junk, 1 << 20);
    EXPECT_FALSE(r.has_value());
  }
  // bzip2's CRCs catch flipped block bytes; flips that survive are in unused header bits.
  EXPECT_LT(accepted, 100);
}

}  // namespace
}  // namespace ota::delta
