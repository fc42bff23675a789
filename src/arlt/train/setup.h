// What the trainers share before the loop: the policy model and its tokenizer from the config's
// model / tokenizer sections, the examples from the data section, and prompt encoding.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "arlt/base/rng.h"
#include "arlt/data/dataset.h"
#include "arlt/data/tasks.h"
#include "arlt/model/transformer.h"
#include "arlt/tokenizer/tokenizer.h"
#include "arlt/train/settings.h"

namespace arlt::train {

using Json = nlohmann::ordered_json;

struct Policy {
  std::shared_ptr<model::Transformer> model;
  std::shared_ptr<tokenizer::Tokenizer> tokenizer;
  std::string tokenizer_dir;  // folder whose tokenizer files travel with checkpoints and exports
  std::string source;         // where the weights came from (for the log)
};

// model.path (a Hugging Face folder) or model.preset with random weights (model.init_seed);
// tokenizer.path, else the model folder's tokenizer, else a byte tokenizer written to
// RUN/tokenizer. `weights_dir` (a checkpoint's model/) replaces model.path when set.
Policy load_policy(const ModelSection& model, const TokenizerSection& tokenizer, const std::string& run_dir, bool value_head,
                   const std::string& weights_dir = "");

// data.train / data.test (JSONL) or the built-in data.task split, data.train_size / test_size.
// split: "train" or "test".
std::vector<data::Example> load_examples(const DataSection& data, const std::string& split, uint64_t seed);

// Prompt ids: the chat template (when data.chat_template or the example has messages) with the
// generation prompt added, else the plain prompt text.
std::vector<int64_t> encode_prompt(const tokenizer::Tokenizer& tok, const data::Example& ex, bool chat_template);

// Epoch-shuffled order over n items, resumable from its state.
class DataOrder {
 public:
  DataOrder(int64_t n, uint64_t seed) : n_(n), seed_(seed) { reshuffle(); }
  int64_t next();
  Json state() const { return {{"epoch", epoch_}, {"pos", pos_}}; }
  void load(const Json& s);
  int64_t epoch() const { return epoch_; }

 private:
  void reshuffle();
  int64_t n_;
  uint64_t seed_;
  int64_t epoch_ = 0, pos_ = 0;
  std::vector<int64_t> order_;
};

using arlt::mix_seed;  // base/rng.h

}  // namespace arlt::train
