// Structured field values (protocol/expo/sfv.cpp, RFC 8941): expo-expect-signature,
// Expo-Recent-Failed-Update-IDs and Expo-Extra-Params as devices send them. The input is tried
// as a dictionary and as a list. Properties:
//   - a parsed dictionary has valid, distinct keys and at most 64 members;
//   - serialize(parse(x)) parses back to an equal value (a serializer for every item kind lives
//     here; the server itself only ever writes strings, dictionaries of them and tokens);
//   - serialize_string never emits a byte outside 0x20..0x7e (so never CR or LF), and what it
//     accepts parses back to the same string.

#include <cstdio>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "fuzz_support.h"
#include "protocol/expo/sfv.h"

namespace {

using ota::expo::sfv::Item;
using ota::fuzz::as_view;
namespace sfv = ota::expo::sfv;

bool printable(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

std::string serialize(const Item& item) {
  switch (item.kind) {
    case Item::Kind::kString: {
      auto s = sfv::serialize_string(item.text);
      FUZZ_CHECK(s.has_value());  // a parsed string is always representable
      return *s;
    }
    case Item::Kind::kToken:
      return item.text;
    case Item::Kind::kInteger:
      return std::to_string(item.integer);
    case Item::Kind::kDecimal: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.3f", item.decimal);
      return buf;
    }
    case Item::Kind::kBoolean:
      return item.boolean ? "?1" : "?0";
    case Item::Kind::kBytes:
      return ":" + ota::base64_encode(item.text) + ":";
  }
  return "";
}

bool same(const Item& a, const Item& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Item::Kind::kString:
    case Item::Kind::kToken:
    case Item::Kind::kBytes:
      return a.text == b.text;
    case Item::Kind::kInteger:
      return a.integer == b.integer;
    case Item::Kind::kDecimal:
      return a.decimal == b.decimal;
    case Item::Kind::kBoolean:
      return a.boolean == b.boolean;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = as_view(data, size);

  if (auto dict = sfv::parse_dictionary(in)) {
    FUZZ_CHECK(dict->size() <= 64);
    std::string text;
    for (size_t i = 0; i < dict->size(); ++i) {
      const auto& [key, item] = (*dict)[i];
      FUZZ_CHECK(sfv::is_valid_key(key));
      for (size_t j = 0; j < i; ++j) FUZZ_CHECK((*dict)[j].first != key);
      FUZZ_CHECK(sfv::find(*dict, key) == &item);
      if (!text.empty()) text += ", ";
      text += key;
      if (item.kind != Item::Kind::kBoolean || !item.boolean) text += "=" + serialize(item);
    }
    FUZZ_CHECK(printable(text));
    auto again = sfv::parse_dictionary(text);
    FUZZ_CHECK(again && again->size() == dict->size());
    for (size_t i = 0; i < dict->size(); ++i) {
      FUZZ_CHECK((*again)[i].first == (*dict)[i].first && same((*again)[i].second, (*dict)[i].second));
    }
  }

  if (auto list = sfv::parse_list(in)) {
    FUZZ_CHECK(list->size() <= 64);
    std::string text;
    for (const Item& item : *list) text += (text.empty() ? "" : ", ") + serialize(item);
    FUZZ_CHECK(printable(text));
    auto again = sfv::parse_list(text);
    FUZZ_CHECK(again && again->size() == list->size());
    for (size_t i = 0; i < list->size(); ++i) FUZZ_CHECK(same((*again)[i], (*list)[i]));
  }

  if (auto s = sfv::serialize_string(in)) {
    FUZZ_CHECK(printable(*s));
    auto back = sfv::parse_list(*s);
    FUZZ_CHECK(back && back->size() == 1 && (*back)[0].kind == Item::Kind::kString && (*back)[0].text == in);
  } else {
    FUZZ_CHECK(!printable(in));
  }
  if (sfv::is_valid_key(in)) {
    auto d = sfv::parse_dictionary(in);
    FUZZ_CHECK(d && d->size() == 1 && (*d)[0].first == in);
  }
  return 0;
}
