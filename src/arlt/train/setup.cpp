#include "arlt/train/setup.h"

#include <algorithm>
#include <filesystem>

#include "arlt/base/error.h"
#include "arlt/base/rng.h"
#include "arlt/base/fs.h"
#include "arlt/base/log.h"
#include "arlt/model/hf_folder.h"
#include "arlt/tokenizer/chat_template.h"

namespace arlt::train {
namespace fs = std::filesystem;

Policy load_policy(const ModelSection& m, const TokenizerSection& tok, const std::string& run_dir, bool value_head,
                   const std::string& weights_dir) {
  const std::string& path = m.path;
  Policy p;
  const std::string from = !weights_dir.empty() ? weights_dir : path;
  if (!from.empty()) {
    if (!fs::exists(fs::path(from) / "config.json"))
      throw Error("model.path: " + from + " is not a model folder (no config.json)");
    model::LoadOptions lo;
    lo.scalar_head = value_head;
    // PPO's critic: a new value head on the starting policy (as verl's critic starts); a
    // checkpoint must hold the head it trained.
    lo.init_head = value_head && weights_dir.empty();
    if (!m.dtype.empty()) lo.dtype = model::parse_dtype(m.dtype, "model.dtype");
    p.model = model::load_model(from, lo);
    p.source = from;
  } else {
    auto config = model::ModelConfig::preset(m.preset);
    if (!m.dtype.empty()) config.dtype = model::parse_dtype(m.dtype, "model.dtype");
    p.model = std::make_shared<model::Transformer>(config, value_head);
    p.model->init_random(m.init_seed);
    p.source = "preset " + m.preset + " (random weights, seed " + std::to_string(m.init_seed) + ")";
  }
  // The tokenizer: tokenizer.path, the model folder's, the run's own, and only then a
  // checkpoint's copy (copied into the run first: old checkpoints are deleted as new ones come).
  std::string tdir = tok.path;
  const fs::path run_tok = fs::path(run_dir) / "tokenizer";
  if (tdir.empty() && !path.empty() && fs::exists(fs::path(path) / "tokenizer.json")) tdir = path;
  if (tdir.empty() && fs::exists(run_tok / "tokenizer.json")) tdir = run_tok.string();
  if (tdir.empty() && !weights_dir.empty() && fs::exists(fs::path(weights_dir) / "tokenizer.json")) {
    fs::create_directories(run_tok);
    model::copy_tokenizer_files(weights_dir, run_tok.string());
    tdir = run_tok.string();
  }
  if (tdir.empty()) {
    // A byte tokenizer with an end-of-text token, kept in the run folder so that checkpoints
    // and exports carry it.
    tdir = (fs::path(run_dir) / "tokenizer").string();
    fs::create_directories(tdir);
    write_json_file(tdir + "/tokenizer.json", tokenizer::byte_tokenizer_json({"<|endoftext|>"}));
    write_json_file(tdir + "/tokenizer_config.json", {{"eos_token", "<|endoftext|>"}, {"pad_token", "<|endoftext|>"}});
  }
  if (!fs::exists(fs::path(tdir) / "tokenizer.json")) throw Error("tokenizer.path: no tokenizer.json in " + tdir);
  p.tokenizer = tokenizer::Tokenizer::from_folder(tdir);
  p.tokenizer_dir = tdir;
  if (p.tokenizer->vocab_size() > p.model->config().vocab_size)
    throw Error("tokenizer " + tdir + " has " + std::to_string(p.tokenizer->vocab_size()) +
                " tokens but the model's vocabulary holds " + std::to_string(p.model->config().vocab_size));
  return p;
}

std::vector<data::Example> load_examples(const DataSection& d, const std::string& split, uint64_t seed) {
  const std::string& file = split == "train" ? d.train : d.test;
  const std::string& task = d.task;
  if (!file.empty()) {
    auto ex = data::load_jsonl_dataset(file, d.prompt_key, d.answer_key);
    for (auto& e : ex)
      if (e.task.empty()) e.task = task;
    return ex;
  }
  if (task.empty()) throw Error("data: give data." + split + " (a JSONL file) or data.task (a built-in task)");
  const int64_t count = split == "train" ? d.train_size : d.test_size;
  if (count <= 0) throw Error("data." + split + "_size: must be > 0");
  return data::make_task_examples(task, split, count, seed, nlohmann::json::parse(d.task_params.value.dump()));
}

std::vector<int64_t> encode_prompt(const tokenizer::Tokenizer& tok, const data::Example& ex, bool chat_template) {
  if (!ex.prompt_ids.empty()) return ex.prompt_ids;
  if (!ex.messages.is_null() || chat_template) {
    if (tok.chat_template().empty())
      throw Error("data.chat_template is on (or the dataset has messages) but the tokenizer has no chat template");
    nlohmann::ordered_json msgs = ex.messages.is_null()
                                      ? nlohmann::ordered_json::array({{{"role", "user"}, {"content", ex.prompt}}})
                                      : nlohmann::ordered_json::parse(ex.messages.dump());
    tokenizer::ChatOptions co;
    co.add_generation_prompt = true;
    co.bos_token = tok.bos_token();
    co.eos_token = tok.eos_token();
    return tok.encode(tokenizer::render_chat_template(tok.chat_template(), msgs, nullptr, co), false);
  }
  return tok.encode(ex.prompt, true);
}

void DataOrder::reshuffle() {
  order_.resize(n_);
  for (int64_t i = 0; i < n_; ++i) order_[i] = i;
  Rng rng(mix_seed(seed_, static_cast<uint64_t>(epoch_), 0x5eed));
  shuffle(order_, rng);
}

int64_t DataOrder::next() {
  if (n_ == 0) throw Error("the dataset is empty");
  if (pos_ >= n_) {
    ++epoch_;
    pos_ = 0;
    reshuffle();
  }
  return order_[pos_++];
}

void DataOrder::load(const Json& s) {
  epoch_ = s.at("epoch").get<int64_t>();
  pos_ = s.at("pos").get<int64_t>();
  reshuffle();
}

}  // namespace arlt::train
