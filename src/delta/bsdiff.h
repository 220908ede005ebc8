// Binary patches in the classic BSDIFF40 format, the one expo-updates (SDK 55+) applies to a launch
// bundle when it asks with `A-IM: bsdiff` (docs: expo-updates-protocol.md §5.6).
//
// A patch is a 32-byte header followed by three bzip2 streams:
//
//   offset 0   "BSDIFF40"
//   offset 8   compressed length of the control block      (int64, see below)
//   offset 16  compressed length of the diff block         (int64)
//   offset 24  length of the target ("new") file           (int64)
//   offset 32  control block, then diff block, then extra block (which runs to the end)
//
// The control block is a list of triples (add, insert, seek). Applying one: the next `add` bytes
// of the target are base bytes at the current base position plus the next `add` diff bytes
// (mod 256), and the base position moves on by `add`; the next `insert` target bytes are copied
// from the extra block; then the base position moves by `seek`, which may be negative. Integers
// are 8 bytes: the magnitude little-endian in the low 63 bits, bit 63 (0x80 of the last byte) the
// sign. Every reader in the wild (Expo's clients, Debian's bspatch) expects exactly this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ota::delta {

// Inputs above this are refused: the suffix array is int32 (libdivsufsort's 32-bit build) and the
// work is O(n log n) in time and 5n in memory; launch bundles are a few MB.
inline constexpr size_t kMaxDiffInput = size_t{64} << 20;

// Makes a BSDIFF40 patch that turns `base` into `target`, with Colin Percival's method ("Naive
// differences of executable code"): a suffix array of `base` finds, for each stretch of `target`,
// the base position that reproduces it best; the byte-wise differences against that position
// (mostly zeros, because code moves but changes little) go to the diff block, unmatched bytes to
// the extra block, and bzip2 squeezes the zeros away.
//
// Deterministic: the same inputs give byte-identical patches on every run and machine (libdivsufsort
// and bzip2 at block size 9 are deterministic; nothing time- or address-dependent is written), so a
// patch can be cached and compared by hash.
//
// Cost, for base size B and target size T: time O(B log B) for the suffix array plus about
// O(T log B) for the scan (not classic bsdiff's quadratic worst case, see kSkipSlack in
// bsdiff.cpp); the fixture's 1.4 MB bundles take ~0.2 s. Peak memory about max(4·B, T + 8 MiB)
// plus the patch itself: the suffix array (B int32 entries) lives only while control triples are
// found, then is freed before the diff and extra bytes (T in total) are built and compressed one
// block at a time by a single bzip2 encoder (~7.6 MiB at block size 9). The inputs are not copied.
//
// Thread-safety: pure function, safe from any thread.
// Errors: kTooLarge when either input exceeds kMaxDiffInput; kInternal if libdivsufsort or bzip2
// fail (out of memory).
Result<std::string> make_bsdiff(std::string_view base, std::string_view target);

namespace detail {
// The format's integer coding (sign-magnitude, 8 bytes little-endian), shared with bspatch.cpp and
// exposed for tests. `value` must not be INT64_MIN (its magnitude needs 64 bits).
void encode_offset(int64_t value, unsigned char out[8]);
// Decodes 8 bytes. Both +0 and -0 decode to 0; every other value round-trips.
int64_t decode_offset(const unsigned char in[8]);

// Compresses three raw blocks (control triples already encoded, diff bytes, extra bytes) and puts
// them behind a header: the last step of make_bsdiff, exposed so tests can build hostile patches.
// No checks: the blocks may contradict each other or `new_size`.
Result<std::string> assemble_patch(std::string_view ctrl, std::string_view diff, std::string_view extra,
                                   int64_t new_size);
}  // namespace detail

}  // namespace ota::delta
