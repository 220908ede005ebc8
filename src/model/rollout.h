// Percentage rollouts: which devices are "in". One rule for Expo updates, channel splits and
// native patches.
#pragma once

#include <cstdint>
#include <string_view>

namespace ota::model {

// A stable number in [0, 10000) from a rollout's salt and a device's id (EAS-Client-ID or patch
// device id): SHA-256(salt ":" id), first 8 bytes, mod 10000. A device is in a rollout of p percent
// when its bucket < p * 100, so raising p never drops a device, and rollouts with different salts
// pick independent sets of devices.
uint32_t rollout_bucket(std::string_view salt, std::string_view device_id);

inline bool in_rollout(std::string_view salt, std::string_view device_id, int percent) {
  return rollout_bucket(salt, device_id) < static_cast<uint32_t>(percent) * 100;
}

}  // namespace ota::model
