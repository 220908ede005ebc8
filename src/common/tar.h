// A minimal POSIX ustar codec for backups streamed over HTTP: regular files only, relative paths
// without "..", sizes below 8 GiB. `tar tvf` and `tar xf` read what the writer makes; the reader
// refuses anything else (links, devices, absolute or escaping paths), so extracting an archive
// from a server can never write outside its target directory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ota::tar {

inline constexpr size_t kBlock = 512;

// The 512-byte header of a regular file; kInvalidArgument for a path the reader would refuse.
Result<std::string> file_header(std::string_view path, uint64_t size, int64_t mtime_s, uint32_t mode = 0600);
// Zero bytes that pad `size` to a whole block.
size_t padding(uint64_t size);
// Two zero blocks: the end of the archive.
std::string end_of_archive();
// The archive size of `size` bytes of content (header + content + padding).
inline uint64_t entry_size(uint64_t size) { return kBlock + size + padding(size); }

// A streaming reader: feed() the archive in pieces of any size. Calls `on_file` when a file
// starts, `on_data` with its content in pieces, `on_end` when it is complete. Errors stop it.
class Reader {
 public:
  struct Callbacks {
    std::function<Status(const std::string& path, uint64_t size)> on_file;
    std::function<Status(std::string_view data)> on_data;
    std::function<Status()> on_end;
  };
  explicit Reader(Callbacks callbacks) : cb_(std::move(callbacks)) {}

  Status feed(std::string_view bytes);
  // True once the end-of-archive blocks were read.
  bool finished() const { return state_ == State::kDone; }

 private:
  enum class State { kHeader, kData, kPadding, kSecondZero, kDone };
  Status parse_header();

  Callbacks cb_;
  State state_ = State::kHeader;
  std::string header_;
  uint64_t remaining_ = 0;
  size_t pad_remaining_ = 0;
};

// Checks a path an archive may hold: relative, '/'-separated, no "..", ".", or empty parts,
// printable ASCII, at most 255 bytes.
bool safe_path(std::string_view path);

}  // namespace ota::tar
