// Hugging Face model folders: config.json, generation_config.json, safetensors weights (single
// or sharded) with HF tensor names, and the tokenizer files copied along.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arlt/model/transformer.h"

namespace arlt::model {

struct LoadOptions {
  std::optional<torch::Dtype> dtype;  // default: the config's torch_dtype
  torch::Device device = torch::kCPU;
  // A scalar head (reward or value model), loaded from the folder's score_head.* tensors. A folder
  // without them is an error naming it, unless init_head asks for a new head (normal(0, 0.02)
  // weight from head_seed, zero bias), as a PPO critic starting from a policy does.
  bool scalar_head = false;
  bool init_head = false;
  uint64_t head_seed = 0;
};

// Loads config.json and the weights; every expected tensor must be present with the right
// shape (errors name the file and tensor). Tensors the model does not use are reported as a warning.
std::shared_ptr<Transformer> load_model(const std::string& dir, const LoadOptions& options = {});

struct SaveOptions {
  std::optional<torch::Dtype> dtype;  // default: the model's dtype
  uint64_t max_shard_bytes = 0;       // 0 = one model.safetensors
  std::string tokenizer_from;         // folder whose tokenizer files are copied along ("" = none)
};

void save_model(Transformer& model, const std::string& dir, const SaveOptions& options = {});

// The tokenizer files a model folder may hold (tokenizer.json, tokenizer_config.json, ...).
const std::vector<std::string>& tokenizer_file_names();
// Copies those present in `from` into `to`; returns the names copied.
std::vector<std::string> copy_tokenizer_files(const std::string& from, const std::string& to);

}  // namespace arlt::model
