// `arlt generate` end to end: a tiny model folder with a trained tokenizer, JSONL out.
#include <gtest/gtest.h>

#include <fstream>

#include "arlt/base/fs.h"
#include "../test_util.h"

using arlt::test::run_command;
using arlt::test::TempDir;

namespace {
const std::string kArlt = ARLT_BINARY;

std::string make_model(const TempDir& dir) {
  std::ofstream(dir / "train.txt") << std::string(
      "hello world, this is a tiny corpus for a tiny tokenizer. hello again, world!\n").append(2000, 'a');
  auto r = run_command(kArlt + " tokenizer train --vocab-size 300 --input " + (dir / "train.txt") + " --out " + (dir / "m"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_command(kArlt + " init-model --config tiny --seed 3 --out " + (dir / "m"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return dir / "m";
}

std::vector<nlohmann::json> lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] == '{') v.push_back(nlohmann::json::parse(l));
  return v;
}
}  // namespace

TEST(CliGenerate, PromptsToJsonl) {
  TempDir dir;
  const std::string m = make_model(dir);
  auto r = run_command(kArlt + " generate --quiet --model " + m + " --prompt 'hello' --prompt 'world' --max-tokens 6 --temperature 0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto out = lines(r.output);
  ASSERT_EQ(out.size(), 2u) << r.output;
  EXPECT_EQ(out[0]["prompt"], "hello");
  EXPECT_LE(out[0]["tokens"].size(), 6u);
  EXPECT_EQ(out[0]["tokens"].size(), out[0]["logprobs"].size());
  EXPECT_TRUE(out[0]["finish_reason"] == "length" || out[0]["finish_reason"] == "stop");
  for (const auto& lp : out[0]["logprobs"]) EXPECT_LE(lp.get<double>(), 0.0);
}

TEST(CliGenerate, SeededSamplingIsReproducible) {
  TempDir dir;
  const std::string m = make_model(dir);
  std::ofstream(dir / "p.jsonl") << "{\"prompt_ids\": [104, 101, 108], \"n\": 3, \"seed\": 5}\n{\"prompt\": \"hi\", \"temperature\": 0}\n";
  const std::string cmd = kArlt + " generate --quiet --model " + m + " --prompts " + (dir / "p.jsonl") + " --max-tokens 8 --temperature 1";
  auto a = run_command(cmd), b = run_command(cmd);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_EQ(a.output, b.output);
  auto out = lines(a.output);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[2]["index"], 2);
}

TEST(CliGenerate, BadInputIsAClearError) {
  TempDir dir;
  const std::string m = make_model(dir);
  std::ofstream(dir / "p.jsonl") << "{\"prompt\": \"ok\"}\n{\"prompt\": \"x\", \"temprature\": 1}\n";
  auto r = run_command(kArlt + " generate --quiet --model " + m + " --prompts " + (dir / "p.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("p.jsonl:2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("temprature"), std::string::npos) << r.output;
  std::ofstream(dir / "q.jsonl") << "not json\n";
  r = run_command(kArlt + " generate --quiet --model " + m + " --prompts " + (dir / "q.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("q.jsonl:1"), std::string::npos) << r.output;
  r = run_command(kArlt + " generate --quiet --model " + m + " --prompt hi --top-p 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("top_p"), std::string::npos) << r.output;
  r = run_command(kArlt + " generate --quiet --model " + m + " --prompt hi --max-tokens 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("max_tokens"), std::string::npos) << r.output;
  std::ofstream(dir / "long.jsonl") << "{\"prompt\": \"" << std::string(5000, 'z') << "\"}\n";
  r = run_command(kArlt + " generate --quiet --model " + m + " --prompts " + (dir / "long.jsonl"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("context"), std::string::npos) << r.output;
}
