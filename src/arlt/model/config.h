// ModelConfig: the fields of a Hugging Face config.json that define a decoder-only
// transformer (Llama, Qwen2, Qwen3 families), validated with errors that name the key.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace arlt::model {

struct RopeScaling {
  std::string type = "none";  // none | linear | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string architecture;  // LlamaForCausalLM | Qwen2ForCausalLM | Qwen3ForCausalLM
  std::string model_type;    // llama | qwen2 | qwen3
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;  // bias on q/k/v (Qwen2: always; Llama/Qwen3: attention_bias key)
  bool o_proj_bias = false;     // Llama's attention_bias also puts a bias on o_proj
  bool mlp_bias = false;
  bool qk_norm = false;         // Qwen3: RMSNorm over head_dim on q and k
  bool tie_word_embeddings = false;
  torch::Dtype dtype = torch::kFloat32;
  std::vector<int64_t> eos_token_ids;
  int64_t bos_token_id = -1;
  int64_t pad_token_id = -1;
  nlohmann::json raw;  // the config.json as read, kept so that saving preserves unknown keys

  // Validates and fills defaults; `source` names the file in errors.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source = "config.json");
  static ModelConfig load(const std::string& path);
  static ModelConfig from_json_checked(const nlohmann::json& j, const std::string& source);
  // The config.json Hugging Face transformers expects for this architecture.
  nlohmann::json to_json() const;

  // Built-in configurations: "tiny" (a few million parameters) and "small" (~25M, Llama).
  static ModelConfig preset(const std::string& name, const std::string& architecture = "LlamaForCausalLM");
  static std::vector<std::string> preset_names();

  int64_t num_parameters() const;
  int64_t q_size() const { return num_attention_heads * head_dim; }
  int64_t kv_size() const { return num_key_value_heads * head_dim; }
  // Matmul FLOPs of one token's forward pass (2 per multiply-add), excluding attention scores.
  double flops_per_token() const;
};

torch::Dtype parse_dtype(const std::string& name, const std::string& where);
std::string dtype_name(torch::Dtype dtype);  // "float32", "bfloat16", "float16"

}  // namespace arlt::model
