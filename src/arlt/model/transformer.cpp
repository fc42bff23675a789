#include "arlt/model/transformer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "arlt/base/error.h"
#include "arlt/model/cpu_kernels.h"

namespace arlt::model {
namespace F = torch::nn::functional;

namespace {

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// Masked positions get a large finite negative instead of -inf, so that a row with nothing to
// attend to (a left-pad query) gives a uniform, finite softmax instead of NaN.
constexpr float kMaskValue = -1e9f;

}  // namespace

// ---- RMSNorm ------------------------------------------------------------------------------

RMSNormImpl::RMSNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  // Normalise in fp32 whatever the storage dtype, as Hugging Face does.
  if (x.scalar_type() == torch::kFloat32) {
    return rms_norm_fp32(x, weight, eps);
  }
  torch::Tensor xf = x.to(torch::kFloat32);
  xf = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps);
  return weight * xf.to(x.scalar_type());
}

// ---- attention ----------------------------------------------------------------------------

AttentionImpl::AttentionImpl(const ModelConfig& c)
    : n_heads_(c.num_attention_heads), n_kv_(c.num_key_value_heads), head_dim_(c.head_dim) {
  q_proj = register_module("q_proj", linear(c.hidden_size, c.q_size(), c.attention_bias));
  k_proj = register_module("k_proj", linear(c.hidden_size, c.kv_size(), c.attention_bias));
  v_proj = register_module("v_proj", linear(c.hidden_size, c.kv_size(), c.attention_bias));
  o_proj = register_module("o_proj", linear(c.q_size(), c.hidden_size, c.o_proj_bias));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RMSNorm(c.head_dim, c.rms_norm_eps));
    k_norm = register_module("k_norm", RMSNorm(c.head_dim, c.rms_norm_eps));
  }
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& mask, KVCacheBase* cache, int64_t layer) {
  const int64_t B = x.size(0), T = x.size(1), D = head_dim_;
  std::vector<torch::Tensor> qkv = project_many(x, {&q_proj, &k_proj, &v_proj});
  torch::Tensor q = qkv[0].view({B, T, n_heads_, D});
  torch::Tensor k = qkv[1].view({B, T, n_kv_, D});
  torch::Tensor v = qkv[2].view({B, T, n_kv_, D}).transpose(1, 2);
  if (!q_norm.is_empty()) {
    q = q_norm(q);
    k = k_norm(k);
  }
  q = rope_heads_first(q, cos, sin);  // [B,H,T,D]
  k = rope_heads_first(k, cos, sin);  // [B,KV,T,D]
  if (cache && cache->computes_attention()) return project(o_proj, cache->attend(layer, q, k, v));
  if (cache) std::tie(k, v) = cache->append(layer, k, v);
  return project(o_proj, gqa_attention(q, k, v, mask).transpose(1, 2).reshape({B, T, n_heads_ * D}));
}

torch::Tensor gqa_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& add_mask) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3), KV = k.size(1), G = H / KV, S = k.size(2);
  // The G query heads that share a KV head are stacked along the time axis ([B,KV,G*T,D]);
  // head h uses KV head h / G.
  torch::Tensor qs = (q * (1.0 / std::sqrt(static_cast<double>(D)))).contiguous().view({B, KV, G * T, D});
  torch::Tensor scores = torch::matmul(qs, k.transpose(-1, -2));  // [B,KV,G*T,S]
  const bool upcast = scores.scalar_type() != torch::kFloat32;
  if (upcast) scores = scores.to(torch::kFloat32);
  if (add_mask.defined()) scores = (scores.view({B, KV, G, T, S}) + add_mask).view({B, KV, G * T, S});
  torch::Tensor probs = torch::softmax(scores, -1);
  if (upcast) probs = probs.to(v.scalar_type());
  return torch::matmul(probs, v).view({B, H, T, D});
}

torch::Tensor additive_mask(const torch::Tensor& allowed) {
  return torch::zeros(allowed.sizes(), torch::TensorOptions().dtype(torch::kFloat32).device(allowed.device()))
      .masked_fill_(allowed.logical_not(), kMaskValue);
}

// ---- MLP, layer, backbone -----------------------------------------------------------------

MLPImpl::MLPImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  up_proj = register_module("up_proj", linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  down_proj = register_module("down_proj", linear(c.intermediate_size, c.hidden_size, c.mlp_bias));
}

torch::Tensor MLPImpl::forward(const torch::Tensor& x) {
  return gated_mlp(x, gate_proj, up_proj, down_proj);
}

DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", MLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor DecoderLayerImpl::forward(torch::Tensor h, const torch::Tensor& cos, const torch::Tensor& sin,
                                        const torch::Tensor& mask, KVCacheBase* cache, int64_t layer) {
  h = h + self_attn(input_layernorm(h), cos, sin, mask, cache, layer);
  return h + mlp(post_attention_layernorm(h));
}

BackboneImpl::BackboneImpl(const ModelConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

ScalarHeadImpl::ScalarHeadImpl(int64_t hidden) {
  dense = register_module("dense", linear(hidden, hidden, true));
  out = register_module("out", linear(hidden, 1, true));
}

torch::Tensor ScalarHeadImpl::forward(const torch::Tensor& hidden) {
  return out(F::silu(dense(hidden))).squeeze(-1);
}

// ---- RoPE and masks -----------------------------------------------------------------------

torch::Tensor rope_inv_freq(const ModelConfig& c) {
  const int64_t half = c.head_dim / 2;
  std::vector<float> inv(half);
  for (int64_t i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / static_cast<double>(c.head_dim));
    const auto& rs = c.rope_scaling;
    if (rs.type == "linear") {
      f /= rs.factor;
    } else if (rs.type == "llama3") {
      // Llama 3.1: keep high frequencies, divide low ones by factor, blend in between.
      const double orig = static_cast<double>(rs.original_max_position_embeddings);
      const double wavelen = 2.0 * M_PI / f;
      const double low_wavelen = orig / rs.low_freq_factor;
      const double high_wavelen = orig / rs.high_freq_factor;
      if (wavelen > low_wavelen) {
        f /= rs.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (orig / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1.0 - smooth) * f / rs.factor + smooth * f;
      }
    }
    inv[i] = static_cast<float>(f);
  }
  return torch::tensor(inv, torch::kFloat32);
}

torch::Tensor positions_from_mask(const torch::Tensor& attention_mask, int64_t past, int64_t t) {
  torch::Tensor pos = attention_mask.to(torch::kInt64).cumsum(-1) - 1;
  return pos.clamp_min(0).narrow(1, past, t);
}

// ---- the model ----------------------------------------------------------------------------

Transformer::Transformer(const ModelConfig& config, bool with_scalar_head) : config_(config) {
  model = register_module("model", Backbone(config));
  if (!config.tie_word_embeddings) lm_head = register_module("lm_head", linear(config.hidden_size, config.vocab_size, false));
  if (with_scalar_head) score_head = register_module("score_head", ScalarHead(config.hidden_size));
  to(config.dtype);
  place_parameters_on_huge_pages(*this);
  inv_freq_ = rope_inv_freq(config);  // not a parameter: derived from the config, kept in fp32
}

torch::Dtype Transformer::dtype() const { return model->embed_tokens->weight.scalar_type(); }
torch::Device Transformer::device() const { return model->embed_tokens->weight.device(); }

torch::Tensor Transformer::forward_hidden(const ForwardArgs& a) {
  if (!a.input_ids.defined() || a.input_ids.dim() != 2) throw Error("Transformer::forward: input_ids must be [batch, time]");
  const int64_t B = a.input_ids.size(0), T = a.input_ids.size(1);
  const int64_t past = a.cache ? a.cache->length() : 0;
  const int64_t S = past + T;
  if (a.cache && a.cache->batch() != B)
    throw Error("Transformer::forward: batch " + std::to_string(B) + " != KV cache batch " + std::to_string(a.cache->batch()));
  const auto dev = device();
  if (dtype() == torch::kFloat16 && dev.is_cpu())
    throw Error("float16 compute is not available on CPU in this libtorch: load the model with dtype float32 or "
                "bfloat16 on CPU (float16 weights load and save fine), or run on a GPU");
  torch::Tensor ids = a.input_ids.to(dev, torch::kInt64);
  if (ids.numel() > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    if (lo < 0 || hi >= config_.vocab_size)
      throw Error("token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary [0, " +
                  std::to_string(config_.vocab_size) + ")");
  }
  torch::Tensor mask = a.attention_mask;
  if (mask.defined()) {
    if (mask.dim() != 2 || mask.size(0) != B || mask.size(1) != S)
      throw Error("Transformer::forward: attention_mask must be [" + std::to_string(B) + ", " + std::to_string(S) +
                  "] (past + new tokens)");
    mask = mask.to(dev);
  }
  torch::Tensor seg = a.segment_ids;
  if (seg.defined()) {
    if (a.cache || seg.dim() != 2 || seg.size(0) != B || seg.size(1) != T)
      throw Error("Transformer::forward: segment_ids must be [" + std::to_string(B) + ", " + std::to_string(T) +
                  "] and cannot be combined with a KV cache");
    seg = seg.to(dev, torch::kInt64);
  }
  torch::Tensor allowed_in = a.attention_allowed;
  if (allowed_in.defined()) {
    if (a.cache || seg.defined() || mask.defined() || !a.position_ids.defined() || allowed_in.dim() != 3 ||
        allowed_in.size(0) != B || allowed_in.size(1) != T || allowed_in.size(2) != T)
      throw Error("Transformer::forward: attention_allowed must be [" + std::to_string(B) + ", " + std::to_string(T) + ", " +
                  std::to_string(T) + "], with position_ids and without a cache, segments or attention_mask");
    allowed_in = allowed_in.to(dev, torch::kBool);
  }
  torch::Tensor pos = a.position_ids;
  if (!pos.defined() && seg.defined()) {
    // position = index - index of the segment's first token
    auto idx = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(dev)).expand({B, T});
    torch::Tensor start = torch::ones({B, T}, torch::TensorOptions().dtype(torch::kBool).device(dev));
    if (T > 1) start.narrow(1, 1, T - 1).copy_(seg.narrow(1, 1, T - 1) != seg.narrow(1, 0, T - 1));
    pos = idx - std::get<0>(torch::cummax(torch::where(start, idx, torch::zeros_like(idx)), 1));
  } else if (!pos.defined()) {
    pos = mask.defined() ? positions_from_mask(mask, past, T)
                         : torch::arange(past, S, torch::TensorOptions().dtype(torch::kInt64).device(dev)).expand({B, T});
  }
  pos = pos.to(dev);

  // cos/sin computed in fp32 from the positions, shared by every layer.
  torch::Tensor freqs = pos.to(torch::kFloat32).unsqueeze(-1) * inv_freq_.to(dev);  // [B,T,D/2]
  torch::Tensor emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);                  // [B,1,T,D]
  const auto dt = dtype();
  torch::Tensor cos = emb.cos().to(dt), sin = emb.sin().to(dt);

  // Additive mask [B,1,1,T,S] (fp32): causal, plus padding when a mask is given. A single new
  // token with no padding needs none.
  torch::Tensor add_mask;
  if (allowed_in.defined()) {
    add_mask = additive_mask(allowed_in).unsqueeze(1).unsqueeze(1);
  } else if ((mask.defined() || seg.defined() || T > 1) && !(a.cache && a.cache->computes_attention())) {
    auto iopts = torch::TensorOptions().dtype(torch::kInt64).device(dev);
    torch::Tensor allowed = torch::arange(S, iopts).unsqueeze(0) <= torch::arange(past, S, iopts).unsqueeze(1);  // [T,S]
    allowed = allowed.unsqueeze(0);                                                                          // [1,T,S]
    if (mask.defined()) allowed = allowed & mask.to(torch::kBool).unsqueeze(1);                              // [B,T,S]
    if (seg.defined()) allowed = allowed & (seg.unsqueeze(2) == seg.unsqueeze(1));                          // [B,T,T]
    add_mask = additive_mask(allowed).unsqueeze(1).unsqueeze(1);
  }

  torch::Tensor h = model->embed_tokens(ids);
  for (size_t i = 0; i < model->layers->size(); ++i) {
    h = model->layers[i]->as<DecoderLayerImpl>()->forward(h, cos, sin, add_mask, a.cache, static_cast<int64_t>(i));
  }
  if (a.cache) a.cache->advance(T);
  return model->norm(h);
}

torch::Tensor Transformer::lm_logits(const torch::Tensor& hidden) {
  return lm_head.is_empty() ? project(hidden, model->embed_tokens->weight) : project(lm_head, hidden);
}

torch::Tensor Transformer::forward(const ForwardArgs& args) { return lm_logits(forward_hidden(args)); }

torch::Tensor Transformer::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  ForwardArgs a;
  a.input_ids = input_ids;
  a.attention_mask = attention_mask;
  return forward(a);
}

torch::Tensor Transformer::score_all(const torch::Tensor& hidden) {
  if (score_head.is_empty()) throw Error("this model has no scalar head");
  return score_head(hidden);
}

torch::Tensor Transformer::score_last(const torch::Tensor& hidden, const torch::Tensor& attention_mask) {
  if (score_head.is_empty()) throw Error("this model has no scalar head");
  const int64_t B = hidden.size(0), T = hidden.size(1);
  torch::Tensor idx;
  if (attention_mask.defined()) {
    // Index of the last real token of each row (works for left and right padding).
    torch::Tensor m = attention_mask.narrow(1, attention_mask.size(1) - T, T).to(hidden.device(), torch::kInt64);
    idx = (m * torch::arange(1, T + 1, m.options())).argmax(-1);
  } else {
    idx = torch::full({B}, T - 1, torch::TensorOptions().dtype(torch::kInt64).device(hidden.device()));
  }
  torch::Tensor last = hidden.gather(1, idx.view({B, 1, 1}).expand({B, 1, hidden.size(2)})).squeeze(1);
  return score_head(last);
}

void Transformer::init_random(uint64_t seed, double std) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  for (auto& p : named_parameters(true)) {
    const std::string& name = p.key();
    torch::Tensor& t = p.value();
    torch::Tensor v;
    const bool is_norm = name.find("norm.weight") != std::string::npos;
    const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (is_norm) v = torch::ones(t.sizes());
    else if (is_bias) v = torch::zeros(t.sizes());
    else v = at::normal(0.0, std, t.sizes(), gen);
    t.copy_(v);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> Transformer::hf_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : named_parameters(true)) out.emplace_back(p.key(), p.value());
  return out;
}

}  // namespace arlt::model
