#include "arlt/model/hf_folder.h"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <set>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"
#include "arlt/base/log.h"
#include "arlt/io/safetensors.h"

namespace arlt::model {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string shape_str(c10::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {
      "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
      "vocab.json",     "merges.txt",            "tokenizer.model",         "chat_template.jinja",
      "chat_template.json"};
  return names;
}

std::vector<std::string> copy_tokenizer_files(const std::string& from, const std::string& to) {
  std::vector<std::string> copied;
  if (fs::equivalent(fs::path(from), fs::path(to))) return copied;
  for (const auto& name : tokenizer_file_names()) {
    const fs::path src = fs::path(from) / name;
    if (!fs::exists(src)) continue;
    write_file_atomic((fs::path(to) / name).string(), read_file(src.string()));
    copied.push_back(name);
  }
  return copied;
}

std::shared_ptr<Transformer> load_model(const std::string& dir, const LoadOptions& opt) {
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder (expected a Hugging Face model folder)");
  const std::string config_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(config_path)) throw Error(dir + ": no config.json in this folder");
  ModelConfig config = ModelConfig::load(config_path);
  if (opt.dtype) config.dtype = *opt.dtype;
  auto store = io::TensorStore::open_folder(dir);
  // Before allocating the model: the weights must hold about what config.json implies (a config
  // that implies a huge model next to small weights is an error, not an out-of-memory kill).
  int64_t stored = 0;
  for (const auto& n : store.names()) stored += store.info(n).numel();
  if (config.num_parameters() > stored + stored / 10 + 1000000)
    throw Error(config_path + ": implies " + std::to_string(config.num_parameters()) + " parameters but the weights hold " +
                std::to_string(stored));

  const auto names = store.names();
  const bool has_head = std::any_of(names.begin(), names.end(), [](const std::string& n) { return n.rfind("score_head.", 0) == 0; });
  if (opt.scalar_head && !opt.init_head && !has_head) {
    throw Error(dir + ": has no scalar head (no score_head.* tensor in its weights), and a reward or value model needs one; "
                "to start a new head on this model, ask for it (init_head: true)");
  }
  auto model = std::make_shared<Transformer>(config, opt.scalar_head);
  torch::NoGradGuard no_grad;
  if (opt.scalar_head) {  // the head keeps these when the folder has none (init_head)
    at::Generator gen = at::detail::createCPUGenerator(opt.head_seed);
    for (auto& p : model->score_head->named_parameters(true))
      p.value().copy_(p.key().find("bias") != std::string::npos ? torch::zeros(p.value().sizes())
                                                                 : at::normal(0.0, 0.02, p.value().sizes(), gen));
  }
  std::set<std::string> used;
  for (auto& p : model->named_parameters(true)) {
    const std::string& name = p.key();
    torch::Tensor& param = p.value();
    const bool is_head = name.rfind("score_head.", 0) == 0;
    if (!store.contains(name)) {
      if (is_head) continue;
      throw Error(dir + ": weight '" + name + "' is missing (expected shape " + shape_str(param.sizes()) + " for " +
                  config.architecture + ")");
    }
    const auto& info = store.info(name);
    if (c10::IntArrayRef(info.shape) != param.sizes()) {
      throw Error(store.file_of(name) + ": tensor '" + name + "' has shape " + shape_str(info.shape) +
                  ", expected " + shape_str(param.sizes()) + " from config.json");
    }
    param.copy_(store.tensor(name));  // converts dtype and device where they differ
    used.insert(name);
  }
  if (config.tie_word_embeddings) used.insert("lm_head.weight");  // HF may store the tied copy
  std::vector<std::string> unused;
  for (const auto& n : store.names())
    if (!used.count(n)) unused.push_back(n);
  if (!unused.empty()) {
    std::string list;
    for (size_t i = 0; i < unused.size() && i < 5; ++i) list += (i ? ", " : "") + unused[i];
    if (unused.size() > 5) list += ", ...";
    log_warn(dir, ": ", unused.size(), " tensor(s) not used by ", config.architecture, ": ", list);
  }
  model->to(opt.device);
  return model;
}

void save_model(Transformer& model, const std::string& dir, const SaveOptions& opt) {
  fs::create_directories(dir);
  ModelConfig config = model.config();
  config.dtype = opt.dtype ? *opt.dtype : model.dtype();
  write_json_file((fs::path(dir) / "config.json").string(), config.to_json());

  json gen = json::object();
  const fs::path gen_src = opt.tokenizer_from.empty() ? fs::path() : fs::path(opt.tokenizer_from) / "generation_config.json";
  if (!gen_src.empty() && fs::exists(gen_src)) gen = read_json_file(gen_src.string());
  if (config.bos_token_id >= 0 && !gen.contains("bos_token_id")) gen["bos_token_id"] = config.bos_token_id;
  if (!config.eos_token_ids.empty() && !gen.contains("eos_token_id"))
    gen["eos_token_id"] = config.eos_token_ids.size() == 1 ? json(config.eos_token_ids[0]) : json(config.eos_token_ids);
  gen["_from_model_config"] = gen.value("_from_model_config", true);
  write_json_file((fs::path(dir) / "generation_config.json").string(), gen);

  io::NamedTensors tensors;
  for (auto& [name, t] : model.hf_state()) tensors.emplace_back(name, t.detach().to(torch::kCPU, config.dtype));
  io::write_model_weights(dir, std::move(tensors), opt.max_shard_bytes);
  if (!opt.tokenizer_from.empty()) copy_tokenizer_files(opt.tokenizer_from, dir);
}

}  // namespace arlt::model
