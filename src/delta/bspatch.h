// Applies BSDIFF40 patches (format: delta/bsdiff.h) strictly, for tests, verification at publish
// time and fuzzing. Patches are treated as hostile input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ota::delta {

// Turns `base` into the patch's target. Never reads outside `base` or `patch` and never writes
// more than the header's target size, whatever the patch holds; work is bounded by the patch size
// plus the target size.
//
// Stricter than classic bspatch, which treats base bytes outside the base as zero and ignores
// leftovers; neither Debian's bsdiff nor make_bsdiff writes such patches, so refusing them costs
// nothing and turns damage into an error instead of wrong bytes. Refused:
//   - a header that is short, lacks the magic, or has negative or impossible block lengths;
//   - a control entry with a negative length, one that would write past the target size, add from
//     base bytes outside [0, base size), or seek to a base position outside [0, base size];
//   - more control entries than target bytes plus one (bsdiff never writes more; this bounds the
//     work a patch full of empty entries can cause);
//   - a block that is not valid bzip2, ends before the bytes the control entries need (truncated),
//     or has bytes left over (decompressed or compressed) after them; reading each block to its
//     end also checks bzip2's CRCs.
//
// Memory: the output (the header's target size, allocated once after the max_output check) plus
// three bzip2 decoders (~3.6 MiB each for block size 9 streams).
//
// Thread-safety: pure function, safe from any thread.
// Errors: kTooLarge when the header's target size exceeds `max_output`; kInvalidArgument for
// anything malformed, with what was wrong.
Result<std::string> apply_bsdiff(std::string_view base, std::string_view patch, size_t max_output);

}  // namespace ota::delta
