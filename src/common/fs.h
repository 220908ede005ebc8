// File-system helpers: an owning fd, whole-file reads, crash-safe writes, and the data-dir lock.
// Every function returns an Error whose message names the path and the system's reason; ENOSPC
// and EDQUOT map to ErrorCode::kNoSpace so callers can answer 507.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "common/result.h"

namespace ota {

// Move-only owner of a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Turns errno into an Error: "<what> <path>: <strerror>".
Error errno_error(int err, std::string_view what, const std::filesystem::path& path);

Result<std::string> read_file(const std::filesystem::path& path, size_t max_bytes = 64u << 20);

// Writes to a temporary file in the same directory, fsyncs it, renames it over `path` and fsyncs
// the directory: after a crash the file holds either the old or the new content, never a mix.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode = 0644);

Status fsync_dir(const std::filesystem::path& dir);
// fsyncs a file's content.
Status fsync_file(const std::filesystem::path& path);

// Creates `dir` (and parents) with `mode` if missing; refuses a symlink or a non-directory.
Status ensure_dir(const std::filesystem::path& dir, mode_t mode = 0750);

// An exclusive advisory lock (flock) on a file, held until destruction. Used so that two
// processes never open the same data dir; the lock dies with the process, even on kill -9.
class DirLock {
 public:
  // Fails with kConflict naming the holder's pid when another process holds the lock.
  static Result<DirLock> acquire(const std::filesystem::path& lock_file);

  DirLock(DirLock&&) = default;
  DirLock& operator=(DirLock&&) = default;

 private:
  explicit DirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace ota
