// GET /api/v1/backup: a consistent backup of the running server, streamed as a tar archive, so
// `otaserver backup` works against a server that owns the stores (RocksDB allows one process)
// and whose filesystem the operator may not reach (a sandboxed unit, another machine).
//
// The backup is first written beside the data (hard links for the blob checkpoint, so it costs
// little space and time), then streamed file by file; the temporary copy is removed when the
// response ends, however it ends.
#include <fcntl.h>
#include <unistd.h>
#include <algorithm>

#include "common/fs.h"
#include "common/log.h"
#include "common/tar.h"
#include "crypto/digest.h"
#include "http/errors.h"
#include "http/request_context.h"
#include "http/routes.h"
#include "storage/backup.h"

namespace ota::http {
namespace {

namespace fs = std::filesystem;
constexpr size_t kChunk = 256 * 1024;

// The archive as a list of byte ranges: literal bytes (headers, padding) or slices of files.
class BackupArchive {
 public:
  explicit BackupArchive(fs::path dir) : dir_(std::move(dir)) {}

  ~BackupArchive() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (ec) spdlog::warn("backup: cannot remove {}: {}", dir_.string(), ec.message());
  }

  Status build(const storage::BackupManifest& manifest, int64_t mtime_s) {
    std::string text = storage::format_manifest(manifest);
    OTA_TRY(add_bytes(storage::kBackupManifestName, text, mtime_s));
    for (const auto& f : manifest.files) {
      OTA_ASSIGN_OR_RETURN(std::string header, tar::file_header(f.path, f.size, mtime_s));
      add_literal(std::move(header));
      segments_.push_back({total_, f.size, {}, dir_ / f.path});
      total_ += f.size;
      add_literal(std::string(tar::padding(f.size), '\0'));
    }
    add_literal(tar::end_of_archive());
    return ok();
  }

  uint64_t size() const { return total_; }

  // Writes up to kChunk bytes starting at `offset`.
  bool write(uint64_t offset, httplib::DataSink& sink) {
    auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                               [](uint64_t off, const Segment& s) { return off < s.start; });
    if (it == segments_.begin()) return false;
    const Segment& seg = *--it;
    uint64_t within = offset - seg.start;
    size_t length = static_cast<size_t>(std::min<uint64_t>(seg.length - within, kChunk));
    if (seg.file.empty()) return sink.write(seg.literal.data() + within, length);
    if (!open(seg.file)) return false;
    buffer_.resize(length);
    ssize_t n = ::pread(fd_.get(), buffer_.data(), length, static_cast<off_t>(within));
    if (n != static_cast<ssize_t>(length)) {
      spdlog::error("backup: short read of {}", seg.file.string());
      return false;
    }
    return sink.write(buffer_.data(), length);
  }

 private:
  struct Segment {
    uint64_t start = 0;
    uint64_t length = 0;
    std::string literal;
    fs::path file;
  };

  Status add_bytes(std::string_view name, const std::string& content, int64_t mtime_s) {
    OTA_ASSIGN_OR_RETURN(std::string header, tar::file_header(name, content.size(), mtime_s));
    add_literal(header + content + std::string(tar::padding(content.size()), '\0'));
    return ok();
  }
  void add_literal(std::string bytes) {
    if (bytes.empty()) return;
    uint64_t length = bytes.size();
    segments_.push_back({total_, length, std::move(bytes), {}});
    total_ += length;
  }
  bool open(const fs::path& file) {
    if (open_file_ == file && fd_.valid()) return true;
    fd_ = UniqueFd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    open_file_ = file;
    return fd_.valid();
  }

  fs::path dir_;
  std::vector<Segment> segments_;
  uint64_t total_ = 0;
  UniqueFd fd_;
  fs::path open_file_;
  std::string buffer_;
};

}  // namespace

void install_backup_routes(httplib::Server& svr, const Services& s) {
  const Services* services = &s;
  svr.Get("/api/v1/backup", [services](const httplib::Request&, httplib::Response& res) {
    fs::path data = services->storage->db().path().parent_path();
    fs::path dir =
        data / (std::string(storage::kBackupTempPrefix) + crypto::sha256(crypto::random_bytes(16)).hex().substr(0, 16));
    int64_t now = services->clock->now_ms();
    auto manifest = storage::write_backup(*services->storage, dir, {{"secret.key", services->server_secret}},
                                          services->health.schema_version, now);
    if (!manifest) return send_result_error(res, manifest.error());
    auto archive = std::make_shared<BackupArchive>(dir);
    if (Status st = archive->build(*manifest, now / 1000); !st) return send_result_error(res, st.error());
    spdlog::info("backup: streaming {} files, {} bytes", manifest->files.size() + 1, archive->size());
    res.set_header("Cache-Control", "no-store");
    res.set_header("Content-Disposition", "attachment; filename=\"otaserver-backup.tar\"");
    res.set_content_provider(
        archive->size(), "application/x-tar",
        [archive](size_t offset, size_t, httplib::DataSink& sink) { return archive->write(offset, sink); });
  });
}

}  // namespace ota::http
