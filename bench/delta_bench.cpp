// What a BSDIFF40 patch saves and costs on the real fixture (update1 -> update2 launch bundles):
// sizes of the target raw, gzip -9, brotli q11, our patch and Debian's bsdiff patch; time to make
// our patch (median of 3) and to apply it; peak RSS of a process that only reads the two files and
// makes (or applies) the patch, and of Debian's bsdiff on the same files (its time includes
// process start and file I/O).
//
// usage: delta_bench [FIXTURE_DIR]   (default: the checkout's ../shared/fixtures/expo-export/57.0.0)
// Debian's numbers need /usr/bin/bsdiff (apt-get install bsdiff); without it they are skipped.
#include <brotli/encode.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codec/compress.h"
#include "delta/bsdiff.h"
#include "delta/bspatch.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

fs::path only_file_in(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) return e.path();
  std::fprintf(stderr, "delta_bench: no file in %s\n", dir.c_str());
  std::exit(2);
}

// codec::brotli is quality 9 (what publishing uses); the comparison a client cares about is the
// best brotli can do, so q11 here.
size_t brotli11_size(std::string_view data) {
  size_t size = BrotliEncoderMaxCompressedSize(data.size());
  std::vector<uint8_t> out(size);
  if (BrotliEncoderCompress(11, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, data.size(),
                            reinterpret_cast<const uint8_t*>(data.data()), &size, out.data()) == BROTLI_FALSE) {
    return 0;
  }
  return size;
}

double median_ms(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

struct ChildRun {
  int status = -1;
  double wall_ms = 0;
  long max_rss_kb = 0;
};

long vm_hwm_kb(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// Runs argv as a child and reports its peak RSS. Not wait4's ru_maxrss: a posix_spawn child
// inherits this (large) process's RSS into it. VmHWM belongs to the child's own address space; it
// is sampled every millisecond while the child runs and only grows, so the last sample is the
// peak give or take the final millisecond.
ChildRun spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ChildRun run;
  auto t0 = Clock::now();
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return run;
  int status = 0;
  for (;;) {
    long hwm = vm_hwm_kb(pid);  // before waitpid: a reaped child's /proc entry is gone
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return run;
    run.max_rss_kb = std::max(run.max_rss_kb, hwm);
    ::usleep(1000);
  }
  run.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// Child modes: the work whose peak RSS is measured, and nothing else.
int child(const std::string& mode, const char* a, const char* b, const char* out) {
  std::string first = read_file(a);
  std::string second = read_file(b);
  if (mode == "--child-read") return first.empty() || second.empty();
  if (mode == "--child-diff") {
    auto patch = ota::delta::make_bsdiff(first, second);
    if (!patch) return 1;
    write_file(out, *patch);
    return 0;
  }
  if (mode == "--child-apply") {
    auto target = ota::delta::apply_bsdiff(first, second, size_t{64} << 20);
    return target ? 0 : 1;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]).rfind("--child-", 0) == 0) return child(argv[1], argv[2], argv[3], argv[4]);
  fs::path fixture = argc > 1 ? fs::path(argv[1]) : fs::path(OTA_FIXTURE_DIR);
  const std::string self = fs::canonical("/proc/self/exe").string();
  const bool have_debian = fs::exists("/usr/bin/bsdiff");
  fs::path tmp = fs::temp_directory_path() / ("delta_bench-" + std::to_string(::getpid()));
  fs::create_directories(tmp);

  for (const char* platform : {"ios", "android"}) {
    fs::path base_path = only_file_in(fixture / "update1/_expo/static/js" / platform);
    fs::path target_path = only_file_in(fixture / "update2/_expo/static/js" / platform);
    std::string base = read_file(base_path);
    std::string target = read_file(target_path);

    std::vector<double> diff_ms;
    std::string patch;
    for (int i = 0; i < 3; ++i) {
      auto t0 = Clock::now();
      auto p = ota::delta::make_bsdiff(base, target);
      diff_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (!p) {
        std::fprintf(stderr, "make_bsdiff: %s\n", p.error().message().c_str());
        return 1;
      }
      patch = std::move(*p);
    }
    std::vector<double> apply_ms;
    for (int i = 0; i < 3; ++i) {
      auto t0 = Clock::now();
      auto out = ota::delta::apply_bsdiff(base, patch, size_t{64} << 20);
      apply_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (!out || *out != target) {
        std::fprintf(stderr, "apply_bsdiff did not reproduce the target\n");
        return 1;
      }
    }

    auto gz = ota::codec::gzip(target);
    size_t br = brotli11_size(target);

    fs::path patch_path = tmp / "patch";
    write_file(patch_path, patch);
    ChildRun read_only = spawn({self, "--child-read", base_path, target_path, "-"});
    ChildRun diff_child = spawn({self, "--child-diff", base_path, target_path, (tmp / "child.patch").string()});
    ChildRun apply_child = spawn({self, "--child-apply", base_path, patch_path, "-"});

    std::printf("%s: base %zu bytes, target %zu bytes\n", platform, base.size(), target.size());
    std::printf("  target gzip -9      %9zu bytes\n", gz ? gz->size() : size_t{0});
    std::printf("  target brotli q11   %9zu bytes\n", br);
    std::printf("  patch (ours)        %9zu bytes  (%.1f%% of brotli q11)\n", patch.size(),
                100.0 * static_cast<double>(patch.size()) / static_cast<double>(br));
    if (have_debian) {
      fs::path theirs = tmp / "debian.patch";
      ChildRun deb = spawn({"/usr/bin/bsdiff", base_path, target_path, theirs.string()});
      std::printf("  patch (Debian)      %9ju bytes  (bsdiff took %.0f ms, peak RSS %ld KiB)\n",
                  static_cast<uintmax_t>(deb.status == 0 ? fs::file_size(theirs) : 0), deb.wall_ms, deb.max_rss_kb);
    } else {
      std::printf("  patch (Debian)      skipped: /usr/bin/bsdiff missing (apt-get install bsdiff)\n");
    }
    std::printf("  make_bsdiff         %9.0f ms median of 3 (%.0f / %.0f / %.0f)\n", median_ms(diff_ms), diff_ms[0],
                diff_ms[1], diff_ms[2]);
    std::printf("  apply_bsdiff        %9.1f ms median of 3\n", median_ms(apply_ms));
    std::printf("  peak RSS            read both files only %ld KiB; + make_bsdiff %ld KiB; + apply_bsdiff %ld KiB\n",
                read_only.max_rss_kb, diff_child.max_rss_kb, apply_child.max_rss_kb);
    if (diff_child.status != 0 || apply_child.status != 0) {
      std::fprintf(stderr, "a measuring child failed\n");
      return 1;
    }
  }
  fs::remove_all(tmp);
  return 0;
}
