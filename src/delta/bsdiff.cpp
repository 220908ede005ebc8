#include "delta/bsdiff.h"

#include <bzlib.h>
#include <divsufsort.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <vector>

namespace ota::delta {

namespace detail {

void encode_offset(int64_t value, unsigned char out[8]) {
  uint64_t magnitude = value < 0 ? uint64_t{0} - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(magnitude >> (8 * i));
  if (value < 0) out[7] |= 0x80;
}

int64_t decode_offset(const unsigned char in[8]) {
  uint64_t magnitude = 0;
  for (int i = 7; i >= 0; --i) magnitude = (magnitude << 8) | in[i];
  magnitude &= ~(uint64_t{1} << 63);  // at most 2^63 - 1, so negating below cannot overflow
  auto value = static_cast<int64_t>(magnitude);
  return (in[7] & 0x80) != 0 ? -value : value;
}

}  // namespace detail

namespace {

using Bytes = const unsigned char*;

// bzip2's largest block (900 kB): the best ratio, and the size every BSDIFF40 writer uses. Fixed,
// because a different block size gives different (equally valid) bytes and patches must be
// reproducible.
constexpr int kBzBlockSize = 9;

// A match found by the suffix array replaces the alignment in use only if it reproduces more than
// this many more bytes of the target: a new control triple costs 24 bytes before compression, and
// hopping between two almost equally good alignments would spend more on triples than it saves
// in diff bytes.
constexpr int64_t kMinGain = 8;

// Classic bsdiff advances one byte after a long match that fails the kMinGain test, searching
// again for what is mostly the same match: quadratic on a base that holds two near-copies of the
// target (1.6 MB took Debian's bsdiff over 5 minutes). Stepping past all but this many bytes of
// such a match keeps the scan about linear; positions within kSkipSlack of its end are still
// tried one by one, where a better match is most likely to begin.
constexpr int64_t kSkipSlack = 64;

// bzip2 takes at most 4 GiB per call (unsigned int counts).
constexpr size_t kBzChunk = size_t{1} << 30;

struct Triple {
  int64_t add;     // target bytes made as base byte + diff byte
  int64_t insert;  // target bytes copied from the extra block
  int64_t seek;    // then the base position moves by this much
};

// Length of the common prefix of a and b, looking at no more than `limit` bytes. Compares a word
// at a time: matches run to hundreds of kilobytes between two builds of the same bundle.
int64_t common_prefix(Bytes a, Bytes b, int64_t limit) {
  int64_t i = 0;
  for (; i + 8 <= limit; i += 8) {
    uint64_t x = 0;
    uint64_t y = 0;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) {
      uint64_t differing = x ^ y;
      int bit = std::endian::native == std::endian::little ? std::countr_zero(differing) : std::countl_zero(differing);
      return i + bit / 8;
    }
  }
  while (i < limit && a[i] == b[i]) ++i;
  return i;
}

// The sorted suffixes of the base, for "where in the base does the longest prefix of this target
// stretch occur?".
class SuffixIndex {
 public:
  struct Match {
    int64_t pos = 0;  // in the base
    int64_t len = 0;  // 0: no byte of the query occurs in the base (or the base is empty)
  };

  static Result<SuffixIndex> build(std::string_view base) {
    SuffixIndex index;
    index.base_ = reinterpret_cast<Bytes>(base.data());
    index.size_ = static_cast<int64_t>(base.size());
    if (base.empty()) return index;  // divsufsort refuses a null array
    index.sa_.resize(base.size());
    if (divsufsort(index.base_, index.sa_.data(), static_cast<saidx_t>(base.size())) != 0) {
      return internal_error("libdivsufsort could not sort " + std::to_string(base.size()) +
                            " bytes (out of memory?); try again or publish without a patch");
    }
    return index;
  }

  // Binary search for the slot where `query` would sit among the sorted suffixes; the suffix with
  // the longest common prefix is one of that slot's two neighbours. Every suffix between two
  // others shares with the query at least the smaller of their common prefixes with it, so each
  // comparison starts there instead of at byte 0 (which matters for long matches).
  Match longest(Bytes query, int64_t query_len) const {
    const auto n = static_cast<int64_t>(sa_.size());
    if (n == 0 || query_len == 0) return {};
    int64_t lo = 0;
    int64_t hi = n;
    int64_t lcp_lo = 0;  // with sa_[lo - 1], once lo > 0
    int64_t lcp_hi = 0;  // with sa_[hi], once hi < n
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      int64_t pos = sa_[static_cast<size_t>(mid)];
      int64_t known = std::min(lcp_lo, lcp_hi);
      int64_t limit = std::min(size_ - pos, query_len);
      int64_t len = known + common_prefix(base_ + pos + known, query + known, limit - known);
      if (len == query_len) return {pos, len};  // cannot do better
      if (len == size_ - pos || base_[pos + len] < query[len]) {
        lo = mid + 1;
        lcp_lo = len;
      } else {
        hi = mid;
        lcp_hi = len;
      }
    }
    Match best;
    if (lo > 0) best = {sa_[static_cast<size_t>(lo - 1)], lcp_lo};
    if (lo < n && lcp_hi > best.len) best = {sa_[static_cast<size_t>(lo)], lcp_hi};
    return best;
  }

 private:
  Bytes base_ = nullptr;
  int64_t size_ = 0;
  std::vector<saidx_t> sa_;
};

// How far to carry the previous alignment forward from (new_from, old_from) into the gap before
// the next match: the length with the most matching minus mismatching bytes (the shortest such).
// A mismatch costs a non-zero diff byte, a match a zero one, so this is where the diff stops paying.
int64_t extend_forward(Bytes old, int64_t old_from, Bytes target, int64_t new_from, int64_t limit) {
  int64_t best_len = 0;
  int64_t best_score = 0;
  int64_t matches = 0;
  for (int64_t i = 1; i <= limit; ++i) {
    if (old[old_from + i - 1] == target[new_from + i - 1]) ++matches;
    if (2 * matches - i > best_score) {
      best_score = 2 * matches - i;
      best_len = i;
    }
  }
  return best_len;
}

// The same, carrying the next match's alignment backwards from (new_end, old_end).
int64_t extend_backward(Bytes old, int64_t old_end, Bytes target, int64_t new_end, int64_t limit) {
  int64_t best_len = 0;
  int64_t best_score = 0;
  int64_t matches = 0;
  for (int64_t i = 1; i <= limit; ++i) {
    if (old[old_end - i] == target[new_end - i]) ++matches;
    if (2 * matches - i > best_score) {
      best_score = 2 * matches - i;
      best_len = i;
    }
  }
  return best_len;
}

// When both extensions claim the same target bytes, the split point is where the forward alignment
// has reproduced the most bytes more than the backward one would have. Returns how many of the
// `overlap` bytes go to the forward side.
int64_t split_overlap(Bytes old, Bytes target, int64_t new_start, int64_t fwd_old_start, int64_t back_old_start,
                      int64_t overlap) {
  int64_t best_split = 0;
  int64_t best_score = 0;
  int64_t score = 0;
  for (int64_t i = 0; i < overlap; ++i) {
    if (target[new_start + i] == old[fwd_old_start + i]) ++score;
    if (target[new_start + i] == old[back_old_start + i]) --score;
    if (score > best_score) {
      best_score = score;
      best_split = i + 1;
    }
  }
  return best_split;
}

// Pass 1: the control triples. Walks the target keeping a current alignment (target byte i ~ base
// byte i + offset). At each position it asks the suffix array for the longest exact match and
// scores, over the same stretch, how many bytes the current alignment already gets right. Where
// the current alignment does as well, it skips the stretch; where the match is clearly better
// (kMinGain) a triple is closed: the old alignment is extended forward and the new one backward
// over the bytes in between (approximate matches, the point of the method: code that moved and
// changed a little still diffs to mostly zeros), and whatever neither covers becomes extra bytes.
std::vector<Triple> find_triples(const SuffixIndex& index, Bytes old, int64_t old_size, Bytes target,
                                 int64_t new_size) {
  std::vector<Triple> triples;
  auto push = [&](Triple t) {
    // A triple that makes no bytes only moves the base position: fold it into the one before, so
    // there are never more triples than target bytes plus one (the applier relies on that bound).
    if (t.add == 0 && t.insert == 0 && !triples.empty()) {
      triples.back().seek += t.seek;
    } else {
      triples.push_back(t);
    }
  };

  int64_t last_scan = 0;    // target position where the previous alignment's region starts
  int64_t last_pos = 0;     // base position it starts from
  int64_t last_offset = 0;  // base - target position of the alignment in use
  auto aligned_match = [&](int64_t i) {
    int64_t j = i + last_offset;
    return j >= 0 && j < old_size && old[j] == target[i];
  };

  int64_t scan = 0;
  SuffixIndex::Match match;
  while (scan < new_size) {
    scan += match.len;
    // Bytes in [scan, scored) that the alignment in use reproduces; the window slides with scan.
    int64_t old_score = 0;
    int64_t scored = scan;
    while (scan < new_size) {
      match = index.longest(target + scan, new_size - scan);
      for (; scored < scan + match.len; ++scored) {
        if (aligned_match(scored)) ++old_score;
      }
      bool no_better = match.len == old_score && match.len != 0;
      if (no_better || match.len > old_score + kMinGain) break;
      // Not worth a switch. The next position's match is usually this one shifted by a byte, so
      // for a long match step past most of it (the bytes skipped all lie in the scored window).
      int64_t step = std::max<int64_t>(1, match.len - kSkipSlack);
      for (int64_t i = scan; i < scan + step; ++i) {
        if (aligned_match(i)) --old_score;
      }
      scan += step;
    }
    bool at_end = scan == new_size;
    if (!at_end && match.len == old_score) continue;  // the alignment in use covers it: skip ahead

    int64_t fwd = extend_forward(old, last_pos, target, last_scan, std::min(scan - last_scan, old_size - last_pos));
    int64_t back = at_end ? 0 : extend_backward(old, match.pos, target, scan, std::min(scan - last_scan, match.pos));
    if (last_scan + fwd > scan - back) {
      int64_t overlap = last_scan + fwd - (scan - back);
      int64_t split = split_overlap(old, target, scan - back, last_pos + fwd - overlap, match.pos - back, overlap);
      fwd += split - overlap;
      back -= split;
    }
    // The seek after the last triple is never used; 0 keeps the base position inside the base.
    int64_t seek = at_end ? 0 : (match.pos - back) - (last_pos + fwd);
    push({fwd, (scan - back) - (last_scan + fwd), seek});
    last_scan = scan - back;
    last_pos = match.pos - back;
    last_offset = match.pos - scan;
  }
  return triples;
}

// Appends `data` compressed as one bzip2 stream; returns the compressed length.
Result<size_t> append_bzip2(std::string_view data, std::string& out) {
  bz_stream stream{};
  if (BZ2_bzCompressInit(&stream, kBzBlockSize, 0, 0) != BZ_OK) {
    return internal_error("bzip2 could not start a stream (out of memory?); try again");
  }
  struct End {
    bz_stream* s;
    ~End() { BZ2_bzCompressEnd(s); }
  } end{&stream};

  const size_t start = out.size();
  size_t used = start;
  size_t fed = 0;
  for (;;) {
    if (stream.avail_in == 0 && fed < data.size()) {
      size_t n = std::min(data.size() - fed, kBzChunk);
      // bzip2 only reads through next_in; the API predates const.
      stream.next_in = const_cast<char*>(data.data() + fed);
      stream.avail_in = static_cast<unsigned>(n);
      fed += n;
    }
    if (used == out.size()) out.resize(used + std::max<size_t>(64 << 10, data.size() / 16));
    stream.next_out = out.data() + used;
    stream.avail_out = static_cast<unsigned>(std::min(out.size() - used, kBzChunk));
    int rc = BZ2_bzCompress(&stream, fed == data.size() ? BZ_FINISH : BZ_RUN);
    used = static_cast<size_t>(stream.next_out - out.data());
    if (rc == BZ_STREAM_END) break;
    if (rc != BZ_RUN_OK && rc != BZ_FINISH_OK) {
      out.resize(start);
      return internal_error("bzip2 failed with code " + std::to_string(rc) + " while compressing a patch block");
    }
  }
  out.resize(used);
  return used - start;
}

std::string too_large(std::string_view which, size_t size) {
  return "bsdiff: the " + std::string(which) + " is " + std::to_string(size) + " bytes, over the limit of " +
         std::to_string(kMaxDiffInput) + "; serve the whole file instead of a patch";
}

}  // namespace

Result<std::string> make_bsdiff(std::string_view base, std::string_view target) {
  if (base.size() > kMaxDiffInput) return Error(ErrorCode::kTooLarge, too_large("base", base.size()));
  if (target.size() > kMaxDiffInput) return Error(ErrorCode::kTooLarge, too_large("target", target.size()));
  auto old = reinterpret_cast<Bytes>(base.data());
  auto old_size = static_cast<int64_t>(base.size());
  auto fresh = reinterpret_cast<Bytes>(target.data());
  auto new_size = static_cast<int64_t>(target.size());

  std::vector<Triple> triples;
  {
    // Scoped so the suffix array (4 bytes per base byte) is gone before the blocks are built.
    OTA_ASSIGN_OR_RETURN(SuffixIndex index, SuffixIndex::build(base));
    triples = find_triples(index, old, old_size, fresh, new_size);
  }

  // Pass 2: the three blocks' contents, at their exact sizes (add and insert lengths sum to the
  // target size), by replaying the triples.
  std::string ctrl(triples.size() * 24, '\0');
  int64_t diff_total = 0;
  int64_t extra_total = 0;
  for (const Triple& t : triples) {
    diff_total += t.add;
    extra_total += t.insert;
  }
  std::string diff(static_cast<size_t>(diff_total), '\0');
  std::string extra;
  extra.reserve(static_cast<size_t>(extra_total));
  int64_t old_pos = 0;
  int64_t new_pos = 0;
  size_t diff_at = 0;
  for (size_t k = 0; k < triples.size(); ++k) {
    const Triple& t = triples[k];
    auto* c = reinterpret_cast<unsigned char*>(ctrl.data() + 24 * k);
    detail::encode_offset(t.add, c);
    detail::encode_offset(t.insert, c + 8);
    detail::encode_offset(t.seek, c + 16);
    for (int64_t i = 0; i < t.add; ++i) {
      diff[diff_at++] = static_cast<char>(fresh[new_pos + i] - old[old_pos + i]);
    }
    extra.append(target.substr(static_cast<size_t>(new_pos + t.add), static_cast<size_t>(t.insert)));
    new_pos += t.add + t.insert;
    old_pos += t.add + t.seek;
  }
  if (new_pos != new_size) {
    return internal_error("bsdiff: the control triples cover " + std::to_string(new_pos) + " of " +
                          std::to_string(new_size) + " bytes (a bug); publish without a patch");
  }

  return detail::assemble_patch(ctrl, diff, extra, new_size);
}

namespace detail {

Result<std::string> assemble_patch(std::string_view ctrl, std::string_view diff, std::string_view extra,
                                   int64_t new_size) {
  std::string patch = "BSDIFF40";
  patch.resize(32);
  OTA_ASSIGN_OR_RETURN(size_t ctrl_len, append_bzip2(ctrl, patch));
  OTA_ASSIGN_OR_RETURN(size_t diff_len, append_bzip2(diff, patch));
  OTA_TRY(append_bzip2(extra, patch));
  auto* header = reinterpret_cast<unsigned char*>(patch.data());
  encode_offset(static_cast<int64_t>(ctrl_len), header + 8);
  encode_offset(static_cast<int64_t>(diff_len), header + 16);
  encode_offset(new_size, header + 24);
  return patch;
}

}  // namespace detail

}  // namespace ota::delta
