#include "arlt/train/setup.h"

#include <algorithm>
#include <filesystem>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/base/log.h"
#include "arlt/model/hf_folder.h"
#include "arlt/tokenizer/chat_template.h"

namespace arlt::train {
namespace fs = std::filesystem;

Policy load_policy(const Json& cfg, const std::string& run_dir, bool value_head, const std::string& weights_dir) {
  const Json& m = cfg.at("model");
  const std::string path = m.at("path").get<std::string>();
  Policy p;
  const std::string from = !weights_dir.empty() ? weights_dir : path;
  if (!from.empty()) {
    if (!fs::exists(fs::path(from) / "config.json"))
      throw Error("model.path: " + from + " is not a model folder (no config.json)");
    model::LoadOptions lo;
    lo.scalar_head = value_head;
    const std::string dt = m.at("dtype").get<std::string>();
    if (!dt.empty()) lo.dtype = model::parse_dtype(dt, "model.dtype");
    p.model = model::load_model(from, lo);
    p.source = from;
  } else {
    auto config = model::ModelConfig::preset(m.at("preset").get<std::string>());
    const std::string dt = m.at("dtype").get<std::string>();
    if (!dt.empty()) config.dtype = model::parse_dtype(dt, "model.dtype");
    p.model = std::make_shared<model::Transformer>(config, value_head);
    p.model->init_random(m.at("init_seed").get<uint64_t>());
    p.source = "preset " + m.at("preset").get<std::string>() + " (random weights, seed " +
               std::to_string(m.at("init_seed").get<uint64_t>()) + ")";
  }
  // The tokenizer: tokenizer.path, the model folder's, the run's own, and only then a
  // checkpoint's copy (copied into the run first: old checkpoints are deleted as new ones come).
  std::string tdir = cfg.at("tokenizer").at("path").get<std::string>();
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

std::vector<data::Example> load_examples(const Json& d, const std::string& split, uint64_t seed) {
  const std::string file = d.at(split).get<std::string>();
  const std::string task = d.at("task").get<std::string>();
  if (!file.empty()) {
    auto ex = data::load_jsonl_dataset(file, d.at("prompt_key").get<std::string>(), d.at("answer_key").get<std::string>());
    for (auto& e : ex)
      if (e.task.empty()) e.task = task;
    return ex;
  }
  if (task.empty()) throw Error("data: give data." + split + " (a JSONL file) or data.task (a built-in task)");
  const int64_t count = d.at(split + "_size").get<int64_t>();
  if (count <= 0) throw Error("data." + split + "_size: must be > 0");
  nlohmann::json params = nlohmann::json::parse(d.at("task_params").dump());
  params.erase("*");
  return data::make_task_examples(task, split, count, seed, params);
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
  std::mt19937_64 rng(mix_seed(seed_, static_cast<uint64_t>(epoch_), 0x5eed));
  std::shuffle(order_.begin(), order_.end(), rng);
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

uint64_t mix_seed(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (uint64_t v : {a, b, c, d}) {
    x ^= v + 0x9E3779B97F4A7C15ULL + (x << 6) + (x >> 2);
    x ^= x >> 30, x *= 0xBF58476D1CE4E5B9ULL, x ^= x >> 27, x *= 0x94D049BB133111EBULL, x ^= x >> 31;
  }
  return x;
}

}  // namespace arlt::train
