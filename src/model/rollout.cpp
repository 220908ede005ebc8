#include "model/rollout.h"

#include <string>

#include "crypto/digest.h"

namespace ota::model {

uint32_t rollout_bucket(std::string_view salt, std::string_view device_id) {
  std::string input(salt);
  input += ':';
  input.append(device_id);
  auto d = crypto::sha256(input);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | d.bytes[static_cast<size_t>(i)];
  return static_cast<uint32_t>(v % 10000);
}

}  // namespace ota::model
