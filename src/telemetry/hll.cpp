#include "telemetry/hll.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace ota::telemetry {
namespace {

// FNV-1a, then MurmurHash3's 64-bit finalizer: FNV alone leaves the high bits (the register
// index) poorly mixed for short ids that differ in their last characters. Stable across builds
// and machines, so stored sketches stay mergeable.
uint64_t hash64(std::string_view s) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

void DeviceSketch::add(std::string_view device_id) noexcept {
  uint64_t h = hash64(device_id);
  size_t index = h >> (64 - kPrecision);
  uint64_t rest = (h << kPrecision) | (uint64_t{1} << (kPrecision - 1));  // sentinel bounds the rank
  auto rank = static_cast<uint8_t>(std::countl_zero(rest) + 1);
  registers_[index] = std::max(registers_[index], rank);
  empty_ = false;
}

void DeviceSketch::merge(const DeviceSketch& other) noexcept {
  if (other.empty_) return;
  for (size_t i = 0; i < kRegisters; ++i) registers_[i] = std::max(registers_[i], other.registers_[i]);
  empty_ = false;
}

bool DeviceSketch::merge_serialized(std::string_view bytes) noexcept {
  if (bytes.size() != kRegisters) return false;
  for (size_t i = 0; i < kRegisters; ++i) {
    auto r = static_cast<uint8_t>(bytes[i]);
    if (r > 64 - kPrecision + 1) return false;
  }
  for (size_t i = 0; i < kRegisters; ++i) registers_[i] = std::max(registers_[i], static_cast<uint8_t>(bytes[i]));
  empty_ = false;
  return true;
}

double DeviceSketch::estimate() const noexcept {
  if (empty_) return 0;
  constexpr double m = kRegisters;
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -static_cast<int>(r));
    if (r == 0) ++zeros;
  }
  double alpha = 0.7213 / (1.0 + 1.079 / m);
  double raw = alpha * m * m / sum;
  // Small cardinalities: linear counting over the empty registers is far more accurate.
  if (raw <= 2.5 * m && zeros > 0) return m * std::log(m / static_cast<double>(zeros));
  return raw;
}

std::string DeviceSketch::serialize() const {
  return std::string(reinterpret_cast<const char*>(registers_.data()), registers_.size());
}

double estimate_serialized(std::string_view bytes) {
  DeviceSketch s;
  if (!s.merge_serialized(bytes)) return 0;
  return s.estimate();
}

}  // namespace ota::telemetry
