// Blob store read/write costs through otaserver's own BlobStore, next to plain files, for the
// value sizes that matter (50 KB images, 4 MB bundles). Used to choose the RocksDB options.
// usage: blob_store_bench DIR [COUNT_4M=40] [COUNT_50K=400] [READS=400]
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "storage/blobs/blob_store.h"

using namespace ota;
using Clock = std::chrono::steady_clock;

namespace {

double us_since(Clock::time_point t) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t).count();
}

std::vector<std::string> make_values(size_t size, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out(count, std::string(size, '\0'));
  for (auto& v : out) {
    for (size_t i = 0; i < size; i += 4) {
      uint32_t r = rng();
      for (size_t k = 0; k < 4 && i + k < size; ++k) v[i + k] = static_cast<char>(r >> (8 * k));
    }
  }
  return out;
}

struct Variant {
  const char* name;
  size_t block_size;
  size_t cache;
};

void run_variant(const std::filesystem::path& dir, const Variant& v, const std::vector<std::string>& values,
                 const char* label, int reads) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir.parent_path());
  blobs::BlobStoreOptions o;
  o.dir = dir;
  o.block_size = v.block_size;
  o.block_cache_bytes = v.cache;
  auto store = blobs::BlobStore::open(o);
  if (!store) {
    std::fprintf(stderr, "open: %s\n", store.error().message().c_str());
    std::exit(1);
  }
  std::vector<crypto::Sha256> digests;
  auto t = Clock::now();
  for (const auto& val : values) digests.push_back(*(*store)->put(val));
  double put_us = us_since(t) / static_cast<double>(values.size());
  // Reopen so reads come from SST files (flushed on close), as in a long-running server.
  store->reset();
  store = blobs::BlobStore::open(o);
  std::mt19937 rng(7);
  size_t bytes = 0;
  t = Clock::now();
  for (int i = 0; i < reads; ++i) {
    auto blob = (*store)->get(digests[rng() % digests.size()]);
    bytes += (*blob)->size();
  }
  double get_us = us_since(t) / reads;
  t = Clock::now();
  for (int i = 0; i < reads; ++i) (void)(*store)->size(digests[rng() % digests.size()]);
  double size_us = us_since(t) / reads;
  std::printf("%-6s %-28s put(sync) %9.0f us   get %8.0f us (%6.0f MB/s)   size() %5.1f us   disk %6.1f MB\n", label,
              v.name, put_us, get_us, static_cast<double>(bytes) / (get_us * reads), size_us,
              static_cast<double>((*store)->approximate_bytes()) / 1e6);
}

void run_files(const std::filesystem::path& dir, const std::vector<std::string>& values, const char* label, int reads) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<std::string> names;
  auto t = Clock::now();
  for (size_t i = 0; i < values.size(); ++i) {
    names.push_back((dir / std::to_string(i)).string());
    int fd = ::open(names.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    (void)!::write(fd, values[i].data(), values[i].size());
    ::fsync(fd);
    ::close(fd);
  }
  double put_us = us_since(t) / static_cast<double>(values.size());
  std::mt19937 rng(7);
  std::string buf(values[0].size(), '\0');
  size_t bytes = 0;
  t = Clock::now();
  for (int i = 0; i < reads; ++i) {
    int fd = ::open(names[rng() % names.size()].c_str(), O_RDONLY);
    bytes += static_cast<size_t>(::pread(fd, buf.data(), buf.size(), 0));
    ::close(fd);
  }
  double get_us = us_since(t) / reads;
  std::printf("%-6s %-28s put(sync) %9.0f us   get %8.0f us (%6.0f MB/s)\n", label, "plain files (pread, warm)", put_us,
              get_us, static_cast<double>(bytes) / (get_us * reads));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: blob_store_bench DIR [COUNT_4M] [COUNT_50K] [READS]\n");
    return 2;
  }
  std::filesystem::path dir = argv[1];
  int n4m = argc > 2 ? std::atoi(argv[2]) : 40;
  int n50k = argc > 3 ? std::atoi(argv[3]) : 400;
  int reads = argc > 4 ? std::atoi(argv[4]) : 400;
  const Variant variants[] = {
      {"block 4K, cache 16M", 4u << 10, 16u << 20},
      {"block 64K, cache 16M", 64u << 10, 16u << 20},
      {"block 256K, cache 16M", 256u << 10, 16u << 20},
      {"block 64K, cache 256M", 64u << 10, 256u << 20},
  };
  auto v4m = make_values(4u << 20, n4m, 1);
  auto v50k = make_values(50u << 10, n50k, 2);
  for (const auto& v : variants) run_variant(dir / "rocks", v, v4m, "4MB", reads);
  run_files(dir / "files", v4m, "4MB", reads);
  for (const auto& v : variants) run_variant(dir / "rocks", v, v50k, "50KB", reads);
  run_files(dir / "files", v50k, "50KB", reads);
  std::filesystem::remove_all(dir);
  return 0;
}
