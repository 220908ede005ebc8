#include "protocol/expo/manifest_request.h"

#include <algorithm>

#include "common/strings.h"
#include "protocol/expo/sfv.h"

namespace ota::expo {
namespace {

// IDs longer than this are not IDs (UUIDs have 36 characters); they are treated as absent so a
// hostile header cannot make the selection layer compare or log megabytes.
constexpr size_t kMaxIdLength = 128;

constexpr std::string_view kProducible = "multipart/mixed, application/expo+json, application/json";

Error not_acceptable(std::string m) { return {ErrorCode::kNotAcceptable, std::move(m)}; }

std::optional<std::string> read_id(const HeaderSource& headers, std::string_view name) {
  auto v = headers.get(name);
  if (!v || v->empty() || v->size() > kMaxIdLength) return std::nullopt;
  return to_lower(*v);
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<int> read_protocol_version(const HeaderSource& headers) {
  constexpr std::string_view kName = "expo-protocol-version";
  size_t n = headers.count(kName);
  if (n == 0) return 0;
  if (n > 1) {
    return invalid_argument("expo-protocol-version was sent " + std::to_string(n) + " times; send it once, as 0 or 1");
  }
  auto v = headers.get(kName);
  std::string_view text = v ? trim(*v) : std::string_view{};
  if (!all_digits(text)) {
    return invalid_argument("expo-protocol-version must be an integer (0 or 1)");
  }
  auto version = parse_uint(text);  // nullopt only on overflow: a (very) large integer
  if (!version || *version > 1) {
    return not_acceptable("expo-protocol-version " + std::string(text.substr(0, 20)) +
                          " is not supported; this server speaks protocol versions 0 and 1");
  }
  return static_cast<int>(*version);
}

std::vector<std::string> read_recent_failed(const HeaderSource& headers) {
  std::vector<std::string> ids;
  auto v = headers.get("expo-recent-failed-update-ids");
  if (!v) return ids;
  auto list = sfv::parse_list(*v);
  if (!list) return ids;
  for (const auto& item : *list) {
    if (item.kind != sfv::Item::Kind::kString || item.text.empty() || item.text.size() > kMaxIdLength) continue;
    ids.push_back(to_lower(item.text));
  }
  return ids;
}

}  // namespace

Result<ManifestRequest> parse_manifest_request(const HeaderSource& headers) {
  ManifestRequest req;

  OTA_ASSIGN_OR_RETURN(req.protocol_version, read_protocol_version(headers));

  auto platform = headers.get("expo-platform");
  if (!platform) {
    return invalid_argument("the expo-platform header is missing; send \"ios\" or \"android\"");
  }
  auto parsed_platform = model::parse_platform(*platform);
  if (!parsed_platform) {
    return invalid_argument("the expo-platform header must be \"ios\" or \"android\" (lower case)");
  }
  req.platform = *parsed_platform;

  auto runtime = headers.get("expo-runtime-version");
  if (!runtime || runtime->empty()) {
    return invalid_argument(
        "the expo-runtime-version header is missing or empty; send the runtime version the app was "
        "built with");
  }
  req.runtime_version = std::string(*runtime);

  if (auto channel = headers.get("expo-channel-name")) req.channel = std::string(*channel);
  req.current_update_id = read_id(headers, "expo-current-update-id");
  req.embedded_update_id = read_id(headers, "expo-embedded-update-id");
  req.client_id = read_id(headers, "eas-client-id");

  // Presence alone means "sign" (the reference server's tests send "true", not a dictionary).
  if (auto expect = headers.get("expo-expect-signature")) {
    req.expects_signature = true;
    if (auto dict = sfv::parse_dictionary(*expect)) {
      const sfv::Item* keyid = sfv::find(*dict, "keyid");
      if (keyid && keyid->kind == sfv::Item::Kind::kString && !keyid->text.empty()) {
        req.expected_keyid = keyid->text;
      }
    }
  }

  if (auto accept = headers.get("accept")) {
    auto format = negotiate_format(*accept);
    if (!format) {
      return not_acceptable("the Accept header allows none of the formats this server produces (" +
                            std::string(kProducible) + "); accept at least one of them");
    }
    req.format = *format;
  }

  req.recent_failed_update_ids = read_recent_failed(headers);
  return req;
}

namespace {

// Quality in thousandths (RFC 9110 §12.4.2 allows three decimals), so comparisons are exact.
using Quality = int;
constexpr Quality kQualityOne = 1000;

bool is_ows(char c) { return c == ' ' || c == '\t'; }

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
std::optional<Quality> parse_qvalue(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  Quality q = (s[0] - '0') * kQualityOne;
  if (s.size() == 1) return q;
  if (s[1] != '.' || s.size() > 5) return std::nullopt;
  Quality scale = 100;
  for (size_t i = 2; i < s.size(); ++i, scale /= 10) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    q += (s[i] - '0') * scale;
  }
  if (q > kQualityOne) return std::nullopt;
  return q;
}

struct MediaRange {
  std::string_view type;
  std::string_view subtype;
  Quality q = kQualityOne;
};

// Walks an Accept value one media range at a time. A malformed range is skipped up to the next
// comma outside a quoted string; a malformed parameter is ignored.
class AcceptParser {
 public:
  explicit AcceptParser(std::string_view s) : s_(s) {}

  // False at the end of input; otherwise fills `out` and sets `ok` to whether it was well formed.
  bool next(MediaRange& out, bool& ok) {
    while (pos_ < s_.size() && (is_ows(s_[pos_]) || s_[pos_] == ',')) ++pos_;
    if (pos_ >= s_.size()) return false;
    out = MediaRange{};
    ok = parse_range(out);
    skip_to_comma();
    return true;
  }

 private:
  std::string_view token() {
    size_t start = pos_;
    while (pos_ < s_.size() && is_tchar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  void skip_ows() {
    while (pos_ < s_.size() && is_ows(s_[pos_])) ++pos_;
  }

  // Skips a quoted-string starting at pos_ (which is '"'); stops at the end if unterminated.
  void skip_quoted() {
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '\\') {
        if (pos_ < s_.size()) ++pos_;
      } else if (c == '"') {
        return;
      }
    }
  }

  void skip_to_comma() {
    while (pos_ < s_.size() && s_[pos_] != ',') {
      if (s_[pos_] == '"') {
        skip_quoted();
      } else {
        ++pos_;
      }
    }
  }

  bool parse_range(MediaRange& out) {
    out.type = token();
    if (out.type.empty() || pos_ >= s_.size() || s_[pos_] != '/') return false;
    ++pos_;
    out.subtype = token();
    if (out.subtype.empty()) return false;
    if (out.type == "*" && out.subtype != "*") return false;
    while (true) {
      skip_ows();
      if (pos_ >= s_.size() || s_[pos_] == ',') return true;
      if (s_[pos_] != ';') return false;
      ++pos_;
      skip_ows();
      std::string_view name = token();
      if (pos_ >= s_.size() || s_[pos_] != '=') {
        // Not a parameter; ignore it (and anything up to the next ';' or ',').
        while (pos_ < s_.size() && s_[pos_] != ';' && s_[pos_] != ',') {
          if (s_[pos_] == '"') {
            skip_quoted();
          } else {
            ++pos_;
          }
        }
        continue;
      }
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] == '"') {
        skip_quoted();  // quoted values only occur on parameters we do not use
        continue;
      }
      std::string_view value = token();
      if (iequals(name, "q")) {
        if (auto q = parse_qvalue(value)) out.q = *q;
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// The quality an Accept value gives one concrete media type: that of the most specific range
// matching it (RFC 9110 §12.5.1); equally specific duplicates give the highest. -1: none matches.
struct Match {
  int specificity = -1;
  Quality q = 0;

  void offer(const MediaRange& r, std::string_view type, std::string_view subtype) {
    int spec;
    if (r.type == "*") {
      spec = 0;
    } else if (!iequals(r.type, type)) {
      return;
    } else if (r.subtype == "*") {
      spec = 1;
    } else if (iequals(r.subtype, subtype)) {
      spec = 2;
    } else {
      return;
    }
    if (spec > specificity) {
      specificity = spec;
      q = r.q;
    } else if (spec == specificity) {
      q = std::max(q, r.q);
    }
  }
  Quality quality() const { return specificity < 0 ? 0 : q; }
};

}  // namespace

std::optional<ResponseFormat> negotiate_format(std::string_view accept) {
  // An empty Accept expresses no preference; treat it like an absent one.
  if (trim(accept).empty()) return ResponseFormat::kMultipart;
  Match multipart, expo_json, json;
  AcceptParser parser(accept);
  MediaRange range;
  bool ok = false;
  while (parser.next(range, ok)) {
    if (!ok) continue;
    multipart.offer(range, "multipart", "mixed");
    expo_json.offer(range, "application", "expo+json");
    json.offer(range, "application", "json");
  }
  Quality qm = multipart.quality();
  Quality qj = std::max(expo_json.quality(), json.quality());
  if (qm == 0 && qj == 0) return std::nullopt;
  // Multipart whenever it is acceptable at all (checklist 115): only multipart can carry
  // directives and the extensions part, so a bare JSON manifest is the fallback, not a preference.
  return qm > 0 ? ResponseFormat::kMultipart : ResponseFormat::kJson;
}

}  // namespace ota::expo
