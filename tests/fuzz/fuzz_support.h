// Shared by the libFuzzer targets in tests/fuzz: property checks that abort (so libFuzzer records
// the input as a crash), and the fixed secrets stateful targets build their keys from, so a
// corpus entry means the same thing in every run and on every machine.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// A property the parser promises. A violation aborts with the condition and where it failed.
#define FUZZ_CHECK(cond)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "fuzz property violated: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace ota::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits a target's input into `n` newline-separated fields, the last one holding the rest
// (newlines included); missing fields are empty. Seeds stay readable text files this way.
inline std::vector<std::string_view> fields(std::string_view in, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    const size_t nl = in.find('\n');
    out.push_back(in.substr(0, nl));
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  }
  out.push_back(in);
  return out;
}

// The server secret (what secret.key holds) of every stateful target: 32 fixed bytes.
inline constexpr std::string_view kServerSecret = "otaserver-fuzz-secret-32-bytes!!";
static_assert(kServerSecret.size() == 32);

// "Now" for every target that checks expiry: 2027-01-15T08:00:00Z.
inline constexpr int64_t kNowMs = 1'800'000'000'000;

}  // namespace ota::fuzz
