// Structured field values (RFC 8941), the subset Expo uses: dictionaries and lists of bare items
// (strings, tokens, integers, decimals, booleans, byte sequences). Parameters on items are parsed
// and ignored; inner lists make a member unusable (they are skipped in dictionaries, and make a
// list fail to parse). Used for expo-expect-signature, Expo-Extra-Params,
// Expo-Recent-Failed-Update-IDs, and to write expo-signature, expo-manifest-filters and
// expo-server-defined-headers.
//
// Parsers never throw and never read past their input; input of any size is fine but members
// beyond 64 make the whole header fail (nullopt).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ota::expo::sfv {

struct Item {
  enum class Kind { kString, kToken, kInteger, kDecimal, kBoolean, kBytes };
  Kind kind = Kind::kBoolean;
  std::string text;      // kString (unescaped), kToken, kBytes (decoded)
  int64_t integer = 0;   // kInteger
  double decimal = 0;    // kDecimal
  bool boolean = true;   // kBoolean; a bare dictionary key means true
};

// Members in order; a later duplicate key replaces the earlier one (RFC 8941 §4.2.2).
using Dictionary = std::vector<std::pair<std::string, Item>>;

std::optional<Dictionary> parse_dictionary(std::string_view header);
std::optional<std::vector<Item>> parse_list(std::string_view header);

// Finds a member; nullptr if absent.
const Item* find(const Dictionary& dict, std::string_view key);

// "\"...\"" with \" and \\ escaped. Returns nullopt if `value` has a byte outside 0x20..0x7e
// (not representable as an sf-string).
std::optional<std::string> serialize_string(std::string_view value);

// True if `key` is a valid dictionary key: [a-z*][a-z0-9_\-.*]*
bool is_valid_key(std::string_view key);

}  // namespace ota::expo::sfv
