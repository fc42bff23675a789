// Tokenizer core: byte tokenizer, components on hand-made tokenizer.json files, errors, fuzz.
#include <gtest/gtest.h>

#include <random>

#include "arlt/base/error.h"
#include "arlt/tokenizer/tokenizer.h"
#include "arlt/tokenizer/unicode.h"

using namespace arlt;
using namespace arlt::tokenizer;
using nlohmann::json;

namespace {

// A tiny byte-level BPE: bytes, merges "h e" -> "he", "he l" -> "hel", "l o" -> "lo"...
json tiny_bpe() {
  json t = byte_tokenizer_json({"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
  auto& vocab = t["model"]["vocab"];
  int64_t id = 259;
  for (const char* m : {"he", "ll", "hell", "hello", "Ġw", "Ġwo"}) vocab[m] = id++;
  t["model"]["merges"] = {"h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o"};
  t["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  return t;
}

std::string expect_error(const json& t) {
  try {
    Tokenizer::from_json(t);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Unicode, LossyDecodingReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("a\x80z"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(utf8_lossy("\xE2\x82"), "\xEF\xBF\xBD");                             // truncated: one U+FFFD
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                 // overlong: two
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: three
  EXPECT_EQ(utf8_lossy("h\xC3\xA9llo"), "h\xC3\xA9llo");
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

TEST(Tokenizer, ByteTokenizerRoundTripsAnyText) {
  auto t = Tokenizer::from_json(byte_tokenizer_json({"<s>", "</s>"}));
  EXPECT_EQ(t->vocab_size(), 258);
  const std::string text = "héllo, 世界 🙂\n\t<s>x";
  auto ids = t->encode(text);
  // 1 + 2 + 4 + 2 + 3*2 + 1 + 4 + 2 = bytes of the text, except "<s>" which is one token
  EXPECT_EQ(ids.back(), 'x');
  EXPECT_EQ(ids[ids.size() - 2], 256);
  EXPECT_EQ(t->decode(ids), text);
  EXPECT_EQ(t->decode(ids, /*skip_special_tokens=*/true), "héllo, 世界 🙂\n\tx");
}

TEST(Tokenizer, BpeMergesByRank) {
  auto t = Tokenizer::from_json(tiny_bpe());
  auto ids = t->encode("hello world");
  // "hello" -> one token; " world" -> "Ġwo" + r + l + d
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(ids[0], t->token_to_id("hello"));
  EXPECT_EQ(ids[1], t->token_to_id("Ġwo"));
  EXPECT_EQ(t->decode(ids), "hello world");
}

TEST(Tokenizer, AddedTokensSplitBeforeTheModel) {
  auto t = Tokenizer::from_json(tiny_bpe());
  auto ids = t->encode("<|im_start|>hello<|im_end|><|im_start");
  EXPECT_EQ(ids[0], t->token_to_id("<|im_start|>"));
  EXPECT_EQ(ids[1], t->token_to_id("hello"));
  EXPECT_EQ(ids[2], t->token_to_id("<|im_end|>"));
  EXPECT_EQ(t->decode(ids), "<|im_start|>hello<|im_end|><|im_start");
  EXPECT_EQ(t->decode(ids, true), "hello<|im_start");
}

TEST(Tokenizer, AddedTokenStripAndSingleWord) {
  json j = tiny_bpe();
  j["added_tokens"] = json::array({{{"id", 300}, {"content", "[M]"}, {"lstrip", true}, {"rstrip", true},
                                    {"single_word", false}, {"normalized", false}, {"special", true}},
                                   {{"id", 301}, {"content", "he"}, {"lstrip", false}, {"rstrip", false},
                                    {"single_word", true}, {"normalized", false}, {"special", false}}});
  auto t = Tokenizer::from_json(j);
  auto ids = t->encode("a  [M]  b");
  ASSERT_EQ(ids.size(), 3u);  // "a", "[M]" with the spaces around it, "b"
  EXPECT_EQ(ids[1], 300);
  // single_word: "he" alone is the added token, inside "hello" it is not.
  EXPECT_EQ(t->encode("he")[0], 301);
  EXPECT_EQ(t->encode("hello")[0], t->token_to_id("hello"));
}

TEST(Tokenizer, NormalizersAndMetaspace) {
  json j = byte_tokenizer_json({});
  j["normalizer"] = {{"type", "Sequence"},
                     {"normalizers", {{{"type", "NFKC"}}, {{"type", "Lowercase"}}, {{"type", "Strip"}}}}};
  auto t = Tokenizer::from_json(j);
  EXPECT_EQ(t->decode(t->encode("  ＡＢＣ Ｉ  ")), "abc i");  // full-width folded, lowered, stripped
  // Metaspace with prepend_scheme first: only the start of the input gets the prefix.
  json m = {{"model", {{"type", "BPE"}, {"vocab", {{"<unk>", 0}, {"▁", 1}, {"a", 2}, {"b", 3}, {"▁a", 4}, {"▁b", 5}, {"<s>", 6}}},
                       {"merges", {"▁ a", "▁ b"}}, {"unk_token", "<unk>"}}},
            {"added_tokens", {{{"id", 6}, {"content", "<s>"}, {"special", true}, {"normalized", false}}}},
            {"pre_tokenizer", {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "first"}, {"split", true}}},
            {"decoder", {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "first"}}}};
  auto ms = Tokenizer::from_json(m);
  EXPECT_EQ(ms->encode("a b"), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(ms->encode("<s>a b"), (std::vector<int64_t>{6, 2, 5}));
  EXPECT_EQ(ms->encode("a?"), (std::vector<int64_t>{4, 0}));  // '?' is unknown
  EXPECT_EQ(ms->decode({4, 5}), "a b");
}

TEST(Tokenizer, ByteFallbackAndFusedUnk) {
  json m = {{"model", {{"type", "BPE"}, {"vocab", {{"<unk>", 0}, {"a", 1}, {"<0xC3>", 2}, {"<0xA9>", 3}}}, {"merges", json::array()},
                       {"unk_token", "<unk>"}, {"byte_fallback", true}, {"fuse_unk", true}}},
            {"decoder", {{"type", "Sequence"}, {"decoders", {{{"type", "ByteFallback"}}, {{"type", "Fuse"}}}}}}};
  auto t = Tokenizer::from_json(m);
  EXPECT_EQ(t->encode("aé"), (std::vector<int64_t>{1, 2, 3}));  // é = C3 A9 by byte fallback
  EXPECT_EQ(t->encode("a世界"), (std::vector<int64_t>{1, 0}));  // no byte tokens for 世: one fused unk
  EXPECT_EQ(t->decode({1, 2, 3}), "aé");
  EXPECT_EQ(t->decode({2, 1}), "\xEF\xBF\xBD" "a");  // a lone C3 byte decodes to U+FFFD
}

TEST(Tokenizer, MalformedTokenizerJsonNamesTheComponent) {
  json j = tiny_bpe();
  j.erase("model");
  EXPECT_NE(expect_error(j).find("model"), std::string::npos);
  j = tiny_bpe();
  j["model"]["merges"].push_back("Ġ zzz");
  std::string msg = expect_error(j);
  EXPECT_NE(msg.find("merges"), std::string::npos) << msg;
  EXPECT_NE(msg.find("zzz"), std::string::npos) << msg;
  j = tiny_bpe();
  j["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
  msg = expect_error(j);
  EXPECT_NE(msg.find("pre_tokenizer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("UnicodeScripts"), std::string::npos) << msg;
  j = tiny_bpe();
  j["normalizer"] = {{"type", "BertNormalizer"}};
  EXPECT_NE(expect_error(j).find("BertNormalizer"), std::string::npos);
  j = tiny_bpe();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_NE(expect_error(j).find("WordPiece"), std::string::npos);
  j = tiny_bpe();
  j["model"]["type"] = "Unigram";
  EXPECT_NE(expect_error(j).find("Unigram"), std::string::npos);
  j = tiny_bpe();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}};
  EXPECT_NE(expect_error(j).find("(unclosed"), std::string::npos);
  j = tiny_bpe();
  j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "<x>"}}}}}},
                         {"special_tokens", json::object()}};
  EXPECT_NE(expect_error(j).find("<x>"), std::string::npos);
}

TEST(Tokenizer, DecodeUnknownIdIsAnError) {
  auto t = Tokenizer::from_json(tiny_bpe());
  EXPECT_THROW(t->decode({999999}), Error);
  EXPECT_THROW(t->decode({-1}), Error);
}

TEST(Tokenizer, RandomBytesNeverCrash) {
  auto t = Tokenizer::from_json(tiny_bpe());
  std::mt19937 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    auto ids = t->encode(s);
    EXPECT_EQ(t->decode(ids), utf8_lossy(s));  // byte-level BPE is lossless on the lossy text
  }
}

TEST(Tokenizer, BatchEncodeEqualsOneByOne) {
  auto t = Tokenizer::from_json(tiny_bpe());
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back("hello world " + std::to_string(i * 7919) + " <|im_end|>");
  auto batch = t->encode_batch(texts, true, 2);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], t->encode(texts[i])) << i;
}

TEST(Tokenizer, ReviewedEdgeCases) {
  // A container where a vocabulary id is expected is an error, not a crash.
  for (const char* bad : {R"({"model":{"type":"BPE","vocab":{"a":[1]},"merges":[]}})",
                          R"({"model":{"type":"BPE","vocab":{"a":{}},"merges":[]}})",
                          R"({"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a",["b"]]]}})",
                          R"({"model":{"type":"BPE","vocab":{"a":"x"},"merges":[]}})"}) {
    EXPECT_THROW(Tokenizer::from_text(bad, nullptr, "t.json"), Error) << bad;
  }
  // Wrong JSON types are arlt errors naming the file.
  try {
    Tokenizer::from_text(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"added_tokens":[{"id":1,"content":"<x>","special":1}]})",
                         nullptr, "t.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.json"), std::string::npos) << e.what();
  }
  // Split with MergedWithPrevious: consecutive delimiters are not chained (HF's documented example
  // gives the-, final-, -, countdown). ignore_merges makes each piece in the vocabulary one token.
  json sp = {{"model", {{"type", "BPE"}, {"ignore_merges", true}, {"merges", json::array()},
                        {"vocab", {{"the-", 0}, {"final-", 1}, {"-", 2}, {"countdown", 3}, {"x", 4}, {"²", 5}, {"٣", 6}}}}},
             {"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", "MergedWithPrevious"}}}};
  EXPECT_EQ(Tokenizer::from_json(sp)->encode("the-final--countdown"), (std::vector<int64_t>{0, 1, 2, 3}));
  // Digits: any Unicode number is a digit (Rust's char::is_numeric).
  sp["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
  EXPECT_EQ(Tokenizer::from_json(sp)->encode("x²٣"), (std::vector<int64_t>{4, 5, 6}));
  // Metaspace decoder: every replacement character of the first token goes.
  json m = {{"model", {{"type", "BPE"}, {"vocab", {{"▁▁", 0}, {"Hi", 1}}}, {"merges", json::array()}}},
            {"decoder", {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}}}};
  EXPECT_EQ(Tokenizer::from_json(m)->decode({0, 1}), "Hi");
  // Sparse ids and out-of-range added-token ids are rejected.
  EXPECT_THROW(Tokenizer::from_text(R"({"model":{"type":"BPE","vocab":{"a":2000000000},"merges":[]}})", nullptr, "t.json"), Error);
  EXPECT_THROW(Tokenizer::from_text(R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"added_tokens":[{"id":-5,"content":"<x>"}]})",
                                    nullptr, "t.json"), Error);
}

TEST(Tokenizer, LlamaClassHonoursAddBosToken) {
  json j = byte_tokenizer_json({"<s>", "</s>"});
  json cfg = {{"tokenizer_class", "LlamaTokenizerFast"}, {"bos_token", "<s>"}, {"eos_token", "</s>"}};
  auto with_bos = Tokenizer::from_json(j, cfg);
  EXPECT_EQ(with_bos->encode("a"), (std::vector<int64_t>{256, 'a'}));  // add_bos_token defaults to true
  cfg["add_bos_token"] = false;
  cfg["add_eos_token"] = true;
  auto eos_only = Tokenizer::from_json(j, cfg);
  EXPECT_EQ(eos_only->encode("a"), (std::vector<int64_t>{'a', 257}));
  EXPECT_EQ(eos_only->encode("a", false), (std::vector<int64_t>{'a'}));
}
