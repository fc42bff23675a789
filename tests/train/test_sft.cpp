// The SFT trainer: the loss falls, only response tokens are trained, resume is bit-exact, chat
// datasets are masked per assistant turn, export writes a loadable folder, and bad datasets are
// errors naming file and line.
#include <gtest/gtest.h>

#include <sstream>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/config/config.h"
#include "arlt/io/safetensors.h"
#include "arlt/model/hf_folder.h"
#include "arlt/train/checkpoint.h"
#include "arlt/tokenizer/chat_template.h"
#include "arlt/tokenizer/tokenizer.h"
#include "arlt/train/sft.h"
#include "../test_util.h"

using namespace arlt;

namespace {

nlohmann::ordered_json small_sft(const std::string& out, std::vector<std::string> extra = {}) {
  auto c = train::sft_defaults();
  std::vector<std::string> o = {"run.out=" + out, "run.steps=30", "run.eval_every=30", "data.task=addition",
                                "data.train_size=200", "data.val_size=50", "data.max_len=48", "trainer.batch_size=8",
                                "trainer.micro_batch_size=4", "trainer.lr=3e-3"};
  o.insert(o.end(), extra.begin(), extra.end());
  for (const auto& s : o) config::apply_override(c, s);
  return c;
}

std::string sft_error(const nlohmann::ordered_json& c) {
  try {
    train::run_sft(c, {false, 0, true});
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an arlt::Error";
  return "";
}

}  // namespace

TEST(TrainSFT, ValidationLossFallsAndResumeIsBitExact) {
  test::TempDir dir;
  auto s = train::run_sft(small_sft(dir / "a", {"run.save_every=10", "run.keep=1"}), {false, 0, true});
  EXPECT_EQ(s.steps_done, 30);
  EXPECT_LT(s.last_val_loss, 0.7 * s.first_val_loss);
  EXPECT_EQ(train::list_checkpoints(dir / "a").size(), 1u);

  train::run_sft(small_sft(dir / "b", {"run.save_every=10", "run.keep=1"}), {false, 20, true});
  train::run_sft(small_sft(dir / "b", {"run.save_every=10", "run.keep=1"}), {true, 0, true});
  auto fa = io::SafeTensorsFile::open(dir / "a/model/model.safetensors");
  auto fb = io::SafeTensorsFile::open(dir / "b/model/model.safetensors");
  for (const auto& t : fa->tensors()) EXPECT_TRUE(torch::equal(fa->tensor(t.name), fb->tensor(t.name))) << t.name;

  // export: the newest checkpoint as a Hugging Face folder that loads, with the tokenizer.
  auto r = test::run_command(std::string(ARLT_BINARY) + " export " + (dir / "a") + " --out " + (dir / "exp"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "exp/tokenizer.json"));
  auto m = model::load_model(dir / "exp");
  EXPECT_EQ(m->config().vocab_size, model::ModelConfig::preset("tiny").vocab_size);
}

TEST(TrainSFT, ChatDatasetTrainsAssistantTurnsOnly) {
  test::TempDir dir;
  // A byte tokenizer with the chatml tokens and template.
  const std::string tok = dir / "tok";
  std::filesystem::create_directories(tok);
  write_json_file(tok + "/tokenizer.json", tokenizer::byte_tokenizer_json({"<|im_start|>", "<|im_end|>", "<|endoftext|>"}));
  write_json_file(tok + "/tokenizer_config.json",
                  {{"eos_token", "<|im_end|>"}, {"chat_template", tokenizer::builtin_chat_template("chatml")}});
  const std::string data = dir / "chat.jsonl";
  std::string lines;
  for (int i = 0; i < 20; ++i)
    lines += R"({"messages": [{"role": "user", "content": "hi )" + std::to_string(i) +
             R"("}, {"role": "assistant", "content": "hello"}, {"role": "user", "content": "again"}, {"role": "assistant", "content": "yes"}]})" "\n";
  write_file_atomic(data, lines);
  auto s = train::run_sft(small_sft(dir / "r", {"data.task=''", "data.train=" + data, "tokenizer.path=" + tok,
                                                "data.max_len=128", "run.eval_every=0"}),
                          {false, 0, true});
  EXPECT_EQ(s.train_sequences, 20);
  EXPECT_LT(s.last_loss, 2.0);  // "hello" / "yes" + end tokens are easy to learn; the users' text is not trained
}

TEST(TrainSFT, BadDatasetsNameFileAndLine) {
  test::TempDir dir;
  const std::string f = dir / "d.jsonl";
  write_file_atomic(f, "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\"}\n");
  EXPECT_NE(sft_error(small_sft(dir / "r", {"data.task=''", "data.train=" + f})).find(f + ":2"), std::string::npos);
  write_file_atomic(f, "{\"prompt\": \"a\", \"response\": \"b\"}\n[1,2]\n");
  EXPECT_NE(sft_error(small_sft(dir / "r", {"data.task=''", "data.train=" + f})).find(f + ":2"), std::string::npos);
  write_file_atomic(f, "\n{oops\n");
  EXPECT_NE(sft_error(small_sft(dir / "r", {"data.task=''", "data.train=" + f})).find(f + ":2: not valid JSON"), std::string::npos);
  EXPECT_NE(sft_error(small_sft(dir / "r", {"data.task=''", "data.train=" + (dir / "missing.jsonl")})).find("missing.jsonl"),
            std::string::npos);
  EXPECT_NE(sft_error(small_sft(dir / "r", {"trainer.micro_batch_size=3"})).find("micro_batch_size"), std::string::npos);
}
