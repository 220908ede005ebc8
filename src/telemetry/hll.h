// A HyperLogLog sketch of distinct device ids: 2^11 one-byte registers (2 KiB), standard error
// about 2.3%, exact-ish below a few hundred through linear counting. Sketches merge by taking the
// larger register, so counts from many batches, days or processes combine without keeping ids.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ota::telemetry {

class DeviceSketch {
 public:
  static constexpr int kPrecision = 11;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;

  void add(std::string_view device_id) noexcept;
  void merge(const DeviceSketch& other) noexcept;
  // Merges a serialized sketch; false (and no change) if `bytes` is not one.
  bool merge_serialized(std::string_view bytes) noexcept;
  double estimate() const noexcept;
  bool empty() const noexcept { return empty_; }
  std::string serialize() const;

 private:
  std::array<uint8_t, kRegisters> registers_{};
  bool empty_ = true;
};

// The estimate of a serialized sketch (0 for anything that is not one).
double estimate_serialized(std::string_view bytes);

}  // namespace ota::telemetry
