#include "protocol/expo/sfv.h"

#include <algorithm>

namespace ota::expo::sfv {
namespace {

// A header with more members than this is refused whole: no Expo header needs more, and the cap
// keeps duplicate-key replacement (a scan of the members so far) cheap.
constexpr size_t kMaxMembers = 64;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 9110 tchar.
bool is_tchar(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_key_char(char c) { return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*'; }

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Lenient as RFC 8941 §4.2.7 asks: padding may be missing and unused trailing bits may be set.
// Still refuses '=' in the middle, a dangling single character and any non-alphabet byte.
std::optional<std::string> decode_base64(std::string_view in) {
  size_t len = in.size();
  size_t pad = 0;
  while (len > 0 && in[len - 1] == '=' && pad < 2) {
    --len;
    ++pad;
  }
  if (pad > 0 && (len + pad) % 4 != 0) return std::nullopt;
  if (len % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    int v = base64_value(in[i]);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// A cursor over the header; every read checks the end first.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool done() const { return pos_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[pos_]; }
  bool consume(char c) {
    if (done() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void skip_sp() {
    while (!done() && s_[pos_] == ' ') ++pos_;
  }
  void skip_ows() {
    while (!done() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }

  // RFC 8941 §4.2.3.3
  std::optional<std::string> parse_key() {
    if (done() || !(is_lcalpha(s_[pos_]) || s_[pos_] == '*')) return std::nullopt;
    size_t start = pos_;
    while (!done() && is_key_char(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }

  // RFC 8941 §4.2.3
  std::optional<Item> parse_bare_item() {
    if (done()) return std::nullopt;
    char c = s_[pos_];
    if (c == '-' || is_digit(c)) return parse_number();
    if (c == '"') return parse_string();
    if (c == '*' || is_alpha(c)) return parse_token();
    if (c == ':') return parse_bytes();
    if (c == '?') return parse_boolean();
    return std::nullopt;
  }

  // RFC 8941 §4.2.3.2; the values are discarded.
  bool parse_parameters() {
    while (consume(';')) {
      skip_sp();
      if (!parse_key()) return false;
      if (consume('=')) {
        if (!parse_bare_item()) return false;
      }
    }
    return true;
  }

  // An item with its parameters (RFC 8941 §4.2.3).
  std::optional<Item> parse_item() {
    auto item = parse_bare_item();
    if (!item || !parse_parameters()) return std::nullopt;
    return item;
  }

  // RFC 8941 §4.2.1.2, validated and thrown away (inner lists are unusable here).
  bool skip_inner_list() {
    if (!consume('(')) return false;
    while (!done()) {
      skip_sp();
      if (consume(')')) return parse_parameters();
      if (!parse_item()) return false;
      if (peek() != ' ' && peek() != ')') return false;
    }
    return false;
  }

  // After a member: end of input, or OWS "," OWS and another member (RFC 8941 §4.2.1 / §4.2.2).
  // Returns false on a syntax error; sets `more` when another member follows.
  bool member_separator(bool& more) {
    skip_ows();
    if (done()) {
      more = false;
      return true;
    }
    if (!consume(',')) return false;
    skip_ows();
    if (done()) return false;  // trailing comma
    more = true;
    return true;
  }

 private:
  std::optional<Item> parse_number() {
    Item item;
    bool negative = consume('-');
    if (done() || !is_digit(s_[pos_])) return std::nullopt;
    int64_t int_part = 0;
    size_t int_digits = 0;
    while (!done() && is_digit(s_[pos_])) {
      if (++int_digits > 15) return std::nullopt;
      int_part = int_part * 10 + (s_[pos_] - '0');
      ++pos_;
    }
    if (!consume('.')) {
      item.kind = Item::Kind::kInteger;
      item.integer = negative ? -int_part : int_part;
      return item;
    }
    if (int_digits > 12) return std::nullopt;
    int64_t frac = 0;
    int64_t scale = 1;
    size_t frac_digits = 0;
    while (!done() && is_digit(s_[pos_])) {
      if (++frac_digits > 3) return std::nullopt;
      frac = frac * 10 + (s_[pos_] - '0');
      scale *= 10;
      ++pos_;
    }
    if (frac_digits == 0) return std::nullopt;
    item.kind = Item::Kind::kDecimal;
    double v = static_cast<double>(int_part) + static_cast<double>(frac) / static_cast<double>(scale);
    item.decimal = negative ? -v : v;
    return item;
  }

  std::optional<Item> parse_string() {
    if (!consume('"')) return std::nullopt;
    Item item;
    item.kind = Item::Kind::kString;
    while (!done()) {
      char c = s_[pos_++];
      if (c == '\\') {
        if (done()) return std::nullopt;
        char next = s_[pos_++];
        if (next != '"' && next != '\\') return std::nullopt;
        item.text.push_back(next);
      } else if (c == '"') {
        return item;
      } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
        return std::nullopt;
      } else {
        item.text.push_back(c);
      }
    }
    return std::nullopt;  // unterminated
  }

  std::optional<Item> parse_token() {
    Item item;
    item.kind = Item::Kind::kToken;
    size_t start = pos_;
    ++pos_;  // the first character was checked by the caller
    while (!done() && (is_tchar(s_[pos_]) || s_[pos_] == ':' || s_[pos_] == '/')) ++pos_;
    item.text = std::string(s_.substr(start, pos_ - start));
    return item;
  }

  std::optional<Item> parse_bytes() {
    if (!consume(':')) return std::nullopt;
    size_t start = pos_;
    size_t end = s_.find(':', start);
    if (end == std::string_view::npos) return std::nullopt;
    pos_ = end + 1;
    auto decoded = decode_base64(s_.substr(start, end - start));
    if (!decoded) return std::nullopt;
    Item item;
    item.kind = Item::Kind::kBytes;
    item.text = std::move(*decoded);
    return item;
  }

  std::optional<Item> parse_boolean() {
    if (!consume('?')) return std::nullopt;
    Item item;
    item.kind = Item::Kind::kBoolean;
    if (consume('1')) {
      item.boolean = true;
    } else if (consume('0')) {
      item.boolean = false;
    } else {
      return std::nullopt;
    }
    return item;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<Dictionary> parse_dictionary(std::string_view header) {
  Parser p(header);
  Dictionary dict;
  size_t members = 0;
  p.skip_sp();
  bool more = !p.done();
  while (more) {
    if (++members > kMaxMembers) return std::nullopt;
    auto key = p.parse_key();
    if (!key) return std::nullopt;
    std::optional<Item> value;
    if (p.consume('=')) {
      if (p.peek() == '(') {
        if (!p.skip_inner_list()) return std::nullopt;
      } else {
        value = p.parse_item();
        if (!value) return std::nullopt;
      }
    } else {
      value = Item{};  // bare key: Boolean true
      if (!p.parse_parameters()) return std::nullopt;
    }
    // A later duplicate overwrites the earlier member in place (RFC 8941 §4.2.2); an inner list,
    // being unusable, removes it.
    auto it = std::find_if(dict.begin(), dict.end(), [&](const auto& m) { return m.first == *key; });
    if (it != dict.end()) {
      if (value) {
        it->second = std::move(*value);
      } else {
        dict.erase(it);
      }
    } else if (value) {
      dict.emplace_back(std::move(*key), std::move(*value));
    }
    if (!p.member_separator(more)) return std::nullopt;
  }
  return dict;
}

std::optional<std::vector<Item>> parse_list(std::string_view header) {
  Parser p(header);
  std::vector<Item> list;
  p.skip_sp();
  bool more = !p.done();
  while (more) {
    if (list.size() >= kMaxMembers) return std::nullopt;
    if (p.peek() == '(') return std::nullopt;  // inner lists are not supported in lists
    auto item = p.parse_item();
    if (!item) return std::nullopt;
    list.push_back(std::move(*item));
    if (!p.member_separator(more)) return std::nullopt;
  }
  return list;
}

const Item* find(const Dictionary& dict, std::string_view key) {
  for (const auto& [k, v] : dict) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::optional<std::string> serialize_string(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('"');
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) return std::nullopt;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

bool is_valid_key(std::string_view key) {
  if (key.empty() || !(is_lcalpha(key[0]) || key[0] == '*')) return false;
  return std::all_of(key.begin(), key.end(), is_key_char);
}

}  // namespace ota::expo::sfv
