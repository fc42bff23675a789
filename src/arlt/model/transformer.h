// Transformer: a decoder-only language model (Llama / Qwen2 / Qwen3 families) whose
// parameter names are Hugging Face's, so that named_parameters() is the safetensors layout.
//
//   h = embed(ids)
//   per layer: h += o_proj(attn(rope(q_norm?(q_proj(rms(h)))), rope(k_norm?(k_proj(rms(h)))), v_proj(rms(h))))
//              h += down(silu(gate(rms(h))) * up(rms(h)))
//   logits = lm_head(rms(h))        (lm_head = embed_tokens when tied)
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>

#include "arlt/model/config.h"
#include "arlt/model/kv_cache.h"

namespace arlt::model {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const ModelConfig& c);
  // x [B,T,H]; cos/sin [B,1,T,D]; mask additive [B,1,1,T,S] (fp32) or undefined for causal-only
  // without padding.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KVCacheBase* cache, int64_t layer);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};

 private:
  int64_t n_heads_, n_kv_, head_dim_;
};
TORCH_MODULE(Attention);

class MLPImpl : public torch::nn::Module {
 public:
  explicit MLPImpl(const ModelConfig& c);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(MLP);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const ModelConfig& c);
  torch::Tensor forward(torch::Tensor h, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask, KVCacheBase* cache, int64_t layer);
  Attention self_attn{nullptr};
  MLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

// The backbone, registered as "model" so parameter names read "model.layers.0....".
class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(const ModelConfig& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};
};
TORCH_MODULE(Backbone);

// Scalar head for reward and value models: last-token hidden state -> Linear -> SiLU -> Linear -> scalar.
// Parameter names: score_head.dense.{weight,bias}, score_head.out.{weight,bias}.
class ScalarHeadImpl : public torch::nn::Module {
 public:
  explicit ScalarHeadImpl(int64_t hidden);
  // hidden [B,T,H] -> [B,T] (a score per position).
  torch::Tensor forward(const torch::Tensor& hidden);
  torch::nn::Linear dense{nullptr}, out{nullptr};
};
TORCH_MODULE(ScalarHead);

struct ForwardArgs {
  torch::Tensor input_ids;       // [B,T] int64
  torch::Tensor attention_mask;  // [B, past+T], 1 = real token, 0 = padding; undefined = all real
  torch::Tensor position_ids;    // [B,T]; undefined = derived from the mask (cumsum - 1)
  KVCacheBase* cache = nullptr;      // incremental forward when set
  // Packed rows [B,T] (no cache): a token attends only to earlier tokens of its own segment
  // (same id) and, unless position_ids are given, positions restart at 0 in each segment.
  torch::Tensor segment_ids;
  // An explicit attention pattern [B,T,T] (bool, no cache): query t may attend key s. Used to
  // run several responses after one shared prompt in a row; give position_ids with it.
  torch::Tensor attention_allowed;
};

class Transformer : public torch::nn::Module {
 public:
  explicit Transformer(const ModelConfig& config, bool with_scalar_head = false);

  const ModelConfig& config() const { return config_; }
  // Final hidden states (after the last norm) [B,T,H].
  torch::Tensor forward_hidden(const ForwardArgs& args);
  // Logits [B,T,V].
  torch::Tensor forward(const ForwardArgs& args);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {});
  torch::Tensor lm_logits(const torch::Tensor& hidden);
  bool has_scalar_head() const { return !score_head.is_empty(); }
  // Scalar of the last real token of each row [B] (reward / value models).
  torch::Tensor score_last(const torch::Tensor& hidden, const torch::Tensor& attention_mask = {});
  // Scalar per position [B,T] (value models for PPO).
  torch::Tensor score_all(const torch::Tensor& hidden);

  // Normal(0, std) weights, unit norms, zero biases, from a fixed seed.
  void init_random(uint64_t seed, double std = 0.02);
  // The tensors to save under Hugging Face names (no lm_head when tied).
  std::vector<std::pair<std::string, torch::Tensor>> hf_state() const;
  torch::Dtype dtype() const;
  torch::Device device() const;

  Backbone model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tied
  ScalarHead score_head{nullptr};

 private:
  ModelConfig config_;
  torch::Tensor inv_freq_;  // [D/2] fp32
};

// Grouped-query attention without repeating K/V: q [B,H,T,D] (RoPE applied, not scaled), k/v
// [B,KV,S,D], add_mask fp32 broadcastable to [B,KV,G,T,S] (G = H/KV) or undefined. Softmax in
// fp32 whatever the storage dtype. -> [B,H,T,D].
torch::Tensor gqa_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& add_mask);
// Additive fp32 mask from a bool one: 0 where allowed, a large finite negative elsewhere (a row
// with nothing to attend to gets a uniform, finite softmax instead of NaN).
torch::Tensor additive_mask(const torch::Tensor& allowed);
// Attention-mask helpers: position ids from a padding mask (cumsum - 1, clamped at 0).
torch::Tensor positions_from_mask(const torch::Tensor& attention_mask, int64_t past, int64_t t);
// RoPE inverse frequencies with the config's scaling (linear, llama3) applied.
torch::Tensor rope_inv_freq(const ModelConfig& c);

}  // namespace arlt::model
