#include "arlt/model/config.h"

#include <tuple>

#include "arlt/base/error.h"
#include "arlt/base/fs.h"

namespace arlt::model {
using nlohmann::json;

torch::Dtype parse_dtype(const std::string& name, const std::string& where) {
  if (name == "float32" || name == "fp32" || name == "f32") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "f16" || name == "half") return torch::kFloat16;
  throw Error(where + ": dtype '" + name + "' is not supported (expected float32, bfloat16 or float16)");
}

std::string dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: throw Error(std::string("model dtype ") + c10::toString(dtype) + " is not supported");
  }
}

namespace {

const char* kArchitectures[] = {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"};

int64_t get_int(const json& j, const std::string& key, const std::string& src, bool required, int64_t def) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw Error(src + ": missing required key '" + key + "'");
    return def;
  }
  if (!j[key].is_number_integer())
    throw Error(src + ": key '" + key + "' must be an integer, found " + j[key].dump());
  return j[key].get<int64_t>();
}

double get_num(const json& j, const std::string& key, const std::string& src, double def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_number()) throw Error(src + ": key '" + key + "' must be a number, found " + j[key].dump());
  return j[key].get<double>();
}

bool get_bool(const json& j, const std::string& key, const std::string& src, bool def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (!j[key].is_boolean()) throw Error(src + ": key '" + key + "' must be true or false, found " + j[key].dump());
  return j[key].get<bool>();
}

}  // namespace

ModelConfig ModelConfig::from_json(const json& j, const std::string& src) {
  try {
    return from_json_checked(j, src);
  } catch (const json::exception& e) {
    throw Error(src + ": a field has the wrong type: " + e.what());
  }
}

ModelConfig ModelConfig::from_json_checked(const json& j_in, const std::string& src) {
  if (!j_in.is_object()) throw Error(src + ": config must be a JSON object");
  // transformers v5 moves rope_theta and the scaling into "rope_parameters": read them from there.
  json j = j_in;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    const json& rp = j["rope_parameters"];
    if (rp.contains("rope_theta") && !j.contains("rope_theta")) j["rope_theta"] = rp["rope_theta"];
    const std::string type = rp.value("rope_type", "default");
    if (type != "default" && !j.contains("rope_scaling")) j["rope_scaling"] = rp;
  }
  ModelConfig c;
  c.raw = j_in;
  if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty() ||
      !j["architectures"][0].is_string())
    throw Error(src + ": missing key 'architectures' (a list such as [\"LlamaForCausalLM\"])");
  c.architecture = j["architectures"][0].get<std::string>();
  bool known = false;
  for (const char* a : kArchitectures) known = known || c.architecture == a;
  if (!known) {
    throw Error(src + ": architecture '" + c.architecture +
                "' is not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM)");
  }
  c.model_type = c.architecture == "LlamaForCausalLM" ? "llama" : c.architecture == "Qwen2ForCausalLM" ? "qwen2" : "qwen3";

  c.vocab_size = get_int(j, "vocab_size", src, true, 0);
  c.hidden_size = get_int(j, "hidden_size", src, true, 0);
  c.intermediate_size = get_int(j, "intermediate_size", src, true, 0);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", src, true, 0);
  c.num_attention_heads = get_int(j, "num_attention_heads", src, true, 0);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", src, false, c.num_attention_heads);
  if (c.num_attention_heads > 0) c.head_dim = get_int(j, "head_dim", src, false, c.hidden_size / c.num_attention_heads);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", src, false, 2048);
  c.rms_norm_eps = get_num(j, "rms_norm_eps", src, 1e-6);
  c.rope_theta = get_num(j, "rope_theta", src, 10000.0);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", src, false);
  if (c.model_type == "qwen2") {
    c.attention_bias = true;
  } else {
    c.attention_bias = get_bool(j, "attention_bias", src, false);
    c.o_proj_bias = c.attention_bias;
  }
  if (c.model_type == "llama") c.mlp_bias = get_bool(j, "mlp_bias", src, false);
  c.qk_norm = c.model_type == "qwen3";
  if (c.model_type == "qwen2" && get_bool(j, "use_sliding_window", src, false))
    throw Error(src + ": use_sliding_window=true is not supported");

  for (const auto& [name, v] : std::vector<std::pair<std::string, int64_t>>{
           {"vocab_size", c.vocab_size}, {"hidden_size", c.hidden_size},
           {"intermediate_size", c.intermediate_size}, {"num_hidden_layers", c.num_hidden_layers},
           {"num_attention_heads", c.num_attention_heads}, {"num_key_value_heads", c.num_key_value_heads},
           {"head_dim", c.head_dim}, {"max_position_embeddings", c.max_position_embeddings}}) {
    if (v <= 0) throw Error(src + ": key '" + name + "' must be positive, found " + std::to_string(v));
  }
  // Caps far above any real model: a hostile config must not allocate terabytes before failing.
  for (const auto& [name, v, cap] : std::vector<std::tuple<std::string, int64_t, int64_t>>{
           {"vocab_size", c.vocab_size, 1 << 22}, {"hidden_size", c.hidden_size, 1 << 16},
           {"intermediate_size", c.intermediate_size, 1 << 20}, {"num_hidden_layers", c.num_hidden_layers, 1024},
           {"num_attention_heads", c.num_attention_heads, 1024}, {"head_dim", c.head_dim, 4096},
           {"max_position_embeddings", c.max_position_embeddings, 1 << 24}}) {
    if (v > cap) throw Error(src + ": key '" + name + "' = " + std::to_string(v) + " is larger than arlt supports (" +
                             std::to_string(cap) + ")");
  }
  if (j.contains("hidden_act") && j["hidden_act"].is_string()) {
    const std::string act = j["hidden_act"].get<std::string>();
    if (act != "silu" && act != "swish")
      throw Error(src + ": hidden_act '" + act + "' is not supported (these architectures use silu)");
  }
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    throw Error(src + ": num_attention_heads (" + std::to_string(c.num_attention_heads) +
                ") must be a multiple of num_key_value_heads (" + std::to_string(c.num_key_value_heads) + ")");
  if (c.head_dim % 2 != 0) throw Error(src + ": head_dim must be even for RoPE, found " + std::to_string(c.head_dim));
  if (!(c.rms_norm_eps > 0)) throw Error(src + ": rms_norm_eps must be positive");
  if (!(c.rope_theta > 0)) throw Error(src + ": rope_theta must be positive");

  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
    const json& rs = j["rope_scaling"];
    if (!rs.is_object()) throw Error(src + ": rope_scaling must be an object or null");
    std::string type = rs.contains("rope_type") ? rs["rope_type"].get<std::string>()
                       : rs.contains("type")    ? rs["type"].get<std::string>()
                                                : "";
    const std::string rsrc = src + " rope_scaling";
    if (type == "default") {
      c.rope_scaling.type = "none";
    } else if (type == "linear" || type == "llama3") {
      c.rope_scaling.type = type;
      c.rope_scaling.factor = get_num(rs, "factor", rsrc, 1.0);
      if (!(c.rope_scaling.factor > 0)) throw Error(rsrc + ": factor must be positive");
      if (type == "llama3") {
        c.rope_scaling.low_freq_factor = get_num(rs, "low_freq_factor", rsrc, 1.0);
        c.rope_scaling.high_freq_factor = get_num(rs, "high_freq_factor", rsrc, 4.0);
        c.rope_scaling.original_max_position_embeddings =
            get_int(rs, "original_max_position_embeddings", rsrc, false, 8192);
        if (!(c.rope_scaling.high_freq_factor > c.rope_scaling.low_freq_factor))
          throw Error(rsrc + ": high_freq_factor must be greater than low_freq_factor");
      }
    } else {
      throw Error(src + ": rope_scaling type '" + type + "' is not supported (supported: linear, llama3)");
    }
  }

  std::string dt = "float32";
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (j.contains(key) && j[key].is_string()) dt = j[key].get<std::string>();
  }
  c.dtype = parse_dtype(dt, src + " torch_dtype");

  if (j.contains("eos_token_id")) {
    const json& e = j["eos_token_id"];
    if (e.is_number_integer()) c.eos_token_ids.push_back(e.get<int64_t>());
    else if (e.is_array())
      for (const auto& x : e)
        if (x.is_number_integer()) c.eos_token_ids.push_back(x.get<int64_t>());
  }
  c.bos_token_id = get_int(j, "bos_token_id", src, false, -1);
  c.pad_token_id = get_int(j, "pad_token_id", src, false, -1);
  return c;
}

ModelConfig ModelConfig::load(const std::string& path) { return from_json(read_json_file(path), path); }

json ModelConfig::to_json() const {
  json j = raw.is_object() ? raw : json::object();
  j["architectures"] = {architecture};
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["torch_dtype"] = dtype_name(dtype);
  if (model_type != "qwen2") j["attention_bias"] = attention_bias;
  if (model_type == "llama") j["mlp_bias"] = mlp_bias;
  if (model_type == "qwen2") j["use_sliding_window"] = false;
  if (rope_scaling.type == "none") {
    j["rope_scaling"] = nullptr;
  } else {
    json rs = {{"rope_type", rope_scaling.type}, {"factor", rope_scaling.factor}};
    if (rope_scaling.type == "llama3") {
      rs["low_freq_factor"] = rope_scaling.low_freq_factor;
      rs["high_freq_factor"] = rope_scaling.high_freq_factor;
      rs["original_max_position_embeddings"] = rope_scaling.original_max_position_embeddings;
    }
    j["rope_scaling"] = rs;
  }
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  else if (!eos_token_ids.empty()) j["eos_token_id"] = eos_token_ids;
  if (pad_token_id >= 0) j["pad_token_id"] = pad_token_id;
  j.erase("dtype");
  j.erase("rope_parameters");  // written back as rope_theta / rope_scaling, which v4 and v5 both read
  return j;
}

std::vector<std::string> ModelConfig::preset_names() { return {"tiny", "small"}; }

ModelConfig ModelConfig::preset(const std::string& name, const std::string& architecture) {
  json j = {{"architectures", {architecture}}, {"torch_dtype", "float32"}, {"rms_norm_eps", 1e-6},
            {"bos_token_id", 1}, {"eos_token_id", 2}};
  if (name == "tiny") {
    // A few million parameters: fast enough for demos and tests on 2 cores.
    j.update({{"vocab_size", 512}, {"hidden_size", 256}, {"intermediate_size", 704},
              {"num_hidden_layers", 4}, {"num_attention_heads", 8}, {"num_key_value_heads", 4},
              {"max_position_embeddings", 1024}, {"rope_theta", 10000.0}, {"tie_word_embeddings", true}});
  } else if (name == "small") {
    // The Llama of the llama.cpp reference numbers in DESIGN.md: 25.7M parameters in the layers,
    // 42.1M with the (tied) 32000-token embedding.
    j.update({{"vocab_size", 32000}, {"hidden_size", 512}, {"intermediate_size", 1408},
              {"num_hidden_layers", 8}, {"num_attention_heads", 8}, {"num_key_value_heads", 8},
              {"max_position_embeddings", 2048}, {"rope_theta", 10000.0}, {"tie_word_embeddings", true}});
  } else {
    throw Error("unknown model preset '" + name + "' (expected tiny or small)");
  }
  return from_json(j, "preset " + name);
}

int64_t ModelConfig::num_parameters() const {
  const int64_t h = hidden_size;
  int64_t attn = h * q_size() + 2 * h * kv_size() + q_size() * h;
  if (attention_bias) attn += q_size() + 2 * kv_size();
  if (o_proj_bias) attn += h;
  if (qk_norm) attn += 2 * head_dim;
  int64_t mlp = 3 * h * intermediate_size;
  if (mlp_bias) mlp += 2 * intermediate_size + h;
  const int64_t layer = attn + mlp + 2 * h;
  int64_t total = vocab_size * h + num_hidden_layers * layer + h;
  if (!tie_word_embeddings) total += vocab_size * h;
  return total;
}

double ModelConfig::flops_per_token() const {
  const double h = static_cast<double>(hidden_size);
  const double layer = h * q_size() + 2 * h * kv_size() + q_size() * h + 3 * h * intermediate_size;
  return 2.0 * (num_hidden_layers * layer + h * vocab_size);
}

}  // namespace arlt::model
