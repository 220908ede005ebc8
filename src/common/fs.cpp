#include "common/fs.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strings.h"

namespace ota {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Error errno_error(int err, std::string_view what, const std::filesystem::path& path) {
  std::string message = std::string(what) + " " + path.string() + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) {
    return no_space(message + " (free disk space, then retry)");
  }
  if (err == EACCES || err == EPERM || err == EROFS) {
    return internal_error(message + " (check the owner and permissions of the data directory)");
  }
  if (err == ENOENT) return not_found(message);
  return internal_error(message);
}

Result<std::string> read_file(const std::filesystem::path& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "cannot open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error(errno, "cannot stat", path);
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Error(ErrorCode::kTooLarge, path.string() + " is larger than " + format_bytes(max_bytes));
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(errno, "cannot read", path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Status fsync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "cannot open directory", dir);
  if (::fsync(fd.get()) != 0) return errno_error(errno, "cannot sync directory", dir);
  return ok();
}

Status fsync_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errno_error(errno, "cannot open", path);
  if (::fsync(fd.get()) != 0) return errno_error(errno, "cannot sync", path);
  return ok();
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  // pid plus a per-process counter: concurrent writers of the same path never share a temp file.
  static std::atomic<uint64_t> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return errno_error(errno, "cannot create", tmp);
  auto cleanup = [&] { ::unlink(tmp.c_str()); };
  if (::fchmod(fd.get(), mode) != 0) {
    int err = errno;
    cleanup();
    return errno_error(err, "cannot chmod", tmp);
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      cleanup();
      return errno_error(err, "cannot write", tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    int err = errno;
    cleanup();
    return errno_error(err, "cannot sync", tmp);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    cleanup();
    return errno_error(err, "cannot rename into place", path);
  }
  return fsync_dir(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

Status ensure_dir(const std::filesystem::path& dir, mode_t mode) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return invalid_argument(dir.string() + " is a symbolic link; point --data at the real directory");
    }
    if (!S_ISDIR(st.st_mode)) return invalid_argument(dir.string() + " exists and is not a directory");
    return ok();
  }
  if (errno != ENOENT) return errno_error(errno, "cannot inspect", dir);
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    OTA_TRY(ensure_dir(dir.parent_path(), 0755));
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return errno_error(errno, "cannot create", dir);
  return ok();
}

Result<DirLock> DirLock::acquire(const std::filesystem::path& lock_file) {
  UniqueFd fd(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return errno_error(errno, "cannot open lock file", lock_file);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error(errno, "cannot lock", lock_file);
    std::string holder = "another process";
    char buf[32] = {};
    ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n > 0) {
      auto pid = parse_uint(trim(std::string_view(buf, static_cast<size_t>(n))));
      if (pid) holder = "otaserver pid " + std::to_string(*pid);
    }
    return conflict("the data directory " + lock_file.parent_path().string() + " is in use by " + holder +
                    "; stop that server first, or pass --data with another directory");
  }
  // Record our pid for the message above; the lock itself, not this content, is what counts.
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd.get(), 0) == 0) {
    [[maybe_unused]] ssize_t ignored = ::pwrite(fd.get(), pid.data(), pid.size(), 0);
  }
  return DirLock(std::move(fd));
}

}  // namespace ota
