#include "protocol/expo/sfv.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ota::expo::sfv {
namespace {

using Kind = Item::Kind;

Item only_item(std::string_view header) {
  auto list = parse_list(header);
  EXPECT_TRUE(list.has_value()) << header;
  if (!list || list->size() != 1) {
    ADD_FAILURE() << "expected exactly one item in " << header;
    return {};
  }
  return (*list)[0];
}

bool list_fails(std::string_view header) { return !parse_list(header).has_value(); }

// ---- dictionaries --------------------------------------------------------------------------------

TEST(SfvDictionary, ParsesExpoExpectSignature) {
  auto d = parse_dictionary(R"(sig, keyid="main", alg="rsa-v1_5-sha256")");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].first, "sig");
  EXPECT_EQ((*d)[0].second.kind, Kind::kBoolean);
  EXPECT_TRUE((*d)[0].second.boolean);
  const Item* keyid = find(*d, "keyid");
  ASSERT_NE(keyid, nullptr);
  EXPECT_EQ(keyid->kind, Kind::kString);
  EXPECT_EQ(keyid->text, "main");
  EXPECT_EQ(find(*d, "alg")->text, "rsa-v1_5-sha256");
  EXPECT_EQ(find(*d, "missing"), nullptr);
}

TEST(SfvDictionary, RfcExampleWithBytesAndBoolean) {
  // RFC 8941 §3.2
  auto d = parse_dictionary("en=\"Applepie\", da=:w4ZibGV0w6ZydGU=:");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ(find(*d, "en")->text, "Applepie");
  EXPECT_EQ(find(*d, "da")->kind, Kind::kBytes);
  EXPECT_EQ(find(*d, "da")->text,
            "\xc3\x86"
            "blet\xc3\xa6rte");

  auto b = parse_dictionary("a=?0, b, c; foo=bar");
  ASSERT_TRUE(b);
  ASSERT_EQ(b->size(), 3u);
  EXPECT_FALSE(find(*b, "a")->boolean);
  EXPECT_TRUE(find(*b, "b")->boolean);
  EXPECT_EQ(find(*b, "c")->kind, Kind::kBoolean);
  EXPECT_TRUE(find(*b, "c")->boolean);
}

TEST(SfvDictionary, EmptyHeaderIsEmptyDictionary) {
  auto d = parse_dictionary("");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->empty());
  auto spaces = parse_dictionary("   ");
  ASSERT_TRUE(spaces);
  EXPECT_TRUE(spaces->empty());
}

TEST(SfvDictionary, LaterDuplicateReplacesEarlierInPlace) {
  auto d = parse_dictionary("a=1, b=2, a=3");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].first, "a");
  EXPECT_EQ((*d)[0].second.integer, 3);
  EXPECT_EQ((*d)[1].first, "b");
}

TEST(SfvDictionary, ParametersAreParsedAndIgnored) {
  auto d = parse_dictionary(R"(abc=123;a=1;b=2, def="x";q=?0;k=:aGk=:;t=tok)");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ(find(*d, "abc")->integer, 123);
  EXPECT_EQ(find(*d, "def")->text, "x");
}

TEST(SfvDictionary, InnerListMembersAreSkipped) {
  auto d = parse_dictionary(R"(a=(1 2 "x");lvl=5, b="kept", c=();p)");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].first, "b");
  EXPECT_EQ(find(*d, "a"), nullptr);
  EXPECT_EQ(find(*d, "c"), nullptr);
}

TEST(SfvDictionary, InnerListDuplicateRemovesEarlierMember) {
  auto d = parse_dictionary(R"(a="x", a=(1))");
  ASSERT_TRUE(d);
  EXPECT_EQ(find(*d, "a"), nullptr);
}

TEST(SfvDictionary, MalformedInnerListFailsWholeDictionary) {
  EXPECT_FALSE(parse_dictionary("a=(1 2"));
  EXPECT_FALSE(parse_dictionary("a=(1,2)"));
  EXPECT_FALSE(parse_dictionary("a=(1(2))"));
}

TEST(SfvDictionary, ToleratesOwsAroundCommasAndLeadingTrailingSpaces) {
  auto d = parse_dictionary("  a=1 ,\tb=2  ");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size(), 2u);
}

TEST(SfvDictionary, InvalidInputsAreNullopt) {
  for (std::string_view bad : {
           "true=",     // missing value
           "A=1",       // upper-case key
           "1a=1",      // key starting with a digit
           "a=1,",      // trailing comma
           ",a=1",      // leading comma
           "a=1,,b=2",  // empty member
           "a=1 b=2",   // missing comma
           "a=\"unterminated",
           "a=\"bad\\escape\"",
           "a=@123",    // dates are RFC 9651, not 8941
           "a=%\"x\"",  // display strings likewise
           "a=1;",      // parameter without a key
           "a=1; B=2",  // parameter key upper case
           "\ta=1",     // leading tab is not SP
           "a=?2",
           "a=-",
           "a=1.",
           "a=:not base64!:",
       }) {
    EXPECT_FALSE(parse_dictionary(bad)) << bad;
  }
}

TEST(SfvDictionary, BareTrueIsADictionaryWithOneBooleanMember) {
  // What the reference server's tests send as expo-expect-signature.
  auto d = parse_dictionary("true");
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].first, "true");
  EXPECT_EQ((*d)[0].second.kind, Kind::kBoolean);
}

TEST(SfvDictionary, SixtyFourMembersParseSixtyFiveFail) {
  std::string h;
  for (int i = 0; i < 64; ++i) h += (i ? ", k" : "k") + std::to_string(i) + "=1";
  auto d = parse_dictionary(h);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->size(), 64u);
  EXPECT_FALSE(parse_dictionary(h + ", k64=1"));
  // Duplicates count too: the cap bounds work, not distinct keys.
  std::string dup;
  for (int i = 0; i < 65; ++i) dup += i ? ", a" : "a";
  EXPECT_FALSE(parse_dictionary(dup));
}

// ---- lists and bare items ------------------------------------------------------------------------

TEST(SfvList, ParsesRecentFailedUpdateIdsShape) {
  auto l = parse_list(R"("7b0f0c2e-0000-4000-8000-000000000001", "1a2c0000-0000-4000-8000-000000000002")");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].kind, Kind::kString);
  EXPECT_EQ((*l)[1].text, "1a2c0000-0000-4000-8000-000000000002");
}

TEST(SfvList, EmptyHeaderIsEmptyList) {
  auto l = parse_list("");
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->empty());
}

TEST(SfvList, InnerListFailsTheList) {
  EXPECT_TRUE(list_fails(R"("a", ("b" "c"))"));
  EXPECT_TRUE(list_fails("()"));
}

TEST(SfvList, SixtyFourMembersParseSixtyFiveFail) {
  std::string h = "1";
  for (int i = 1; i < 64; ++i) h += ", 1";
  auto l = parse_list(h);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->size(), 64u);
  EXPECT_TRUE(list_fails(h + ", 1"));
}

TEST(SfvItem, StringsWithEscapes) {
  Item s = only_item(R"("say \"hi\" \\ bye")");
  EXPECT_EQ(s.kind, Kind::kString);
  EXPECT_EQ(s.text, R"(say "hi" \ bye)");
  EXPECT_EQ(only_item(R"("")").text, "");
  EXPECT_TRUE(list_fails("\"tab\there\""));
  EXPECT_TRUE(list_fails("\"\x7f\""));
  EXPECT_TRUE(list_fails("\"\xc3\xa9\""));
  EXPECT_TRUE(list_fails(R"("\n")"));
  EXPECT_TRUE(list_fails(R"("trailing\)"));
}

TEST(SfvItem, Tokens) {
  Item t = only_item("foo123/456:bar*");
  EXPECT_EQ(t.kind, Kind::kToken);
  EXPECT_EQ(t.text, "foo123/456:bar*");
  EXPECT_EQ(only_item("*star").text, "*star");
  EXPECT_EQ(only_item("Upper").text, "Upper");
  EXPECT_TRUE(list_fails("_x"));
}

TEST(SfvItem, IntegersUpToFifteenDigits) {
  EXPECT_EQ(only_item("42").integer, 42);
  EXPECT_EQ(only_item("-42").integer, -42);
  EXPECT_EQ(only_item("0").integer, 0);
  EXPECT_EQ(only_item("007").integer, 7);
  Item max = only_item("999999999999999");
  EXPECT_EQ(max.kind, Kind::kInteger);
  EXPECT_EQ(max.integer, 999999999999999);
  EXPECT_EQ(only_item("-999999999999999").integer, -999999999999999);
  EXPECT_TRUE(list_fails("1000000000000000"));
  EXPECT_TRUE(list_fails("-1000000000000000"));
  EXPECT_TRUE(list_fails("99999999999999999999999999999999"));
  EXPECT_TRUE(list_fails("- 1"));
  EXPECT_TRUE(list_fails("+1"));
}

TEST(SfvItem, Decimals) {
  Item d = only_item("4.5");
  EXPECT_EQ(d.kind, Kind::kDecimal);
  EXPECT_DOUBLE_EQ(d.decimal, 4.5);
  EXPECT_DOUBLE_EQ(only_item("-0.25").decimal, -0.25);
  EXPECT_DOUBLE_EQ(only_item("123456789012.123").decimal, 123456789012.123);
  EXPECT_TRUE(list_fails("1234567890123.1"));  // 13 integer digits
  EXPECT_TRUE(list_fails("1.2345"));           // 4 fractional digits
  EXPECT_TRUE(list_fails("1."));
  EXPECT_TRUE(list_fails("1.2.3"));
}

TEST(SfvItem, Booleans) {
  Item t = only_item("?1");
  EXPECT_EQ(t.kind, Kind::kBoolean);
  EXPECT_TRUE(t.boolean);
  EXPECT_FALSE(only_item("?0").boolean);
  EXPECT_TRUE(list_fails("?"));
  EXPECT_TRUE(list_fails("?true"));
}

TEST(SfvItem, ByteSequences) {
  Item b = only_item(":aGVsbG8=:");
  EXPECT_EQ(b.kind, Kind::kBytes);
  EXPECT_EQ(b.text, "hello");
  EXPECT_EQ(only_item("::").text, "");
  EXPECT_EQ(only_item(":aGVsbG8:").text, "hello");  // missing padding tolerated (RFC 8941 §4.2.7)
  EXPECT_TRUE(list_fails(":aGVsbG8="));             // unterminated
  EXPECT_TRUE(list_fails(":aGVs bG8=:"));
  EXPECT_TRUE(list_fails(":aGVsbG8-:"));  // URL alphabet
  EXPECT_TRUE(list_fails(":a:"));         // dangling sextet
  EXPECT_TRUE(list_fails(":aG=Vs:"));     // padding in the middle
}

TEST(SfvItem, ParametersOnListItemsAreIgnored) {
  auto l = parse_list(R"("a";x=1;y, tok;z=?0)");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].text, "a");
  EXPECT_EQ((*l)[1].text, "tok");
}

TEST(SfvParsers, RandomBytesNeverCrashOrHang) {
  std::mt19937 rng(1234);
  const std::string alphabet = "\"\\:;=,()?-.*0123456789abcAZ \t\x01\xff";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<size_t> len(0, 64);
  for (int i = 0; i < 20000; ++i) {
    std::string s(len(rng), '\0');
    for (char& c : s) c = alphabet[pick(rng)];
    (void)parse_dictionary(s);
    (void)parse_list(s);
  }
}

TEST(SfvParsers, LargeInputIsFine) {
  std::string big(1 << 20, 'a');
  EXPECT_TRUE(parse_list(big));  // one long token
  std::string s = "\"" + std::string(1 << 20, 'x');
  EXPECT_FALSE(parse_list(s));  // unterminated string, read to the end and no further
}

// ---- serialisation -------------------------------------------------------------------------------

TEST(SfvSerializeString, QuotesAndEscapes) {
  EXPECT_EQ(serialize_string("main"), "\"main\"");
  EXPECT_EQ(serialize_string(""), "\"\"");
  EXPECT_EQ(serialize_string(R"(a"b\c)"), R"("a\"b\\c")");
}

TEST(SfvSerializeString, RejectsBytesOutsidePrintableAscii) {
  EXPECT_FALSE(serialize_string("a\nb"));
  EXPECT_FALSE(serialize_string("tab\t"));
  EXPECT_FALSE(serialize_string(std::string_view("nul\0", 4)));
  EXPECT_FALSE(serialize_string("\x7f"));
  EXPECT_FALSE(serialize_string("caf\xc3\xa9"));
}

TEST(SfvSerializeString, RoundTripsThroughTheParser) {
  std::string all;
  for (int c = 0x20; c <= 0x7e; ++c) all.push_back(static_cast<char>(c));
  auto s = serialize_string(all);
  ASSERT_TRUE(s);
  Item parsed = only_item(*s);
  EXPECT_EQ(parsed.kind, Kind::kString);
  EXPECT_EQ(parsed.text, all);
}

TEST(SfvKey, Validity) {
  EXPECT_TRUE(is_valid_key("keyid"));
  EXPECT_TRUE(is_valid_key("*"));
  EXPECT_TRUE(is_valid_key("a1_-.*"));
  EXPECT_TRUE(is_valid_key("expo-channel-name"));
  EXPECT_FALSE(is_valid_key(""));
  EXPECT_FALSE(is_valid_key("Keyid"));
  EXPECT_FALSE(is_valid_key("1a"));
  EXPECT_FALSE(is_valid_key("-a"));
  EXPECT_FALSE(is_valid_key("a b"));
  EXPECT_FALSE(is_valid_key("a/b"));
}

}  // namespace
}  // namespace ota::expo::sfv
