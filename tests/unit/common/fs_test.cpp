#include "common/fs.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "support/temp_dir.h"

namespace ota {
namespace {

namespace fs = std::filesystem;

mode_t permissions_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

size_t entries_in(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(Fs, WriteFileAtomicThenReadFileRoundTrips) {
  testing::TempDir dir;
  const std::string content("binary\0content\xff\n", 16);
  Status w = write_file_atomic(dir / "f", content);
  ASSERT_TRUE(w) << w.error().message();
  Result<std::string> r = read_file(dir / "f");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, content);
}

TEST(Fs, WriteFileAtomicReplacesContentAndLeavesNoTemporaryFile) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "f", "first version, longer"));
  ASSERT_TRUE(write_file_atomic(dir / "f", "second"));
  Result<std::string> r = read_file(dir / "f");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "second");
  EXPECT_EQ(entries_in(dir.path()), 1u);
}

TEST(Fs, WriteFileAtomicAppliesTheRequestedMode) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "secret", "key", 0600));
  EXPECT_EQ(permissions_of(dir / "secret"), 0600u);
  ASSERT_TRUE(write_file_atomic(dir / "public", "text"));
  EXPECT_EQ(permissions_of(dir / "public"), 0644u);
  // Replacing a file gives it the new mode, not the old one.
  ASSERT_TRUE(write_file_atomic(dir / "public", "now secret", 0600));
  EXPECT_EQ(permissions_of(dir / "public"), 0600u);
}

TEST(Fs, WriteFileAtomicIntoMissingDirectoryFailsNamingThePath) {
  testing::TempDir dir;
  Status w = write_file_atomic(dir / "missing" / "f", "x");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(w.error().message().find((dir / "missing").string()), std::string::npos) << w.error().message();
}

TEST(Fs, ReadFileOfMissingFileIsNotFound) {
  testing::TempDir dir;
  Result<std::string> r = read_file(dir / "nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(r.error().message().find("nope"), std::string::npos) << r.error().message();
}

TEST(Fs, ReadFileOverMaxBytesIsTooLarge) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "f", "0123456789"));
  Result<std::string> at_limit = read_file(dir / "f", 10);
  ASSERT_TRUE(at_limit) << at_limit.error().message();
  EXPECT_EQ(at_limit->size(), 10u);
  Result<std::string> over = read_file(dir / "f", 9);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code(), ErrorCode::kTooLarge);
}

TEST(Fs, ReadFileOfEmptyFileIsEmpty) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "empty", ""));
  Result<std::string> r = read_file(dir / "empty");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "");
}

TEST(Fs, EnsureDirCreatesNestedDirectoriesWithMode) {
  testing::TempDir dir;
  const fs::path nested = dir / "a" / "b" / "c";
  Status s = ensure_dir(nested, 0700);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(fs::is_directory(nested));
  EXPECT_EQ(permissions_of(nested), 0700u);
  Status again = ensure_dir(nested, 0700);
  EXPECT_TRUE(again) << again.error().message();
}

TEST(Fs, EnsureDirAcceptsAnExistingDirectory) {
  testing::TempDir dir;
  Status s = ensure_dir(dir.path());
  EXPECT_TRUE(s) << s.error().message();
}

TEST(Fs, EnsureDirRefusesASymlink) {
  testing::TempDir dir;
  fs::create_directory(dir / "real");
  fs::create_directory_symlink(dir / "real", dir / "link");
  Status s = ensure_dir(dir / "link");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message().find("symbolic link"), std::string::npos) << s.error().message();
}

TEST(Fs, EnsureDirRefusesARegularFile) {
  testing::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir / "file", "x"));
  Status s = ensure_dir(dir / "file");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message().find("not a directory"), std::string::npos) << s.error().message();
  Status below = ensure_dir(dir / "file" / "sub");
  EXPECT_FALSE(below);
}

TEST(DirLock, SecondAcquireConflictsUntilTheFirstIsReleased) {
  testing::TempDir dir;
  const fs::path lock_file = dir / "LOCK";
  std::optional<Result<DirLock>> first(DirLock::acquire(lock_file));
  ASSERT_TRUE(*first) << first->error().message();

  Result<DirLock> second = DirLock::acquire(lock_file);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
  const std::string& m = second.error().message();
  EXPECT_NE(m.find("in use"), std::string::npos) << m;
  EXPECT_NE(m.find("pid " + std::to_string(::getpid())), std::string::npos) << m;
  EXPECT_NE(m.find(dir.path().string()), std::string::npos) << m;

  first.reset();
  Result<DirLock> third = DirLock::acquire(lock_file);
  EXPECT_TRUE(third) << third.error().message();
}

TEST(DirLock, MovedLockStaysHeld) {
  testing::TempDir dir;
  Result<DirLock> first = DirLock::acquire(dir / "LOCK");
  ASSERT_TRUE(first) << first.error().message();
  DirLock moved = std::move(first).value();
  Result<DirLock> second = DirLock::acquire(dir / "LOCK");
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
}

TEST(UniqueFd, ClosesOnResetAndNotAfterRelease) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    EXPECT_TRUE(fd.valid());
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);

  raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_NE(::fcntl(raw, F_GETFD), -1);
  ::close(raw);
}

TEST(ErrnoError, MapsDiskFullToNoSpaceAndNamesThePath) {
  Error full = errno_error(ENOSPC, "cannot write", "/data/x");
  EXPECT_EQ(full.code(), ErrorCode::kNoSpace);
  EXPECT_NE(full.message().find("cannot write /data/x"), std::string::npos) << full.message();
  EXPECT_EQ(errno_error(EDQUOT, "cannot write", "/data/x").code(), ErrorCode::kNoSpace);
  EXPECT_EQ(errno_error(ENOENT, "cannot open", "/data/x").code(), ErrorCode::kNotFound);
  EXPECT_EQ(errno_error(EIO, "cannot read", "/data/x").code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace ota
