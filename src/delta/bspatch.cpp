#include "delta/bspatch.h"

#include <bzlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "delta/bsdiff.h"

namespace ota::delta {

namespace {

constexpr size_t kHeaderSize = 32;
constexpr size_t kBzChunk = size_t{1} << 30;  // bzip2 counts in unsigned int

Error damaged(const std::string& what) {
  return invalid_argument("BSDIFF40 patch: " + what +
                          "; the patch is damaged or not a BSDIFF40 patch: make it again from the base and target");
}

// One of the patch's three bzip2 blocks, decompressed on demand so that nothing but the output
// buffer grows with the patch's claims.
class BlockReader {
 public:
  BlockReader(std::string_view compressed, const char* name) : compressed_(compressed), name_(name) {}
  ~BlockReader() {
    if (open_) BZ2_bzDecompressEnd(&stream_);
  }
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  Status open() {
    if (BZ2_bzDecompressInit(&stream_, 0, 0) != BZ_OK) {
      return internal_error("bzip2 could not start a decoder (out of memory?); try again");
    }
    open_ = true;
    // bzip2 only reads through next_in; the API predates const. Block lengths are below the
    // patch size, but a patch over 4 GiB would not fit in avail_in: refuse rather than wrap.
    if (compressed_.size() > kBzChunk) return damaged(std::string("the ") + name_ + " block is over 1 GiB");
    stream_.next_in = const_cast<char*>(compressed_.data());
    stream_.avail_in = static_cast<unsigned>(compressed_.size());
    return ok();
  }

  // Exactly n bytes into dst, or an error.
  Status read(unsigned char* dst, size_t n) {
    while (n > 0) {
      if (ended_) return damaged(std::string("the ") + name_ + " block ends before the bytes the control block needs");
      size_t want = std::min(n, kBzChunk);
      unsigned in_before = stream_.avail_in;
      stream_.next_out = reinterpret_cast<char*>(dst);
      stream_.avail_out = static_cast<unsigned>(want);
      int rc = BZ2_bzDecompress(&stream_);
      size_t got = want - stream_.avail_out;
      dst += got;
      n -= got;
      if (rc == BZ_STREAM_END) {
        ended_ = true;
      } else if (rc != BZ_OK) {
        return damaged(std::string("the ") + name_ + " block is not valid bzip2 (bzip2 error " + std::to_string(rc) +
                       ")");
      } else if (got == 0 && stream_.avail_in == in_before) {
        return damaged(std::string("the ") + name_ + " block is truncated");
      }
    }
    return ok();
  }

  // The stream must end here, with no compressed bytes after it.
  Status expect_end() {
    while (!ended_) {
      unsigned char probe = 0;
      unsigned in_before = stream_.avail_in;
      stream_.next_out = reinterpret_cast<char*>(&probe);
      stream_.avail_out = 1;
      int rc = BZ2_bzDecompress(&stream_);
      if (stream_.avail_out == 0) {
        return damaged(std::string("the ") + name_ + " block holds more bytes than the control block uses");
      }
      if (rc == BZ_STREAM_END) {
        ended_ = true;
      } else if (rc != BZ_OK) {
        return damaged(std::string("the ") + name_ + " block is not valid bzip2 (bzip2 error " + std::to_string(rc) +
                       ")");
      } else if (stream_.avail_in == in_before) {
        return damaged(std::string("the ") + name_ + " block is truncated (its bzip2 stream has no end)");
      }
    }
    if (stream_.avail_in != 0) {
      return damaged(std::string("the ") + name_ + " block has " + std::to_string(stream_.avail_in) +
                     " bytes after its bzip2 stream");
    }
    return ok();
  }

 private:
  std::string_view compressed_;
  const char* name_;
  bz_stream stream_{};
  bool open_ = false;
  bool ended_ = false;
};

int64_t offset_at(std::string_view bytes, size_t at) {
  return detail::decode_offset(reinterpret_cast<const unsigned char*>(bytes.data() + at));
}

}  // namespace

Result<std::string> apply_bsdiff(std::string_view base, std::string_view patch, size_t max_output) {
  if (patch.size() < kHeaderSize) {
    return damaged("it is " + std::to_string(patch.size()) + " bytes, shorter than the 32-byte header");
  }
  if (patch.substr(0, 8) != "BSDIFF40") return damaged("it does not start with BSDIFF40");
  const int64_t ctrl_len = offset_at(patch, 8);
  const int64_t diff_len = offset_at(patch, 16);
  const int64_t new_size = offset_at(patch, 24);
  if (ctrl_len < 0 || diff_len < 0 || new_size < 0) return damaged("the header holds a negative length");
  const uint64_t body = patch.size() - kHeaderSize;
  if (static_cast<uint64_t>(ctrl_len) > body ||
      static_cast<uint64_t>(diff_len) > body - static_cast<uint64_t>(ctrl_len)) {
    return damaged("the header's block lengths add up to more than the " + std::to_string(body) + " bytes after it");
  }
  if (static_cast<uint64_t>(new_size) > max_output) {
    return Error(ErrorCode::kTooLarge, "BSDIFF40 patch: it makes " + std::to_string(new_size) +
                                           " bytes, over the limit of " + std::to_string(max_output) +
                                           "; raise the limit if the file is really that large");
  }

  const auto ctrl_size = static_cast<size_t>(ctrl_len);
  const auto diff_size = static_cast<size_t>(diff_len);
  BlockReader ctrl(patch.substr(kHeaderSize, ctrl_size), "control");
  BlockReader diff(patch.substr(kHeaderSize + ctrl_size, diff_size), "diff");
  BlockReader extra(patch.substr(kHeaderSize + ctrl_size + diff_size), "extra");
  OTA_TRY(ctrl.open());
  OTA_TRY(diff.open());
  OTA_TRY(extra.open());

  const auto* old = reinterpret_cast<const unsigned char*>(base.data());
  const auto old_size = static_cast<int64_t>(base.size());
  std::string out(static_cast<size_t>(new_size), '\0');
  auto* fresh = reinterpret_cast<unsigned char*>(out.data());
  int64_t old_pos = 0;  // kept within [0, old_size]
  int64_t new_pos = 0;  // kept within [0, new_size]
  int64_t entries = 0;
  auto entry_error = [&](const char* what) { return damaged("control entry " + std::to_string(entries) + what); };
  while (new_pos < new_size) {
    ++entries;
    if (entries > new_size + 1) return damaged("it has more control entries than target bytes");
    unsigned char triple[24];
    OTA_TRY(ctrl.read(triple, sizeof triple));
    const int64_t add = detail::decode_offset(triple);
    const int64_t insert = detail::decode_offset(triple + 8);
    const int64_t seek = detail::decode_offset(triple + 16);
    if (add < 0 || insert < 0) return entry_error(" has a negative length");
    if (add > new_size - new_pos) return entry_error(" adds past the target size in the header");
    if (add > old_size - old_pos) return entry_error(" adds from beyond the end of the base");
    OTA_TRY(diff.read(fresh + new_pos, static_cast<size_t>(add)));
    for (int64_t i = 0; i < add; ++i)
      fresh[new_pos + i] = static_cast<unsigned char>(fresh[new_pos + i] + old[old_pos + i]);
    new_pos += add;
    old_pos += add;
    if (insert > new_size - new_pos) return entry_error(" inserts past the target size in the header");
    OTA_TRY(extra.read(fresh + new_pos, static_cast<size_t>(insert)));
    new_pos += insert;
    if (seek < -old_pos || seek > old_size - old_pos) return entry_error(" seeks outside the base");
    old_pos += seek;
  }
  OTA_TRY(ctrl.expect_end());
  OTA_TRY(diff.expect_end());
  OTA_TRY(extra.expect_end());
  return out;
}

}  // namespace ota::delta
