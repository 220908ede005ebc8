#include "common/tar.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"

namespace ota::tar {
namespace {

void put_octal(char* field, size_t width, uint64_t value) {
  // width - 1 digits and a NUL, zero-padded.
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[width - 1] = '\0';
}

std::optional<uint64_t> get_octal(const char* field, size_t width) {
  uint64_t value = 0;
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    value = (value << 3) | static_cast<uint64_t>(field[i] - '0');
    any = true;
  }
  for (; i < width; ++i) {
    if (field[i] != '\0' && field[i] != ' ') return std::nullopt;
  }
  if (!any) return std::nullopt;
  return value;
}

uint32_t checksum(const char* header) {
  uint32_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    bool in_checksum_field = i >= 148 && i < 156;
    sum += in_checksum_field ? ' ' : static_cast<unsigned char>(header[i]);
  }
  return sum;
}

Error malformed(const std::string& what) { return Error(ErrorCode::kCorruption, "the archive is malformed: " + what); }

}  // namespace

bool safe_path(std::string_view path) {
  if (path.empty() || path.size() > 255 || path.front() == '/') return false;
  for (char c : path) {
    if (c < 0x21 || c > 0x7e || c == '\\') return false;
  }
  for (std::string_view part : split(path, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

Result<std::string> file_header(std::string_view path, uint64_t size, int64_t mtime_s, uint32_t mode) {
  if (!safe_path(path)) return invalid_argument("cannot archive the path \"" + std::string(path) + "\"");
  if (size >= (uint64_t{1} << 33))
    return invalid_argument("cannot archive a file of 8 GiB or more: " + std::string(path));
  std::string h(kBlock, '\0');
  // Names over 100 bytes go into the prefix field, split at a '/'.
  std::string_view name = path, prefix;
  if (path.size() > 100) {
    size_t cut = path.rfind('/', 155);
    if (cut == std::string_view::npos || path.size() - cut - 1 > 100) {
      return invalid_argument("the path is too long for ustar: " + std::string(path));
    }
    prefix = path.substr(0, cut);
    name = path.substr(cut + 1);
  }
  std::memcpy(&h[0], name.data(), name.size());
  put_octal(&h[100], 8, mode);
  put_octal(&h[108], 8, 0);  // uid
  put_octal(&h[116], 8, 0);  // gid
  put_octal(&h[124], 12, size);
  put_octal(&h[136], 12, static_cast<uint64_t>(std::max<int64_t>(0, mtime_s)));
  h[156] = '0';  // regular file
  std::memcpy(&h[257], "ustar", 6);
  h[263] = '0';
  h[264] = '0';
  // Only when there is one: an empty prefix has a null data(), and memcpy from null is undefined
  // even for 0 bytes (UBSan, found with tests/fuzz).
  if (!prefix.empty()) std::memcpy(&h[345], prefix.data(), prefix.size());
  uint32_t sum = checksum(h.data());
  put_octal(&h[148], 7, sum);
  h[155] = ' ';
  return h;
}

size_t padding(uint64_t size) { return static_cast<size_t>((kBlock - size % kBlock) % kBlock); }

std::string end_of_archive() { return std::string(2 * kBlock, '\0'); }

Status Reader::parse_header() {
  const char* h = header_.data();
  bool zero = std::all_of(header_.begin(), header_.end(), [](char c) { return c == '\0'; });
  if (zero) {
    state_ = State::kSecondZero;
    return ok();
  }
  auto stored = get_octal(h + 148, 8);
  if (!stored || *stored != checksum(h)) return malformed("a header checksum does not match");
  if (std::memcmp(h + 257, "ustar", 5) != 0) return malformed("not a ustar archive");
  if (h[156] != '0' && h[156] != '\0') return malformed("only regular files are accepted");
  auto size = get_octal(h + 124, 12);
  if (!size) return malformed("a header has no valid size");
  std::string name(h, strnlen(h, 100));
  std::string prefix(h + 345, strnlen(h + 345, 155));
  std::string path = prefix.empty() ? name : prefix + "/" + name;
  if (!safe_path(path)) return malformed("unsafe path \"" + path.substr(0, 100) + "\"");
  OTA_TRY(cb_.on_file(path, *size));
  remaining_ = *size;
  pad_remaining_ = padding(*size);
  state_ = State::kData;
  if (remaining_ == 0) {
    OTA_TRY(cb_.on_end());
    state_ = pad_remaining_ > 0 ? State::kPadding : State::kHeader;
  }
  return ok();
}

Status Reader::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::kHeader:
      case State::kSecondZero: {
        size_t take = std::min(bytes.size(), kBlock - header_.size());
        header_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (header_.size() < kBlock) break;
        if (state_ == State::kSecondZero) {
          if (std::any_of(header_.begin(), header_.end(), [](char c) { return c != '\0'; })) {
            return malformed("data after a zero block");
          }
          state_ = State::kDone;
        } else {
          OTA_TRY(parse_header());
        }
        header_.clear();
        break;
      }
      case State::kData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(bytes.size(), remaining_));
        OTA_TRY(cb_.on_data(bytes.substr(0, take)));
        bytes.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) {
          OTA_TRY(cb_.on_end());
          state_ = pad_remaining_ > 0 ? State::kPadding : State::kHeader;
        }
        break;
      }
      case State::kPadding: {
        size_t take = std::min(bytes.size(), pad_remaining_);
        bytes.remove_prefix(take);
        pad_remaining_ -= take;
        if (pad_remaining_ == 0) state_ = State::kHeader;
        break;
      }
      case State::kDone:
        // Trailing zero blocks (tar pads to records) are fine; anything else is not.
        if (std::any_of(bytes.begin(), bytes.end(), [](char c) { return c != '\0'; })) {
          return malformed("data after the end of the archive");
        }
        return ok();
    }
  }
  return ok();
}

}  // namespace ota::tar
