// Policy and value losses of the PPO family, and the aggregation of a [B,T] loss matrix into a
// scalar, selected by name (verl's trainer/ppo/core_algos.py conventions).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace arlt::algo {

// How a [B,T] loss matrix becomes a scalar: the mode (aggregation_modes(), formulas in
// docs/algo.md) and its normalisers. Under gradient accumulation the trainer passes the whole
// mini-batch's token and sequence counts, so that accumulating micro-batches changes nothing.
struct Aggregation {
  std::string mode = "token-mean";
  double norm_tokens = 0;  // token-mean divides by this many tokens (0 = mask.sum())
  double norm_seqs = 0;    // seq-mean-* modes divide by this many sequences (0 = rows of this call)
  double max_len = 0;      // constant of seq-mean-token-sum-norm (0 = T)
};

struct PolicyLossOptions {
  double clip_low = 0.2, clip_high = 0.2;  // ratio clipped to [1-clip_low, 1+clip_high] (DAPO clip-higher uses 0.28)
  double dual_clip = 3.0;                  // c of dual-clip for negative advantages; 0 = off (must be > 1 otherwise error)
  double log_ratio_clamp = 20.0;           // log-ratio clamped to [-x, x] before exp
  Aggregation aggregation;
};

struct PolicyLossOutput {
  torch::Tensor loss;             // scalar, differentiable with respect to logp only
  double clip_fraction = 0;       // masked mean of [pg2 > pg1]: tokens whose ratio the clip held
  double dual_clip_fraction = 0;  // masked mean of [A < 0 and clip1 > -A*c]
  double approx_kl = 0;           // masked mean of old_logp - logp (k1 estimate of KL(old || new))
};

// name: "ppo" (token-level ratio, clipped, dual-clip) or "gspo" (sequence-level ratio: s_i = masked
// mean of (logp-old_logp) over the row; token ratio = exp(s_i.detach() + logp - logp.detach()), then
// the same clipped objective). logp, old_logp, advantages and mask are [B,T]; old_logp, advantages
// and mask are treated as constants (detached).
PolicyLossOutput policy_loss(const std::string& name, const torch::Tensor& logp, const torch::Tensor& old_logp,
                             const torch::Tensor& advantages, const torch::Tensor& mask, const PolicyLossOptions& opt);
std::vector<std::string> policy_losses();

// A policy loss is its importance ratio r [B,T] from (logp, old_logp, mask, log_ratio_clamp),
// fed to the clipped objective above. Adds (or replaces) one, from any file; thread-safe.
using PolicyRatioFn = std::function<torch::Tensor(const torch::Tensor& logp, const torch::Tensor& old_logp,
                                                  const torch::Tensor& mask, double log_ratio_clamp)>;
void register_policy_loss(const std::string& name, PolicyRatioFn ratio);

// loss_mat [B,T] -> scalar; modes: "token-mean", "seq-mean-token-sum", "seq-mean-token-mean",
// "seq-mean-token-sum-norm" (see docs/algo.md for the formulas).
torch::Tensor aggregate_loss(const torch::Tensor& loss_mat, const torch::Tensor& mask, const Aggregation& aggregation);
std::vector<std::string> aggregation_modes();

struct ValueLossOutput {
  torch::Tensor loss;
  double clip_fraction = 0;  // masked mean of [clipped loss > unclipped loss]
};

// PPO value loss: 0.5 * max((v-R)^2, (clip(v, old_v ± clip_range)-R)^2), aggregated (max_len is
// not used: the value loss has no length-normalised mode). clip_range >= 0 (infinity = no
// clipping); gradient flows to values only.
ValueLossOutput value_loss(const torch::Tensor& values, const torch::Tensor& old_values, const torch::Tensor& returns,
                           const torch::Tensor& mask, double clip_range, const Aggregation& aggregation = {});

}  // namespace arlt::algo
