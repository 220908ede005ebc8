// The backup tar reader (common/tar.cpp): `otaserver backup --server` unpacks what a server sends
// into a directory, so a hostile or broken server must never make it write outside that directory.
// Properties:
//   - every file it announces has a safe relative path: not absolute, no "..", "." or empty part,
//     printable ASCII, at most 255 bytes;
//   - each file gets exactly its declared size in data, then on_end, before the next file starts;
//   - the result does not depend on how the stream is cut into pieces (a network delivers any cut);
//   - what it read, written again with our tar writer, reads back the same.

#include <string>
#include <vector>

#include "common/strings.h"
#include "common/tar.h"
#include "fuzz_support.h"

namespace {

using ota::fuzz::as_view;

struct File {
  std::string path;
  uint64_t size = 0;
  std::string data;
  bool ended = false;
  friend bool operator==(const File&, const File&) = default;
};

struct Outcome {
  std::vector<File> files;
  bool ok = true;
  bool finished = false;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

bool safe(std::string_view path) {
  if (path.empty() || path.size() > 255 || path.front() == '/') return false;
  for (char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '\\') return false;
  }
  for (std::string_view part : ota::split(path, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

// Reads `archive` fed in pieces of the sizes in `cuts` (cycled; empty: all at once).
Outcome read(std::string_view archive, const std::vector<size_t>& cuts) {
  Outcome out;
  ota::tar::Reader reader({[&](const std::string& path, uint64_t size) -> ota::Status {
                             FUZZ_CHECK(out.files.empty() || out.files.back().ended);
                             FUZZ_CHECK(safe(path));
                             FUZZ_CHECK(ota::tar::safe_path(path));
                             out.files.push_back({path, size, {}, false});
                             return ota::ok();
                           },
                           [&](std::string_view data) -> ota::Status {
                             FUZZ_CHECK(!out.files.empty() && !out.files.back().ended);
                             File& f = out.files.back();
                             f.data.append(data);
                             FUZZ_CHECK(f.data.size() <= f.size);
                             return ota::ok();
                           },
                           [&]() -> ota::Status {
                             FUZZ_CHECK(!out.files.empty() && !out.files.back().ended);
                             FUZZ_CHECK(out.files.back().data.size() == out.files.back().size);
                             out.files.back().ended = true;
                             return ota::ok();
                           }});
  size_t i = 0;
  while (!archive.empty()) {
    size_t n = cuts.empty() ? archive.size() : std::min(archive.size(), cuts[i++ % cuts.size()]);
    if (!reader.feed(archive.substr(0, n))) {
      out.ok = false;
      break;
    }
    archive.remove_prefix(n);
  }
  out.finished = reader.finished();
  if (out.finished) FUZZ_CHECK(out.files.empty() || out.files.back().ended);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view archive = as_view(data, size);
  const Outcome whole = read(archive, {});

  // Piece sizes that cut headers, data and padding everywhere; the first byte varies them.
  const size_t k = size > 0 ? data[0] : 0;
  FUZZ_CHECK(read(archive, {1}) == whole);
  FUZZ_CHECK(read(archive, {k % 13 + 1, 511, 2, 1024 + k, 3}) == whole);

  if (whole.ok && whole.finished) {
    // Written again with our writer, the same files read back.
    std::string again;
    for (const File& f : whole.files) {
      auto header = ota::tar::file_header(f.path, f.size, 0);
      FUZZ_CHECK(header.has_value());
      again += *header + f.data + std::string(ota::tar::padding(f.size), '\0');
    }
    again += ota::tar::end_of_archive();
    Outcome reread = read(again, {});
    FUZZ_CHECK(reread == whole);
  }
  return 0;
}
