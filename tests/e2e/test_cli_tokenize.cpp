// `arlt tokenizer train` and `arlt tokenize` end to end, through the real binary; the trained
// tokenizer.json is read back by Hugging Face's own tokenizers (Rust, Node binding).
#include <gtest/gtest.h>

#include <fstream>

#include "arlt/base/fs.h"
#include "../test_util.h"

using arlt::test::run_command;
using arlt::test::TempDir;

namespace {
const std::string kArlt = ARLT_BINARY;
const std::string kSrc = ARLT_SOURCE_DIR;

void write(const std::string& path, const std::string& s) { std::ofstream(path, std::ios::binary) << s; }

// Trains a small tokenizer on English + digits + a little Unicode; returns its folder.
std::string train(const TempDir& dir, int vocab = 400) {
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "The answer to " + std::to_string(i) + " plus " + std::to_string(i * 7) + " is " + std::to_string(i * 8) +
            ". Let's think step by step; café — 東京 🙂\n";
  write(dir / "train.txt", text);
  auto r = run_command(kArlt + " tokenizer train --vocab-size " + std::to_string(vocab) + " --input " + (dir / "train.txt") +
                       " --out " + (dir / "tok"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return dir / "tok";
}
}  // namespace

TEST(CliTokenize, TrainEncodeDecodeRoundTrip) {
  TempDir dir;
  const std::string tok = train(dir);
  auto cfg = arlt::read_json_file(tok + "/tokenizer.json");
  EXPECT_EQ(cfg["model"]["vocab"].size(), 400u);
  EXPECT_EQ(cfg["model"]["merges"].size(), 400u - 256 - 3);
  write(dir / "in.txt", "The answer is 42. café 東京 🙂 unseen words: Zebra!");
  auto enc = run_command(kArlt + " tokenize --tokenizer " + tok + " < " + (dir / "in.txt"));
  ASSERT_EQ(enc.exit_code, 0) << enc.output;
  auto ids = nlohmann::json::parse(enc.output);
  ASSERT_TRUE(ids.is_array());
  EXPECT_LT(ids.size(), 40u);  // merges learnt: fewer tokens than the 58 bytes
  write(dir / "ids.json", enc.output);
  auto dec = run_command(kArlt + " tokenize --decode --tokenizer " + tok + " < " + (dir / "ids.json"));
  ASSERT_EQ(dec.exit_code, 0) << dec.output;
  EXPECT_EQ(dec.output, "The answer is 42. café 東京 🙂 unseen words: Zebra!\n");
}

TEST(CliTokenize, JsonlAndSpecialTokens) {
  TempDir dir;
  const std::string tok = train(dir);
  write(dir / "in.jsonl", "\"<|im_start|>user\\nhi<|im_end|>\"\n\"plain\"\n");
  auto r = run_command(kArlt + " tokenize --jsonl --tokenizer " + tok + " < " + (dir / "in.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  std::string l1, l2;
  std::getline(lines, l1);
  std::getline(lines, l2);
  auto a = nlohmann::json::parse(l1);
  EXPECT_EQ(a[0], 398);  // <|im_start|>: the specials follow the 397 bytes + merges
  EXPECT_EQ(a[a.size() - 1], 399);
  EXPECT_TRUE(nlohmann::json::parse(l2).is_array());
  write(dir / "ids.jsonl", l1 + "\n");
  auto d = run_command(kArlt + " tokenize --jsonl --decode --skip-special --tokenizer " + tok + " < " + (dir / "ids.jsonl"));
  ASSERT_EQ(d.exit_code, 0) << d.output;
  EXPECT_EQ(d.output, "\"user\\nhi\"\n");
}

TEST(CliTokenize, HuggingFaceReadsTheTrainedTokenizer) {
  TempDir dir;
  const std::string tok = train(dir);
  const std::vector<std::string> texts = {"The answer to 12 plus 84 is 96.", "café 東京 🙂 ünïcödé", "  spaces\tand\nnewlines  "};
  std::string req, jsonl;
  for (const auto& t : texts) {
    req += nlohmann::json({{"text", t}, {"add_special_tokens", true}}).dump() + "\n";
    jsonl += nlohmann::json(t).dump() + "\n";
  }
  write(dir / "req.jsonl", req);
  write(dir / "in.jsonl", jsonl);
  auto hf = run_command("node " + kSrc + "/tests/tokenizer/ref_tokenizer.mjs --impl hf --tokenizer-dir " + tok + " < " +
                        (dir / "req.jsonl"));
  ASSERT_EQ(hf.exit_code, 0) << hf.output;
  auto ours = run_command(kArlt + " tokenize --jsonl --tokenizer " + tok + " < " + (dir / "in.jsonl"));
  ASSERT_EQ(ours.exit_code, 0) << ours.output;
  std::istringstream a(hf.output), b(ours.output);
  std::string la, lb;
  int n = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    auto ja = nlohmann::json::parse(la);
    ASSERT_TRUE(ja.contains("ids")) << la;
    EXPECT_EQ(ja["ids"], nlohmann::json::parse(lb)) << texts[n];
    EXPECT_EQ(ja["decoded"], texts[n]);
    ++n;
  }
  EXPECT_EQ(n, 3);
}

TEST(CliTokenize, ChatRendersTheTokenizersTemplate) {
  TempDir dir;
  const std::string tok = train(dir);  // trained tokenizers carry the chatml template
  write(dir / "chat.json", R"({"messages": [{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": "2+2?"}],
                               "add_generation_prompt": true})");
  auto r = run_command(kArlt + " tokenize --tokenizer " + tok + " --chat " + (dir / "chat.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
}

TEST(CliTokenize, BadInputIsAClearError) {
  TempDir dir;
  const std::string tok = train(dir);
  write(dir / "bad.jsonl", "\"ok\"\n{not json\n");
  auto r = run_command(kArlt + " tokenize --jsonl --tokenizer " + tok + " < " + (dir / "bad.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("line 2"), std::string::npos) << r.output;
  write(dir / "ids.json", "[1, \"x\"]");
  r = run_command(kArlt + " tokenize --decode --tokenizer " + tok + " < " + (dir / "ids.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("\"x\""), std::string::npos) << r.output;
  write(dir / "ids.json", "[123456789]");
  r = run_command(kArlt + " tokenize --decode --tokenizer " + tok + " < " + (dir / "ids.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("123456789"), std::string::npos) << r.output;
  r = run_command(kArlt + " tokenize --tokenizer " + (dir / "nope") + " < " + (dir / "ids.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("tokenizer.json"), std::string::npos) << r.output;
  write(dir / "chat.json", R"({"messages": [{"content": "no role"}]})");
  r = run_command(kArlt + " tokenize --tokenizer " + tok + " --chat " + (dir / "chat.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("role"), std::string::npos) << r.output;
  write(dir / "chat.json", R"({"messages": [], "add_generation_prompt": true, "temperature": 1})");
  r = run_command(kArlt + " tokenize --tokenizer " + tok + " --chat " + (dir / "chat.json"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("temperature"), std::string::npos) << r.output;
  write(dir / "t.txt", "x");
  r = run_command(kArlt + " tokenizer train --vocab-size 100 --input " + (dir / "t.txt") + " --out " + (dir / "t2"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("vocab-size"), std::string::npos) << r.output;
  // A corrupt tokenizer.json names the component.
  auto j = arlt::read_json_file(tok + "/tokenizer.json");
  j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  arlt::write_json_file(tok + "/tokenizer.json", j);
  r = run_command(kArlt + " tokenize --tokenizer " + tok + " < " + (dir / "t.txt"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("BertPreTokenizer"), std::string::npos) << r.output;
}
